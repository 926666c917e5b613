"""Dense-masked vs sparse kernels on the layers of LeNet-300-100: where does sparse start to pay?

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kernels.py --json results/bench_kernels.json

(on some machines those two variables make NumPy's OpenBLAS pick slower
kernels; the values in force are recorded in the JSON).

For batches of 60 and 1000 samples and mask densities 1 to 0.02, every layer of
LeNet-300-100 (784-300-100-10) gets a random mask of that density and masked
random weights. The products of one training step are timed on each path:

* ``forward``: ``Z = (W * M).T @ A`` for the three layers;
* ``backward_input``: ``dA = (W * M) @ dZ`` for layers 2 and 3 (layer 1 needs no ``dA``);
* ``backward_weights``: ``dW = (A @ dZ.T) * M`` for the three layers;
* ``step``: all eight of them, back to back.

Paths (``lottery_np.engine.kernels.dispatch``): ``dense`` (NumPy's BLAS on the full
matrices; the weights are 0 where pruned, so only the weight gradient applies the
mask) and ``sparse`` (the Numba kernels). The paths take turns (see ``ROUNDS``),
each number is the median over ``--repeats`` timed calls and
``speedup = dense / sparse`` compares medians of one run. The machine's load
average is recorded too: on two cores, any other busy process makes both
paths' two-thread products stall and the medians meaningless. The crossover
(step speed-up 1) is interpolated linearly in log-density.

``measure_step_ratio(density, batch, repeats)`` is the same measurement for one
configuration, for use by other benchmarks.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
import threadpoolctl

from lottery_np.engine.kernels import SparsityPattern, dispatch, masked_backward_input, masked_backward_weights, masked_forward

from timing import DENSITIES, OPENBLAS_VARS, write_json  # benchmarks/timing.py

LAYERS = ((784, 300), (300, 100), (100, 10))  # LeNet-300-100, (fan_in, fan_out)
BATCHES = (60, 1000)
PRODUCTS = ("forward", "backward_input", "backward_weights", "step")
PATHS = ("dense", "sparse")
# The paths take turns in ROUNDS rounds, so that load from other processes hits them alike. Right
# after a switch between OpenBLAS's threads and Numba's, the other pool's threads still spin for a
# while and steal the cores (first calls 2-5 ms instead of 0.3, and 4 ms stalls for ~0.1 s after),
# a cost that a training run staying on one path never pays: each turn starts with a pause and
# untimed steps.
ROUNDS = 5
SWITCH_PAUSE = 0.3  # seconds
SETTLE_STEPS = 2


def make_layers(density: float, batch: int, seed: int = 0) -> list[dict]:
    """Random masked layers of LeNet-300-100 with activations and output errors for one batch."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in LAYERS:
        mask = np.zeros(fan_in * fan_out, dtype=np.float32)
        mask[rng.choice(mask.size, size=round(density * mask.size), replace=False)] = 1.0
        pattern = SparsityPattern.from_mask(mask.reshape(fan_in, fan_out))
        layers.append({
            "pattern": pattern,
            "weights": rng.standard_normal((fan_in, fan_out), dtype=np.float32) * pattern.mask,
            "A": rng.standard_normal((fan_in, batch), dtype=np.float32),
            "dZ": rng.standard_normal((fan_out, batch), dtype=np.float32),
        })
    return layers


def products(layers: list[dict], path: str) -> dict:
    """One callable per product group (and the whole step), each running its kernels on ``layers``."""

    def forward():
        for layer in layers:
            masked_forward(layer["A"], layer["weights"], layer["pattern"], path)

    def backward_input():
        for layer in layers[1:]:
            masked_backward_input(layer["dZ"], layer["weights"], layer["pattern"], path)

    def backward_weights():
        for layer in layers:
            masked_backward_weights(layer["A"], layer["dZ"], layer["pattern"], path)

    def step():
        forward()
        backward_weights()
        backward_input()

    return {"forward": forward, "backward_input": backward_input, "backward_weights": backward_weights,
            "step": step}


def measure(density: float, batch: int, repeats: int, seed: int = 0) -> list[dict]:
    """Median seconds of every product group on every path, one row per product group."""
    layers = make_layers(density, batch, seed)
    runs = {path: products(layers, path) for path in PATHS}
    for run in runs.values():  # compile, fault in the buffers, wake the threads
        run["step"]()
    times = {(name, product): [] for name in runs for product in PRODUCTS}
    rounds = min(ROUNDS, repeats)
    for round_ in range(rounds):
        for name, run in runs.items():
            time.sleep(SWITCH_PAUSE)
            for _ in range(SETTLE_STEPS):
                run["step"]()
            for _ in range(repeats // rounds + (round_ < repeats % rounds)):
                for product in PRODUCTS:
                    start = time.perf_counter()
                    run[product]()
                    times[name, product].append(time.perf_counter() - start)
    rows = []
    for product in PRODUCTS:
        row = {"batch": batch, "density": density, "product": product}
        row.update({f"{name}_s": statistics.median(times[name, product]) for name in runs})
        row.update({f"{name}_min_s": min(times[name, product]) for name in runs})
        row["speedup"] = row["dense_s"] / row["sparse_s"]
        rows.append(row)
    return rows


def measure_step_ratio(density: float, batch: int, repeats: int = 50, seed: int = 0) -> dict:
    """Median seconds of a LeNet-300-100 step's kernel products, dense vs sparse, and their ratios.

    Returns the ``"step"`` row of :func:`measure`: keys ``batch``, ``density``,
    ``dense_s``, ``sparse_s`` (and their ``_min_s``) and ``speedup`` (dense / sparse).
    """
    return next(row for row in measure(density, batch, repeats, seed) if row["product"] == "step")


def crossover(rows: list[dict], batch: int) -> float | None:
    """Density at which the step speed-up crosses 1, interpolated in log-density (None if it never does)."""
    steps = sorted((r["density"], r["speedup"]) for r in rows if r["batch"] == batch and r["product"] == "step")
    for (d_low, s_low), (d_high, s_high) in zip(steps, steps[1:]):
        if s_low >= 1.0 > s_high:
            t = np.log(s_low) / (np.log(s_low) - np.log(s_high))
            return float(np.exp(np.log(d_low) + t * (np.log(d_high) - np.log(d_low))))
    return None


def environment() -> dict:
    """What the numbers depend on: BLAS and its threads, Numba's threads, versions, OpenBLAS variables, load."""
    return {
        "command": " ".join([sys.executable] + sys.argv),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.threading_layer(),
        "blas": threadpoolctl.threadpool_info(),
        "openblas_env": {name: os.environ.get(name) for name in OPENBLAS_VARS},
        "load_average_at_end": os.getloadavg(),
        "crossover_density_in_use": dispatch.CROSSOVER_DENSITY,
        "parallel_min_work_in_use": dispatch.PARALLEL_MIN_WORK,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per path and configuration")
    parser.add_argument("--json", type=Path, help="write the rows and the environment to this file")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--densities", type=float, nargs="+", default=list(DENSITIES))
    args = parser.parse_args(argv)

    load_at_start = os.getloadavg()  # other processes on the machine skew the medians
    rows = []
    print(f"{'batch':>5} {'density':>7} {'product':>16} {'dense ms':>9} {'sparse ms':>9} {'speedup':>7}")
    for batch in args.batches:
        for density in args.densities:
            for row in measure(density, batch, args.repeats):
                rows.append(row)
                print(f"{batch:>5} {density:>7.2f} {row['product']:>16} {row['dense_s'] * 1e3:>9.3f} "
                      f"{row['sparse_s'] * 1e3:>9.3f} {row['speedup']:>7.2f}", flush=True)
    crossovers = {batch: crossover(rows, batch) for batch in args.batches}
    for batch, found in crossovers.items():
        print(f"batch {batch}: step break-even density {found}")
    result = {"environment": environment(), "load_average_at_start": load_at_start, "repeats": args.repeats,
              "rows": rows, "crossover": crossovers}
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
