"""The engine benchmark's sparse vs dense step: one training step on the dense and on the packed sparse path.

Imported by ``bench_engine.py``, which prints and saves this table next to its others.

One full training step (forward, backward, Adam) of LeNet-300-100 at batch 60
and 1000 with random masks of a given density in every layer
(``lottery_np.pruning.masks.random_masks``), made by
``training_step(model, optimizer, "dense")`` (one BLAS call per layer product,
then Adam at the surviving weights), labelled ``dense``, and
``training_step(model, optimizer, packed=True)`` (the packed step: all layers in
one fused Numba call, the surviving weights kept packed), labelled ``sparse``; median seconds per step over the repeats, and, when
``bench_kernels`` is importable, the same ratio for the layer products alone.
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import Sequence

import numpy as np

from lottery_np.model import MLP
from lottery_np.optim import Adam
from lottery_np.engine.step import training_step

from timing import LEARNING_RATE, Runner, interleaved, masks_at_density  # benchmarks/timing.py

try:  # benchmarks/bench_kernels.py: the same comparison for the kernel products alone
    from bench_kernels import measure_step_ratio
except ImportError:  # imported from elsewhere than benchmarks/
    measure_step_ratio = None

WARM_UP_SECONDS = 0.3


def step_runner(model: MLP, X: np.ndarray, y: np.ndarray, batches: list[np.ndarray], path: str) -> Runner:
    """Mean seconds of one training step (forward, backward, Adam) over ``batches``, forced to ``path``.

    The step is the training loop's own (:func:`lottery_np.engine.step.training_step`): with
    ``path="sparse"`` the packed step, which keeps the surviving weights packed; with ``"dense"``
    the layer-by-layer step on BLAS, then ``Adam.step`` at the surviving weights.
    """
    form = {"packed": True} if path == "sparse" else {"path": path}
    train_step = training_step(model, Adam(LEARNING_RATE), **form)

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
        masks = masks_at_density(shapes, density, rng)
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


def format_table(results: dict) -> list[str]:
    """The step table (one row per thread count, density and batch size), as lines of text."""
    config = results["config"]
    lines = ["", f"Full training step (forward, backward, Adam), path='dense' vs path='sparse' "
                 f"(median of {config['repeats']} x {config['steps']} steps)",
             f"{'threads':>8}{'density':>8}{'batch':>7}{'dense ms':>10}{'sparse ms':>11}{'speedup':>9}"
             f"{'kernels only':>14}"]
    for row in results["sparse_vs_dense"]:
        kernels_only = f"{row['kernels_only_speedup']:>13.2f}x" if "kernels_only_speedup" in row else ""
        lines.append(f"{row['threads']:>8}{row['density']:>8.2f}{row['batch_size']:>7}"
                     f"{1e3 * row['dense_seconds']:>10.3f}{1e3 * row['sparse_seconds']:>11.3f}"
                     f"{row['speedup']:>8.2f}x{kernels_only}")
    return lines
