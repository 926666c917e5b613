"""How fast is the engine? Dense epochs against scikit-learn and PyTorch, sparse steps against dense ones.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py --json results/bench_engine.json

(those two variables slow NumPy's OpenBLAS on some machines; the tests and CI
leave them alone, and the values in force are recorded in the JSON). On a machine
that other processes load, add ``--threads 1``: BLAS and Numba threads that must
share their cores with other work make every engine several times slower and
the numbers erratic.

This script runs the measurements, prints their tables and writes the JSON; each
part lives in a module of its own next to it:

1. **Dense epoch** (:mod:`engine_epoch`): LeNet-300-100 trains one epoch on MNIST
   (batch 60, Adam at lr 1.2e-3, float32) in this engine's raw loop and its
   ``train()``, in scikit-learn's ``MLPClassifier`` and in PyTorch CPU (when importable).
2. **Sparse vs dense step** (:mod:`engine_step`): one full training step with random
   masks of a given density, ``training_step`` layer by layer on BLAS (``dense``) and
   packed (``sparse``), on one thread and on all, next to
   ``bench_kernels``' ratio for the layer products alone.
3. **Whole rounds, inference, under load** (:mod:`engine_rounds`): ``train()`` under the paper's
   protocol at the paper's Pm, one evaluation of the validation and test sets, and a round quiet and
   with two processes spinning on the same cores, on one thread, on all and on ``auto``.
4. **Compaction** (:mod:`bench_compact`): every round's ticket of a 95 % search, compacted.
5. **Environment.** ``lottery_np.experiment.report.environment`` (Python,
   platform, CPU count, package versions, BLAS libraries and their threads,
   the threading variables set) plus PyTorch's version and threads, Numba's
   threads, both OpenBLAS variables (set or not) and the load average.

Every table interleaves its cases repeat by repeat (:mod:`timing`) and reports medians.
``--quick`` runs everything small on scikit-learn's 8x8 digits (a 64-300-100-10
network) in a few seconds; the tests use it.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import numba
import threadpoolctl

from lottery_np.engine import threads as lottery_np_threads
from lottery_np.data import load_digits, load_mnist
from lottery_np.experiment import report

import bench_compact  # benchmarks/bench_compact.py: what compacting each round's ticket buys
import engine_epoch  # benchmarks/engine_epoch.py: the dense epoch against scikit-learn and PyTorch
import engine_rounds  # benchmarks/engine_rounds.py: whole rounds, inference, under load
import engine_step  # benchmarks/engine_step.py: the sparse vs dense training step
from timing import DENSITIES, LEARNING_RATE, OPENBLAS_VARS, write_json  # benchmarks/timing.py


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

    epochs, ratios = engine_epoch.dense_epochs(data, layer_sizes, batch_size, n_batches, per_epoch, repeats,
                                               use_torch, threads)
    steps_rows = []
    for n_threads in sorted({1, threads}):
        with lottery_np_threads.limited(n_threads):
            rows = engine_step.sparse_vs_dense(X, y, layer_sizes, densities, step_batch_sizes, steps, repeats)
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
                   "sklearn_dtype": engine_epoch.sklearn_dtype(X, y, layer_sizes, batch_size),
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
    """Every table and the environment, as text."""
    config, env = results["config"], results["environment"]
    lines = [*engine_epoch.format_table(results), *engine_step.format_table(results)]
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
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
