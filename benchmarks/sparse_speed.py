"""How fast sparse-from-the-start training really is: whole runs of each method against a dense run.

Each run is one process that loads MNIST, builds LeNet-300-100 with the method's mask at the
density, and trains it for ``--iterations`` with the engine (one thread for BLAS and Numba, so
that a ratio compares the work, not the thread pools). The parent runs every (method, density)
and the dense network ``--repeats`` times, interleaved (one of each, then again), and prints the
median training seconds, the ratio to the dense median, the share of a run spent in the
connectivity updates (SET, RigL), and a FLOP model of the same runs::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LOTTERY_NP_DATA=/work/shared/data \\
        python benchmarks/sparse_speed.py --out results/sparse_speed

The FLOP model counts multiply-adds as 2 FLOPs: a step's forward pass ``2 B nnz`` per layer, the
weight gradient ``2 B nnz``, the input gradient ``2 B nnz`` for every layer but the first; a RigL
update adds the dense weight gradient, ``2 B n_in n_out`` per layer (``B`` the batch size). The
scoring of SNIP, GraSP and SynFlow happens once, before training, and is timed separately.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

METHODS = ("erk", "set", "rigl")
DENSITIES = (0.10, 0.05, 0.02)
SIZES = (784, 300, 100, 10)


def one_run(method: str, density: float, iterations: int, seed: int) -> dict:
    """Train one network in this process and return what it cost."""
    from lottery_np import MLP, TrainingConfig, train
    from lottery_np.data import load_dataset
    from lottery_np.experiment.from_start import masks_at_init
    from lottery_np.sparse import Rewiring

    data = load_dataset("mnist", download=False)
    model = MLP(SIZES, seed=seed)
    config = TrainingConfig(iterations=iterations, eval_every=iterations)
    rewiring, scoring = None, 0.0
    if method != "dense":
        start = time.perf_counter()
        model.set_masks(masks_at_init(method, model, data, int(round(density * sum(w.size for w in model.weights))),
                                      seed))
        scoring = time.perf_counter() - start
        if method in ("set", "rigl"):
            rewiring = Rewiring(method, iterations, seed=seed)
    start = time.perf_counter()
    result = train(model, data, config, seed=seed, rewiring=rewiring)
    seconds = time.perf_counter() - start
    updates = rewiring.updates if rewiring else []
    return {"method": method, "density": density if method != "dense" else 1.0, "seconds": seconds,
            "scoring_seconds": scoring, "update_seconds": sum(u["seconds"] for u in updates),
            "updates": len(updates), "test_accuracy": result.final_test_accuracy,
            "flops": flops(model.masks, config.batch_size, iterations, len(updates) if method == "rigl" else 0)}


def flops(masks, batch: int, iterations: int, dense_gradients: int) -> float:
    """The FLOP model of the module docstring for a run of ``iterations`` steps."""
    nnz = [float(np.count_nonzero(m)) for m in masks]
    step = sum(2 * batch * n * (3 if layer else 2) for layer, n in enumerate(nnz))
    return step * iterations + dense_gradients * sum(2.0 * batch * m.size for m in masks)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=9_160, help="training length (10 MNIST epochs)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration, interleaved")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--densities", type=float, nargs="+", default=list(DENSITIES))
    parser.add_argument("--out", type=Path, help="folder for speed.json")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "DENSITY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_run(args.one[0], float(args.one[1]), args.iterations, seed=0)))
        return 0
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    configs = [("dense", 1.0)] + [(m, d) for d in args.densities for m in args.methods]
    runs = []
    for repeat in range(args.repeats):
        for method, density in (configs if repeat % 2 == 0 else configs[::-1]):
            output = subprocess.run([sys.executable, __file__, "--iterations", str(args.iterations), "--one", method,
                                     str(density)], env=env, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
            print(f"repeat {repeat}: {method:>6} {100 * runs[-1]['density']:5.1f} % {runs[-1]['seconds']:7.2f} s",
                  flush=True)
    dense = statistics.median(r["seconds"] for r in runs if r["method"] == "dense")
    dense_flops = next(r["flops"] for r in runs if r["method"] == "dense")
    table = [f"{'method':>7} {'density %':>9} {'median s':>9} {'vs dense':>9} {'updates %':>10} {'FLOPs vs dense':>15} "
             f"{'test acc %':>10}"]
    rows = []
    for method, density in configs:
        group = [r for r in runs if r["method"] == method and r["density"] == (density if method != "dense" else 1.0)]
        seconds = statistics.median(r["seconds"] for r in group)
        row = {"method": method, "density": density, "median_seconds": seconds, "ratio": seconds / dense,
               "update_share": statistics.median(r["update_seconds"] / r["seconds"] for r in group),
               "flop_ratio": group[0]["flops"] / dense_flops,
               "test_accuracy": statistics.median(r["test_accuracy"] for r in group)}
        rows.append(row)
        table.append(f"{method:>7} {100 * density:>9.1f} {seconds:>9.2f} {row['ratio']:>9.3f} "
                     f"{100 * row['update_share']:>10.2f} {row['flop_ratio']:>15.3f} {100 * row['test_accuracy']:>10.2f}")
    print("\n".join(table))
    print(f"CPU: {cpu_name()}; {args.repeats} interleaved runs each, {args.iterations} iterations, one thread")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "speed.json").write_text(json.dumps({"cpu": cpu_name(), "iterations": args.iterations,
                                                         "rows": rows, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
