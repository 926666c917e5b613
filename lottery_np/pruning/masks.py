"""Pruning as pure functions: ``(weights, masks, how many to keep) -> new masks``.

Magnitude pruning keeps the surviving weights of largest ``|w|``. Ties are broken
deterministically: among equal magnitudes the weight with the lower flat index
(row-major, layer by layer) is kept. A weight that is already pruned is never
revived, so masks only ever lose entries.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def density(masks: Sequence[np.ndarray]) -> float:
    """Fraction of the weights that ``masks`` keep, all layers together (as :attr:`MLP.density` counts it).

    Examples
    --------
    >>> density([np.ones((2, 2)), np.zeros((2, 3))])
    0.4
    """
    return sum(int(np.count_nonzero(mask)) for mask in masks) / sum(np.asarray(mask).size for mask in masks)


def _layers(weights: Sequence, masks: Sequence) -> tuple[list, list]:
    """``weights`` and ``masks`` as arrays, each layer's mask of its weights' shape (``ValueError`` naming the layer)."""
    weights, masks = [np.asarray(w) for w in weights], [np.asarray(m) for m in masks]
    for layer, (w, m) in enumerate(zip(weights, masks)):
        if w.shape != m.shape:
            raise ValueError(f"masks[{layer}] must have the shape of weights[{layer}], {w.shape}, got {m.shape}")
    return weights, masks


def _keep_largest(scores: np.ndarray, alive: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean array keeping the ``n_keep`` alive entries of largest score (lowest index wins ties).

    The entries a stable sort of ``-score`` would put first, found without sorting: every
    candidate above the ``n_keep``-th largest score, and of those equal to it, the lowest
    indices. A partition costs linear time where a sort costs ``n log n``, which matters to
    dynamic sparse training, choosing among a layer's every entry every hundred steps.
    """
    if not 0 <= n_keep <= int(alive.sum()):
        raise ValueError(f"cannot keep {n_keep} of {int(alive.sum())} surviving weights")
    candidates = np.flatnonzero(alive)
    keep = np.zeros(scores.size, dtype=bool)
    if n_keep == 0:
        return keep
    values = scores[candidates]
    threshold = -np.partition(-values, n_keep - 1)[n_keep - 1]  # the n_keep-th largest score
    above = values > threshold
    ties = np.flatnonzero(values == threshold)[:n_keep - int(above.sum())]  # candidates are in index order
    keep[candidates[above]] = True
    keep[candidates[ties]] = True
    return keep


def prune_layerwise(
    weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], n_keep: Sequence[int]
) -> list[np.ndarray]:
    """Keep the ``n_keep[l]`` largest-magnitude surviving weights of each layer.

    Parameters
    ----------
    weights, masks : sequences of ndarray, shape (fan_in, fan_out)
        Current weights and 0/1 masks, one per layer.
    n_keep : sequence of int
        Weights to keep in each layer; at most the number surviving now.

    Returns
    -------
    list of ndarray
        New float32 0/1 masks (the inputs are not modified).

    Examples
    --------
    >>> import numpy as np
    >>> weights = [np.array([[0.1, -3.0], [2.0, 0.5]]), np.array([[1.0], [-0.2]])]
    >>> masks = [np.ones((2, 2)), np.ones((2, 1))]
    >>> [m.tolist() for m in prune_layerwise(weights, masks, n_keep=[2, 1])]  # the largest |w| of each layer
    [[[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]]]
    """
    if not len(weights) == len(masks) == len(n_keep):
        raise ValueError(f"weights, masks and n_keep must have the same length, "
                         f"got {len(weights)}, {len(masks)}, {len(n_keep)}")
    weights, masks = _layers(weights, masks)
    new_masks = []
    for w, m, k in zip(weights, masks, n_keep):
        keep = _keep_largest(np.abs(w).ravel(), np.asarray(m).ravel() != 0, int(k))
        new_masks.append(keep.reshape(w.shape).astype(np.float32))
    return new_masks


def keep_largest_across(scores: Sequence[np.ndarray], masks: Sequence[np.ndarray], n_keep: int) -> list[np.ndarray]:
    """Keep the ``n_keep`` surviving entries of largest score across all layers ranked together.

    The one global ranking of the package: ties go to the lower flat index, layer by layer.
    ``scores`` and ``masks`` have one array per layer, of equal shapes.
    """
    if len(scores) != len(masks):
        raise ValueError(f"scores and masks must have the same length, got {len(scores)} and {len(masks)}")
    scores, masks = _layers(scores, masks)
    alive = np.concatenate([np.asarray(m).ravel() != 0 for m in masks])
    keep = _keep_largest(np.concatenate([s.ravel() for s in scores]), alive, int(n_keep))
    bounds = np.cumsum([0] + [s.size for s in scores])
    return [keep[a:b].reshape(s.shape).astype(np.float32) for a, b, s in zip(bounds[:-1], bounds[1:], scores)]


def prune_global(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], n_keep: int) -> list[np.ndarray]:
    """Keep the ``n_keep`` largest-magnitude surviving weights across all layers together.

    Examples
    --------
    >>> import numpy as np
    >>> weights = [np.array([[0.1, -3.0], [2.0, 0.5]]), np.array([[1.0], [-0.2]])]
    >>> masks = [np.ones((2, 2)), np.ones((2, 1))]
    >>> [m.tolist() for m in prune_global(weights, masks, n_keep=3)]  # one threshold over both layers
    [[[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]]]
    """
    return keep_largest_across([np.abs(np.asarray(w)) for w in weights], masks, n_keep)


def random_masks(shapes: Sequence[tuple], n_keep: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Masks that keep exactly ``n_keep[l]`` entries of each layer, chosen uniformly at random.

    Examples
    --------
    >>> import numpy as np
    >>> masks = random_masks([(2, 2), (2, 1)], n_keep=[1, 2], rng=np.random.default_rng(0))
    >>> [int(m.sum()) for m in masks], masks[0].dtype
    ([1, 2], dtype('float32'))
    """
    masks = []
    for shape, k in zip(shapes, n_keep):
        size = int(np.prod(shape))
        mask = np.zeros(size, dtype=np.float32)
        mask[rng.choice(size, size=int(k), replace=False)] = 1.0
        masks.append(mask.reshape(shape))
    return masks
