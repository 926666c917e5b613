"""How fast is the engine? Dense epochs against scikit-learn and PyTorch, sparse steps against dense ones.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py --json results/bench_engine.json

(those two variables slow NumPy's OpenBLAS on some machines; the tests and CI
leave them alone, and the values in force are recorded in the JSON). On a machine
that other processes load, add ``--threads 1``: BLAS and Numba threads that must
share their cores with other work make every engine several times slower and
the numbers erratic.

1. **Dense epoch.** LeNet-300-100 (784-300-100-10) trains on MNIST, batch 60,
   Adam at lr 1.2e-3, float32, in three engines measured side by side:

   * ``lottery_np``: a raw loop of the training loop's own step
     (``lottery_np.step.training_step``: ``MLP.loss_and_gradients`` then
     ``Adam.step`` for a dense network) over a fresh shuffle (no evaluation, as
     in the other engines), and for reference ``lottery_np.training.train``
     evaluating only at its start and end;
   * scikit-learn ``MLPClassifier(...).fit`` with ``max_iter=1`` (one epoch, no
     L2, no early stopping) on the same float32 arrays;
   * PyTorch CPU, when importable: ``nn.Sequential`` Linear-ReLU-Linear-ReLU-Linear,
     ``torch.optim.Adam``, ``CrossEntropyLoss``.

   An epoch is the ``55,000 // 60 = 916`` full batches every engine sees.
   Repeats are interleaved (one epoch of each engine, then the next round), so
   load from other processes hits all engines alike, and the median is reported.
2. **Sparse vs dense step.** One full training step (forward, backward, Adam)
   of LeNet-300-100 at batch 60 and 1000 with random masks of a given density
   in every layer (``lottery_np.pruning.masks.random_masks``), made by
   ``training_step(model, optimizer, path)`` with ``path="dense"`` (one BLAS
   call per layer product, then Adam at the surviving weights) and
   ``path="sparse"`` (the packed step: all layers in one fused Numba call, the
   surviving weights kept packed); median seconds per step over the repeats,
   and, when ``bench_kernels`` is importable, the same ratio for the layer
   products alone.
3. **Whole rounds, inference, under load** (:mod:`engine_rounds`): ``train()`` under the paper's
   protocol at the paper's Pm, one evaluation of the validation and test sets, and a round quiet and
   with two processes spinning on the same cores, on one thread, on all and on ``auto``.
4. **Compaction** (:mod:`bench_compact`): every round's ticket of a 95 % search, compacted.
5. **Environment.** ``lottery_np.experiment.report.environment`` (Python,
   platform, CPU count, package versions, BLAS libraries and their threads,
   the threading variables set) plus PyTorch's version and threads, Numba's
   threads, both OpenBLAS variables (set or not) and the load average.

``--quick`` runs everything small on scikit-learn's 8x8 digits (a 64-300-100-10
network) in a few seconds; the tests use it.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import numba
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from lottery_np import threads as lottery_np_threads
from lottery_np.data import Dataset, load_digits, load_mnist
from lottery_np.experiment import report
from lottery_np.model import MLP
from lottery_np.optim import Adam
from lottery_np.pruning.masks import random_masks
from lottery_np.step import training_step
from lottery_np.training import TrainingConfig, train

import bench_compact  # benchmarks/bench_compact.py: what compacting each round's ticket buys
import engine_rounds  # benchmarks/engine_rounds.py: whole rounds, inference, under load

try:  # benchmarks/bench_kernels.py: the same comparison for the kernel products alone
    from bench_kernels import measure_step_ratio
except ImportError:  # imported from elsewhere than benchmarks/
    measure_step_ratio = None

LEARNING_RATE = 1.2e-3
DENSITIES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
WARM_UP_SECONDS = 0.3

Runner = Callable[[], float]  # trains a fixed number of batches, returns the seconds it took


# ------------------------------------------------------------------ engines
def lottery_np_runner(X: np.ndarray, y: np.ndarray, layer_sizes: Sequence[int], batch_size: int,
                      n_batches: int, seed: int = 0) -> Runner:
    """Raw training loop of this engine: the training loop's ``training_step`` per batch, nothing else."""
    model = MLP(layer_sizes, seed=seed)
    step = training_step(model, Adam(LEARNING_RATE))
    rng = np.random.default_rng(seed)

    def run() -> float:
        start = time.perf_counter()
        order = rng.permutation(len(X))
        for k in range(n_batches):
            batch = order[k * batch_size:(k + 1) * batch_size]
            step(X[batch], y[batch])
        return time.perf_counter() - start

    return run


def lottery_np_train_runner(data: Dataset, layer_sizes: Sequence[int], batch_size: int,
                            n_batches: int, seed: int = 0) -> Runner:
    """:func:`lottery_np.training.train`, evaluating (validation and test sets) only at its start and end."""
    model = MLP(layer_sizes, seed=seed)
    config = TrainingConfig(iterations=n_batches, batch_size=batch_size, learning_rate=LEARNING_RATE,
                            eval_every=n_batches)

    def run() -> float:
        start = time.perf_counter()
        train(model, data, config, seed=seed)
        return time.perf_counter() - start

    return run


def sklearn_classifier(layer_sizes: Sequence[int], batch_size: int, seed: int = 0) -> MLPClassifier:
    """scikit-learn's MLP set up to train exactly one epoch like ours: Adam, no L2, no early stopping."""
    return MLPClassifier(hidden_layer_sizes=tuple(layer_sizes[1:-1]), solver="adam",
                         learning_rate_init=LEARNING_RATE, batch_size=batch_size, max_iter=1, shuffle=True,
                         alpha=0.0, tol=0.0, n_iter_no_change=2**31 - 1, early_stopping=False, random_state=seed)


def sklearn_runner(X: np.ndarray, y: np.ndarray, layer_sizes: Sequence[int], batch_size: int,
                   n_batches: int, seed: int = 0) -> Runner:
    """A fresh :func:`sklearn_classifier` fitting one epoch on the first ``n_batches`` batches."""
    X, y = X[:n_batches * batch_size], y[:n_batches * batch_size]

    def run() -> float:
        classifier = sklearn_classifier(layer_sizes, batch_size, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 is the point
            start = time.perf_counter()
            classifier.fit(X, y)
            return time.perf_counter() - start

    return run


def sklearn_dtype(X: np.ndarray, y: np.ndarray, layer_sizes: Sequence[int], batch_size: int) -> str:
    """The dtype scikit-learn trains in when given ``X`` (float32 stays float32 since scikit-learn 1.1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier = sklearn_classifier(layer_sizes, batch_size).fit(X[:2 * batch_size], y[:2 * batch_size])
    return classifier.coefs_[0].dtype.name


def torch_runner(X: np.ndarray, y: np.ndarray, layer_sizes: Sequence[int], batch_size: int,
                 n_batches: int, seed: int = 0, threads: Optional[int] = None) -> Runner:
    """The same network, loss and optimizer in PyTorch on the CPU (float32, ``threads`` threads)."""
    import torch  # optional: only imported when it is installed and wanted

    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(np.array(X, dtype=np.float32)), torch.from_numpy(np.array(y, dtype=np.int64))

    def run() -> float:
        start = time.perf_counter()
        order = torch.randperm(len(X_t))
        for k in range(n_batches):
            batch = order[k * batch_size:(k + 1) * batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(X_t[batch]), y_t[batch]).backward()
            optimizer.step()
        return time.perf_counter() - start

    return run


def interleaved(runners: dict[str, Runner], repeats: int) -> dict[str, list[float]]:
    """Call every runner once per round, for ``repeats`` rounds, so background load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            samples[name].append(run())
    return samples


# ---------------------------------------------------------- sparse vs dense
def step_runner(model: MLP, X: np.ndarray, y: np.ndarray, batches: list[np.ndarray], path: str) -> Runner:
    """Mean seconds of one training step (forward, backward, Adam) over ``batches``, forced to ``path``.

    The step is the training loop's own (:func:`lottery_np.step.training_step`): with
    ``path="sparse"`` it keeps the surviving weights packed, with ``"dense"`` it is
    ``loss_and_gradients`` on BLAS then ``Adam.step`` at the surviving weights.
    """
    train_step = training_step(model, Adam(LEARNING_RATE), path)

    def step(batch: np.ndarray) -> None:
        train_step(X[batch], y[batch])

    def run() -> float:
        # Switching between BLAS's and Numba's thread pools stalls the first calls for about
        # 0.1 s; untimed steps for WARM_UP_SECONDS let the new pool settle before timing.
        settle = time.perf_counter() + WARM_UP_SECONDS
        while time.perf_counter() < settle:
            step(batches[0])
        start = time.perf_counter()
        for batch in batches:
            step(batch)
        return (time.perf_counter() - start) / len(batches)

    return run


def sparse_vs_dense(X: np.ndarray, y: np.ndarray, layer_sizes: Sequence[int], densities: Sequence[float],
                    batch_sizes: Sequence[int], n_steps: int, repeats: int, seed: int = 0) -> list[dict]:
    """Median seconds per training step with the dense and the sparse kernels, per density and batch size.

    Both paths train their own copy of one masked network on the same batches; their
    rounds alternate, and a first round (not counted) compiles and warms the caches.
    ``speedup`` is dense / sparse for the whole step, ``kernels_only_speedup`` (when
    ``bench_kernels`` is importable) the same for the layers' products alone.
    """
    rng = np.random.default_rng(seed)
    rows = []
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    for density in densities:
        masks = random_masks(shapes, [max(1, round(density * i * o)) for i, o in shapes], rng)
        for batch_size in batch_sizes:
            batches = [rng.choice(len(X), size=batch_size, replace=False) for _ in range(n_steps)]
            runners = {}
            for path in ("dense", "sparse"):
                model = MLP(layer_sizes, seed=seed)
                model.set_masks(masks)
                runners[path] = step_runner(model, X, y, batches, path)
            samples = interleaved(runners, repeats + 1)
            row = {"density": density, "batch_size": batch_size}
            row.update({f"{path}_seconds": statistics.median(s[1:]) for path, s in samples.items()})
            row["speedup"] = row["dense_seconds"] / row["sparse_seconds"]
            if measure_step_ratio is not None:
                kernels_only = measure_step_ratio(density, batch_size, 5 * repeats)  # cheap: no model, no Adam
                row["kernels_only_speedup"] = kernels_only["speedup"]
            rows.append(row)
            print(f"density {density}, batch {batch_size}: speedup {row['speedup']:.2f}x", file=sys.stderr, flush=True)
    return rows


# -------------------------------------------------------------- environment
def environment() -> dict:
    """The library's environment report, taken after torch is imported (if it is), plus what timing needs.

    :func:`lottery_np.experiment.report.environment` records the machine, the
    versions and the BLAS libraries; added here: PyTorch, the threads of Numba
    and PyTorch, both OpenBLAS variables (None when unset) and the load average.
    """
    env = report.environment(n_jobs=1, backend=None)
    try:
        env["versions"]["torch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        env["versions"]["torch"] = None
    torch = sys.modules.get("torch")  # only if this run imported it
    env.update({
        "numba_threads": numba.get_num_threads(),
        "torch_threads": torch.get_num_threads() if torch else None,
        "openblas_env": {name: os.environ.get(name) for name in OPENBLAS_VARS},
        "load_average": os.getloadavg(),  # other processes' load when the measurements finished
    })
    return env


# --------------------------------------------------------------------- main
def run_benchmark(quick: bool = False, repeats: int = 5, batches: Optional[int] = None, steps: int = 20,
                  use_torch: bool = True, threads: Optional[int] = None, round_iterations: int = 2000,
                  load_iterations: int = 1000) -> dict:
    """Measure everything; the returned dict is what ``--json`` writes.

    Parameters
    ----------
    quick : bool
        Digits and a 64-300-100-10 network, few batches and two densities: seconds, not minutes.
    repeats : int
        Rounds of each measurement; medians are reported.
    batches : int, optional
        Batches timed per round in the epoch comparison (default: a full epoch, 916 on MNIST);
        the per-epoch time is scaled up from them.
    steps : int
        Training steps per round in the sparse-vs-dense comparison.
    use_torch : bool
        Include PyTorch when it is importable.
    threads : int, optional
        Threads for BLAS, Numba and PyTorch (default: every CPU); the step table is also taken on one.
    round_iterations : int
        Iterations of the timed rounds (:mod:`engine_rounds`), evaluating every 100.
    load_iterations : int
        Iterations of the rounds timed quiet and under load; 0 leaves that table out.
    """
    threads = lottery_np_threads.configure(threads or os.cpu_count())  # Numba, for the rest of the process
    threadpoolctl.threadpool_limits(threads)  # BLAS, for the engines compared outside train() (which runs it on 1)
    data = load_digits() if quick else load_mnist(download=False)
    X, y = data.X_train, data.y_train
    layer_sizes = (X.shape[1], 300, 100, 10)
    batch_size = 60
    per_epoch = len(X) // batch_size
    n_batches = min(batches or per_epoch, per_epoch)
    densities, step_batch_sizes = ((1.0, 0.1), (60,)) if quick else (DENSITIES, (60, 1000))

    factories = {"lottery_np": partial(lottery_np_runner, X, y, layer_sizes, batch_size),
                 "lottery_np train()": partial(lottery_np_train_runner, data, layer_sizes, batch_size),
                 "scikit-learn": partial(sklearn_runner, X, y, layer_sizes, batch_size)}
    if use_torch and importlib.util.find_spec("torch") is not None:
        factories["torch"] = partial(torch_runner, X, y, layer_sizes, batch_size, threads=threads)
    for factory in factories.values():  # warm-up: Numba compilation, first BLAS calls, allocators
        factory(3)()
    runners = {name: factory(n_batches) for name, factory in factories.items()}
    print(f"timing {repeats} x {n_batches} batches of {', '.join(runners)}", file=sys.stderr, flush=True)
    epochs = {}
    for name, times in interleaved(runners, repeats).items():
        times = [t * per_epoch / n_batches for t in times]  # a partial epoch scaled up to a whole one
        epochs[name] = {"seconds_per_epoch": statistics.median(times), "samples": times}
    ours = epochs["lottery_np"]["seconds_per_epoch"]
    ratios = {f"lottery_np/{name}": ours / epochs[name]["seconds_per_epoch"] for name in ("scikit-learn", "torch")
              if name in epochs}
    steps_rows = []
    for n_threads in sorted({1, threads}):
        with lottery_np_threads.limited(n_threads):
            rows = sparse_vs_dense(X, y, layer_sizes, densities, step_batch_sizes, steps, repeats)
        steps_rows += [{**row, "threads": n_threads} for row in rows]
    round_densities = (1.0, 0.1) if quick else engine_rounds.PAPER_DENSITIES
    rounds = engine_rounds.whole_rounds(data, layer_sizes, round_densities, round_iterations, 100, repeats)
    inference = engine_rounds.inference(data, layer_sizes, round_densities, 3 * repeats)
    tickets, X_test = bench_compact.trained_tickets(data.name, quick)
    compaction = bench_compact.compaction_rows(tickets, X_test, repeats, quick)
    load = engine_rounds.under_load(data, layer_sizes, (1.0, 0.1), load_iterations, 100, repeats,
                                    [*sorted({1, threads}), lottery_np_threads.AUTO]) if load_iterations else []
    return {
        "config": {"dataset": data.name, "n_train": len(X), "layer_sizes": list(layer_sizes),
                   "batch_size": batch_size, "learning_rate": LEARNING_RATE, "batches_per_epoch": per_epoch,
                   "batches_timed": n_batches, "repeats": repeats, "steps": steps, "threads": threads,
                   "round_iterations": round_iterations, "eval_every": 100, "load_iterations": load_iterations,
                   "sklearn_dtype": sklearn_dtype(X, y, layer_sizes, batch_size),
                   "statistic": "median over interleaved repeats"},
        "epoch": epochs,
        "ratios": ratios,
        "sparse_vs_dense": steps_rows,
        "rounds": rounds,
        "inference": inference,
        "under_load": load,
        "compaction": compaction,
        "environment": environment(),
    }


def format_report(results: dict) -> str:
    """The two tables and the environment, as text."""
    config, env = results["config"], results["environment"]
    lines = [f"Dense {'-'.join(map(str, config['layer_sizes']))} epoch on {config['dataset']} "
             f"({config['batches_per_epoch']} batches of {config['batch_size']}, Adam {config['learning_rate']}; "
             f"{config['batches_timed']} batches timed, median of {config['repeats']} interleaved repeats)",
             f"{'engine':<22}{'s/epoch':>9}{'min':>9}{'max':>9}"]
    for name, entry in results["epoch"].items():
        samples = entry["samples"]
        lines.append(f"{name:<22}{entry['seconds_per_epoch']:>9.3f}{min(samples):>9.3f}{max(samples):>9.3f}")
    lines += [f"  {name} = {ratio:.2f}" for name, ratio in results["ratios"].items()]
    lines.append(f"  scikit-learn trained in {config['sklearn_dtype']}")
    lines += ["", f"Full training step (forward, backward, Adam), path='dense' vs path='sparse' "
                  f"(median of {config['repeats']} x {config['steps']} steps)",
              f"{'threads':>8}{'density':>8}{'batch':>7}{'dense ms':>10}{'sparse ms':>11}{'speedup':>9}"
              f"{'kernels only':>14}"]
    for row in results["sparse_vs_dense"]:
        kernels_only = f"{row['kernels_only_speedup']:>13.2f}x" if "kernels_only_speedup" in row else ""
        lines.append(f"{row['threads']:>8}{row['density']:>8.2f}{row['batch_size']:>7}"
                     f"{1e3 * row['dense_seconds']:>10.3f}{1e3 * row['sparse_seconds']:>11.3f}"
                     f"{row['speedup']:>8.2f}x{kernels_only}")
    lines += engine_rounds.format_tables(results)
    lines += ["", f"Compact tickets: every round's ticket of a 95 %-sparsity search, compacted (predict, median of "
                  f"{config['repeats']})", *bench_compact.format_rows(results["compaction"])]
    blas = "; ".join(f"{p['prefix']} {p.get('version') or ''} ({p.get('architecture') or p['user_api']}, "
                     f"{p['num_threads']} threads)" for p in env["blas"])
    load = ", ".join(f"{x:.2f}" for x in env["load_average"])
    lines += ["", f"versions: {env['versions']}",
              f"cpus: {env['cpu_count']}, threads: {config['threads'] or 'all'} (numba {env['numba_threads']}, "
              f"torch {env['torch_threads']}), load average at the end: {load}",
              f"BLAS: {blas}", f"OpenBLAS env: {env['openblas_env']}"]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Command-line entry point; prints the report and returns the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run on the 8x8 digits")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per measurement (default 5, quick 2)")
    parser.add_argument("--batches", type=int, default=None,
                        help="batches timed per epoch round (default: the whole epoch; quick 10)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per round in the sparse-vs-dense part (default 20, quick 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for BLAS, Numba and PyTorch (default: all; 1 is steadier on a busy machine)")
    parser.add_argument("--round-iterations", type=int, default=None,
                        help="iterations of the timed whole rounds (default 2000, quick 100)")
    parser.add_argument("--load-iterations", type=int, default=None,
                        help="iterations of the rounds timed under load (default 1000, quick 0: no load table)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if importable")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    quick = args.quick
    results = run_benchmark(quick=quick, repeats=args.repeats or (2 if quick else 5),
                            batches=args.batches or (10 if quick else None),
                            steps=args.steps or (3 if quick else 20), use_torch=not args.no_torch,
                            threads=args.threads, round_iterations=args.round_iterations or (100 if quick else 2000),
                            load_iterations=(0 if quick else 1000) if args.load_iterations is None
                            else args.load_iterations)
    print(format_report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
