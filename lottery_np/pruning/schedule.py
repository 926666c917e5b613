"""How many weights survive each pruning round.

Iterative magnitude pruning removes a fixed fraction ``p`` of the weights that
are *still remaining* in every round, so after ``r`` rounds a layer pruned at rate
``f_l p`` keeps ``(1 - f_l p)^r`` of its weights. Frankle & Carbin (2019) prune
LeNet-300-100's hidden layers at 20 % per round and its output layer at half that
rate (``f_out = 0.5``). The amount pruned is said in one of two ways:

* a ``target_sparsity``: ``p`` is solved for, so that the last round lands exactly
  on the requested sparsity of the whole network (:func:`layerwise_schedule`,
  :func:`global_schedule`)::

      sum_l n_l (1 - f_l p)^R = round(N (1 - target_sparsity))

  Counts are integers: each round's target is the rounded continuous value, and the
  last round's rounding error is given to the largest layers so the total is exact.

* a ``pruning_rate`` ``p``, the paper's way (:func:`fixed_rate_schedule`): each round
  removes the rounded fraction ``f_l p`` of each layer's survivors, for as many rounds
  as given, and the sparsity reached is whatever follows.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _surviving(layer_sizes: np.ndarray, factors: np.ndarray, rate: float, rounds: int) -> float:
    return float(np.sum(layer_sizes * (1.0 - factors * rate) ** rounds))


def per_round_rate(
    layer_sizes: Sequence[int], factors: Sequence[float], target_sparsity: float, rounds: int
) -> float:
    """Solve for the per-round pruning rate ``p`` (of the remaining weights) by bisection.

    Parameters
    ----------
    layer_sizes : sequence of int
        Number of prunable weights in each layer (``n_l``).
    factors : sequence of float
        Each layer's rate as a multiple of ``p`` (``f_l``, in ``[0, 1]``).
    target_sparsity : float
        Fraction of all weights removed after the last round.
    rounds : int
        Number of pruning rounds ``R``.

    Raises
    ------
    ValueError
        If the factors make the target unreachable (e.g. every factor is 0).
    """
    sizes, factors = np.asarray(layer_sizes, float), np.asarray(factors, float)
    goal = sizes.sum() * (1.0 - target_sparsity)
    lowest = _surviving(sizes, factors, 1.0, rounds)
    if lowest > goal + 0.5:
        raise ValueError(
            f"target_sparsity {target_sparsity} is unreachable with layer rate factors {factors.tolist()}: "
            f"at most {1 - lowest / sizes.sum():.4f} of the weights can be pruned"
        )
    low, high = 0.0, 1.0
    for _ in range(100):  # the surviving count falls monotonically as the rate grows
        mid = (low + high) / 2
        if _surviving(sizes, factors, mid, rounds) > goal:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def layerwise_schedule(
    layer_sizes: Sequence[int], factors: Sequence[float], target_sparsity: float, rounds: int
) -> np.ndarray:
    """Weights remaining per layer after each round, shape ``(rounds + 1, n_layers)``.

    Row 0 is the dense network; row ``rounds`` sums to ``round(N (1 - target_sparsity))``.
    Every row is non-increasing in each layer and keeps at least one weight in any
    layer whose factor is below 1 or whose continuous count is positive.

    Examples
    --------
    >>> layerwise_schedule((12, 6), factors=(1.0, 0.5), target_sparsity=0.5, rounds=2)
    array([[12,  6],
           [ 8,  5],
           [ 5,  4]])
    """
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    factors = np.asarray(factors, float)
    rate = per_round_rate(sizes, factors, target_sparsity, rounds)
    exponents = np.arange(rounds + 1)[:, None]
    continuous = sizes[None, :] * (1.0 - factors[None, :] * rate) ** exponents
    counts = np.rint(continuous).astype(np.int64)
    counts[0] = sizes
    goal = int(round(sizes.sum() * (1.0 - target_sparsity)))
    error = goal - counts[-1].sum()
    for layer in np.argsort(-sizes, kind="stable"):  # largest layers absorb the rounding error
        step = int(np.clip(error, counts[-1, layer] * -1, counts[-2, layer] - counts[-1, layer]))
        counts[-1, layer] += step
        error -= step
        if error == 0:
            break
    return np.minimum.accumulate(counts, axis=0)


def global_schedule(n_weights: int, target_sparsity: float, rounds: int) -> np.ndarray:
    """Weights remaining in the whole network after each round, shape ``(rounds + 1,)``.

    The per-round rate is ``p = 1 - (1 - target_sparsity)^(1/R)``; the last entry is
    exactly ``round(N (1 - target_sparsity))``.

    Examples
    --------
    >>> global_schedule(18, target_sparsity=0.5, rounds=2)
    array([18, 13,  9])
    """
    density = (1.0 - target_sparsity) ** (np.arange(rounds + 1) / rounds)
    counts = np.rint(n_weights * density).astype(np.int64)
    counts[-1] = int(round(n_weights * (1.0 - target_sparsity)))
    return np.minimum.accumulate(counts)


def fixed_rate_schedule(
    layer_sizes: Sequence[int], factors: Sequence[float], rate: float, rounds: int
) -> np.ndarray:
    """Weights remaining per layer when every round prunes a fixed rate, shape ``(rounds + 1, n_layers)``.

    Layer ``l`` loses the fraction ``p_l = f_l p`` of its survivors in every round:

        n_l(0) = n_l,    n_l(r) = n_l(r-1) - rint(p_l n_l(r-1))

    ``rint`` rounds half to even (``np.rint``; the product formed in float64), so a
    layer of 5 at ``p_l = 0.5`` loses 2 and one of 3 loses 2. Global pruning at a
    fixed rate is the same rule for one "layer" of all ``N`` weights (``factors = [1]``).
    As ``p_l < 1``, no round removes more than a layer holds; a layer may still reach 0.

    Parameters
    ----------
    layer_sizes : sequence of int
        Number of prunable weights in each layer (``n_l``).
    factors : sequence of float
        Each layer's rate as a multiple of ``rate`` (``f_l``, in ``[0, 1]``).
    rate : float
        The hidden layers' fraction ``p`` of the surviving weights pruned per round, in ``(0, 1)``.
    rounds : int
        Number of pruning rounds ``R``.

    Examples
    --------
    >>> fixed_rate_schedule((12, 6), factors=(1.0, 0.5), rate=0.2, rounds=2)  # the paper's 20 %, output at 10 %
    array([[12,  6],
           [10,  5],
           [ 8,  5]])
    """
    rates = rate * np.asarray(factors, float)
    counts = np.empty((rounds + 1, len(rates)), dtype=np.int64)
    counts[0] = np.asarray(layer_sizes, dtype=np.int64)
    for r in range(1, rounds + 1):
        counts[r] = counts[r - 1] - np.rint(rates * counts[r - 1]).astype(np.int64)
    return counts
