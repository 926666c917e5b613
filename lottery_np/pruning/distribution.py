"""How many weights each layer keeps when a network is made sparse before training, and random masks of them.

A mask drawn at initialization needs a budget per layer before it needs a choice of
weights. Two distributions of a total budget ``density * N`` over the layers:

* **uniform** -- every layer keeps the same fraction ``density`` of its weights;
* **Erdős–Rényi** (Mocanu et al., Nature Communications 2018; Evci et al., ICML 2020,
  Section 3, call its convolutional form ERK, which for fully connected layers is the same):
  layer ``l`` of shape ``(n_in, n_out)`` keeps a fraction

  .. math::  d_l = \\varepsilon \\, \\frac{n_{in} + n_{out}}{n_{in} \\, n_{out}},

  with one ``ε`` for the whole network, chosen so that the counts add up to the budget.
  Small layers stay denser than large ones. A layer whose ``d_l`` would exceed 1 is kept
  dense, and ``ε`` is solved again over the other layers, until no layer exceeds 1.

Counts are whole numbers that add up exactly to ``round(density * N)``: each layer's
count is rounded down, and the weights left over go one each to the layers with the
largest remainders (ties to the earlier layer).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import validation
from .masks import random_masks

DISTRIBUTIONS = ("uniform", "erdos_renyi")
"""The per-layer distributions of a density: ``uniform`` and ``erdos_renyi`` (ERK, for fully connected layers)."""


def _whole(fractions: np.ndarray, sizes: np.ndarray, total: int) -> list[int]:
    """Counts ``fractions * sizes`` rounded to integers that add up to ``total`` (largest remainders first)."""
    exact = fractions * sizes
    counts = np.minimum(np.floor(exact), sizes).astype(np.int64)
    left = total - int(counts.sum())
    room = np.argsort(-(exact - counts), kind="stable")
    for layer in room:
        if left == 0:
            break
        if counts[layer] < sizes[layer]:
            counts[layer] += 1
            left -= 1
    return [int(c) for c in counts]


def layer_counts(shapes: Sequence[tuple], density: float, distribution: str = "uniform") -> list[int]:
    """Weights each layer keeps so that the network keeps ``round(density * N)`` of its ``N`` weights.

    Parameters
    ----------
    shapes : sequence of (n_in, n_out)
        The layers' weight shapes.
    density : float
        Fraction of all weights kept, in (0, 1].
    distribution : {"uniform", "erdos_renyi"}

    Examples
    --------
    >>> layer_counts([(784, 300), (300, 100), (100, 10)], 0.05)
    [11760, 1500, 50]
    >>> layer_counts([(784, 300), (300, 100), (100, 10)], 0.05, "erdos_renyi")
    [9051, 3340, 919]
    """
    density = validation.real("density", density, 0.0, 1.0, low_open=True)
    validation.choice("distribution", distribution, DISTRIBUTIONS)
    sizes = np.array([int(np.prod(shape)) for shape in shapes], dtype=np.int64)
    total = int(round(density * sizes.sum()))
    if distribution == "uniform":
        return _whole(np.full(len(sizes), density), sizes, total)
    raw = np.array([sum(shape) / np.prod(shape) for shape in shapes], dtype=np.float64)
    dense = np.zeros(len(sizes), dtype=bool)
    while not dense.all():  # each pass keeps at least one more layer dense, or stops
        epsilon = (total - sizes[dense].sum()) / (raw[~dense] * sizes[~dense]).sum()
        fractions = np.where(dense, 1.0, epsilon * raw)
        over = ~dense & (fractions > 1.0)
        if not over.any():
            return _whole(fractions, sizes, total)
        dense |= over
    return [int(size) for size in sizes]  # every layer dense: the density's rounding reached the whole network


def random_masks_at(shapes: Sequence[tuple], density: float, distribution: str,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Masks keeping the :func:`layer_counts` of ``density`` and ``distribution``, each layer's chosen uniformly.

    Examples
    --------
    >>> masks = random_masks_at([(4, 3), (3, 2)], 0.5, "uniform", np.random.default_rng(0))
    >>> [int(m.sum()) for m in masks]
    [6, 3]
    """
    return random_masks(list(shapes), layer_counts(shapes, density, distribution), rng)


def shuffle_masks(masks: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Each layer's mask with its kept positions moved uniformly at random within the layer.

    The ablation of Frankle, Dziugaite, Roy & Carbin (ICLR 2021, Section 5): it keeps every
    layer's count (its density) and forgets which weights were chosen.

    Examples
    --------
    >>> shuffled = shuffle_masks([np.eye(3, dtype=np.float32)], np.random.default_rng(0))
    >>> int(shuffled[0].sum()), shuffled[0].shape
    (3, (3, 3))
    """
    return [rng.permutation(np.asarray(m, dtype=np.float32).reshape(-1)).reshape(np.shape(m)) for m in masks]
