"""The engine benchmark's dense epoch: this engine against scikit-learn and PyTorch.

Imported by ``bench_engine.py``, which prints and saves this table next to its others.

LeNet-300-100 (784-300-100-10) trains on MNIST, batch 60, Adam at lr 1.2e-3,
float32, in three engines measured side by side:

* ``lottery_np``: a raw loop of the training loop's own step
  (``lottery_np.engine.step.training_step``: ``MLP.loss_and_gradients`` then
  ``Adam.step`` for a dense network) over a fresh shuffle (no evaluation, as
  in the other engines), and for reference ``lottery_np.training.train``
  evaluating only at its start and end;
* scikit-learn ``MLPClassifier(...).fit`` with ``max_iter=1`` (one epoch, no
  L2, no early stopping) on the same float32 arrays;
* PyTorch CPU, when importable: ``nn.Sequential`` Linear-ReLU-Linear-ReLU-Linear,
  ``torch.optim.Adam``, ``CrossEntropyLoss``.

An epoch is the ``55,000 // 60 = 916`` full batches every engine sees.
Every measurement runs in a process of its own (``python engine_epoch.py --engine NAME``:
load the data, warm up on 3 batches, time the batches, print the seconds): the thread
pools of two libraries in one process contend, and a peer timed in a process where this
library's kernels have run can look several times slower than it is. Repeats are
interleaved (one process of each engine, then the next round), so load from other
processes hits all engines alike, and the median is reported.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import warnings
from typing import Optional, Sequence

import numpy as np
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from lottery_np.data import Dataset, load_digits, load_mnist
from lottery_np.engine import threads as lottery_np_threads
from lottery_np.model import MLP
from lottery_np.optim import Adam
from lottery_np.engine.step import training_step
from lottery_np.training import TrainingConfig, train

from timing import LEARNING_RATE, Runner, interleaved  # benchmarks/timing.py


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


# ------------------------------------------------------- one engine, one process
ENGINES = {
    "lottery_np": lambda data, sizes, batch, n, threads: lottery_np_runner(data.X_train, data.y_train, sizes, batch, n),
    "lottery_np train()": lambda data, sizes, batch, n, threads: lottery_np_train_runner(data, sizes, batch, n),
    "scikit-learn": lambda data, sizes, batch, n, threads: sklearn_runner(data.X_train, data.y_train, sizes, batch, n),
    "torch": lambda data, sizes, batch, n, threads: torch_runner(data.X_train, data.y_train, sizes, batch, n,
                                                                 threads=threads),
}
"""Each engine's runner, made from ``(data, layer_sizes, batch_size, n_batches, threads)``."""


def time_in_this_process(engine: str, dataset: str, hidden: Sequence[int], batch_size: int, n_batches: int,
                         threads: int) -> float:
    """Seconds of ``n_batches`` batches of ``engine``, warmed up on 3 batches first, in this process alone."""
    lottery_np_threads.configure(threads)  # Numba
    threadpoolctl.threadpool_limits(threads)  # BLAS
    data = load_digits() if dataset == "digits" else load_mnist(download=False)
    sizes = (data.n_features, *hidden, data.n_classes)
    ENGINES[engine](data, sizes, batch_size, 3, threads)()  # Numba compilation, first BLAS calls, allocators
    return ENGINES[engine](data, sizes, batch_size, n_batches, threads)()


def process_runner(engine: str, dataset: str, hidden: Sequence[int], batch_size: int, n_batches: int,
                   threads: int) -> Runner:
    """A runner that times ``engine`` in a fresh process of its own (:func:`time_in_this_process`)."""
    command = [sys.executable, __file__, "--engine", engine, "--dataset", dataset, "--hidden", *map(str, hidden),
               "--batch-size", str(batch_size), "--batches", str(n_batches), "--threads", str(threads)]

    def run() -> float:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"timing {engine} failed: {done.stderr.strip().splitlines()[-1:]}")
        return float(done.stdout.split()[-1])

    return run


# -------------------------------------------------------------- the table
def dense_epochs(data: Dataset, layer_sizes: Sequence[int], batch_size: int, n_batches: int, per_epoch: int,
                 repeats: int, use_torch: bool = True, threads: Optional[int] = None) -> tuple[dict, dict]:
    """Seconds per epoch of every engine, and lottery_np's epoch over each other engine's.

    Every engine is timed in ``repeats`` interleaved rounds of one fresh process each
    (:func:`process_runner`), on ``n_batches`` batches after a warm-up of 3; each round's
    time is scaled up to a whole epoch of ``per_epoch`` batches. Returns
    ``{engine: {"seconds_per_epoch": median, "samples": [...]}}`` and
    ``{"lottery_np/<engine>": ratio}`` for scikit-learn and PyTorch (when timed).
    """
    names = [name for name in ENGINES if name != "torch" or (use_torch and importlib.util.find_spec("torch"))]
    runners = {name: process_runner(name, data.name, layer_sizes[1:-1], batch_size, n_batches,
                                    threads or os.cpu_count() or 1) for name in names}
    print(f"timing {repeats} x {n_batches} batches of {', '.join(runners)}, each in its own process",
          file=sys.stderr, flush=True)
    epochs = {}
    for name, times in interleaved(runners, repeats).items():
        times = [t * per_epoch / n_batches for t in times]  # a partial epoch scaled up to a whole one
        epochs[name] = {"seconds_per_epoch": statistics.median(times), "samples": times}
    ours = epochs["lottery_np"]["seconds_per_epoch"]
    ratios = {f"lottery_np/{name}": ours / epochs[name]["seconds_per_epoch"] for name in ("scikit-learn", "torch")
              if name in epochs}
    return epochs, ratios


def format_table(results: dict) -> list[str]:
    """The epoch table, the ratios and scikit-learn's dtype, as lines of text."""
    config = results["config"]
    lines = [f"Dense {'-'.join(map(str, config['layer_sizes']))} epoch on {config['dataset']} "
             f"({config['batches_per_epoch']} batches of {config['batch_size']}, Adam {config['learning_rate']}; "
             f"{config['batches_timed']} batches timed, median of {config['repeats']} interleaved repeats)",
             f"{'engine':<22}{'s/epoch':>9}{'min':>9}{'max':>9}"]
    for name, entry in results["epoch"].items():
        samples = entry["samples"]
        lines.append(f"{name:<22}{entry['seconds_per_epoch']:>9.3f}{min(samples):>9.3f}{max(samples):>9.3f}")
    lines += [f"  {name} = {ratio:.2f}" for name, ratio in results["ratios"].items()]
    lines.append(f"  scikit-learn trained in {config['sklearn_dtype']}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``--engine NAME``: time one engine in this process (what :func:`process_runner` starts); else the table alone."""
    parser = argparse.ArgumentParser(description="The dense epoch of every engine, each in its own process.")
    parser.add_argument("--engine", choices=list(ENGINES), help="time this engine here and print its seconds")
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="mnist")
    parser.add_argument("--hidden", type=int, nargs="+", default=[300, 100])
    parser.add_argument("--batch-size", type=int, default=60)
    parser.add_argument("--batches", type=int, default=None, help="batches timed (default: a whole epoch)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.engine is not None:
        print(time_in_this_process(args.engine, args.dataset, args.hidden, args.batch_size, args.batches,
                                   args.threads))
        return
    data = load_digits() if args.dataset == "digits" else load_mnist(download=False)
    per_epoch = len(data.X_train) // args.batch_size
    n_batches = min(args.batches or per_epoch, per_epoch)
    sizes = (data.n_features, *args.hidden, data.n_classes)
    epochs, ratios = dense_epochs(data, sizes, args.batch_size, n_batches, per_epoch, args.repeats,
                                  threads=args.threads)
    config = {"layer_sizes": list(sizes), "dataset": data.name, "batches_per_epoch": per_epoch,
              "batch_size": args.batch_size, "learning_rate": LEARNING_RATE, "batches_timed": n_batches,
              "repeats": args.repeats, "sklearn_dtype": sklearn_dtype(data.X_train, data.y_train, sizes,
                                                                     args.batch_size)}
    print("\n".join(format_table({"config": config, "epoch": epochs, "ratios": ratios})))
    print(f"threads: {args.threads}; load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
