"""What the engine benchmarks share: the runner they time, interleaved repeats, timed calls, the masks, a few constants, JSON.

A *runner* does a fixed piece of work (some batches of training, one training step,
a round, a prediction call) each time it is called and returns the seconds it took.
:func:`interleaved` calls a set of them round after round, one call of each per
round, so that load from other processes and the machine's drift hit every case
alike; the benchmarks report the median of each case's samples.

Imported by plain name (``import timing``) by the scripts next to it: ``bench_engine.py``
and its parts (``engine_epoch.py``, ``engine_step.py``, ``engine_rounds.py``),
``bench_compact.py``, ``bench_kernels.py`` and ``kernel_bound.py``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Hashable, Mapping, Optional, Sequence, TypeVar

import numpy as np

from lottery_np.config import TrainingConfig
from lottery_np.pruning.masks import random_masks

LEARNING_RATE = TrainingConfig.learning_rate
"""Adam's learning rate in every engine the epoch and step tables time (the paper's, for LeNet-300-100)."""
DENSITIES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
"""Mask densities of the sparse-vs-dense comparisons: the whole step (``engine_step``) and its products
alone (``bench_kernels``)."""
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables that slow NumPy's OpenBLAS on some machines; the benchmarks record their values (None when unset)."""

Runner = Callable[[], float]  # does a fixed piece of work, returns the seconds it took

Case = TypeVar("Case", bound=Hashable)


def interleaved(runners: Mapping[Case, Runner], repeats: int) -> dict[Case, list[float]]:
    """Call every runner once per round, for ``repeats`` rounds, so background load hits all alike.

    Returns each runner's ``repeats`` samples, in the order they were taken.
    """
    samples: dict[Case, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            samples[name].append(run())
    return samples


def per_call(run: Callable[[], object], calls: int) -> Runner:
    """A runner: the mean seconds of one call of ``run`` over ``calls`` calls in a row."""
    def runner() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            run()
        return (time.perf_counter() - start) / calls
    return runner


def masks_at_density(shapes: Sequence[tuple], density: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Random masks keeping ``round(density * size)`` weights of each layer (at least one), drawn from ``rng``."""
    return random_masks(shapes, [max(1, round(density * i * o)) for i, o in shapes], rng)


def write_json(path: Optional[Path], results: dict) -> None:
    """Write ``results`` to ``path`` as indented JSON (anything else as its ``str``), making its folder; None: nothing."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
