"""Mask criteria: which weights a pruning round keeps, scored from each weight's initial and final value.

Zhou, Lan, Liu & Yosinski ("Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask", NeurIPS 2019)
take the lottery ticket apart. Its first part is the *mask criterion* (their Section 2 and the table of
Figure 1, which draws each criterion as a region of the ``(w_i, w_f)`` plane): a score ``M(w_i, w_f)`` of every
weight from its initial value ``w_i`` and its value ``w_f`` after training. A round keeps the surviving weights
of largest score; iterative magnitude pruning is the criterion ``|w_f|``.

======================== ======================================= =====================================
name                     score ``M(w_i, w_f)``                   keeps the weights that ...
======================== ======================================= =====================================
large_final              ``|w_f|``                               end large (Frankle & Carbin's)
small_final              ``-|w_f|``                              end small
large_init               ``|w_i|``                               start large
small_init               ``-|w_i|``                              start small
large_init_large_final   ``min(F(|w_i|), F(|w_f|))``             start large and end large
small_init_small_final   ``min(G(|w_i|), G(|w_f|))``             start small and end small
magnitude_increase       ``|w_f| - |w_i|``                       grow the most
movement                 ``|w_f - w_i|``                         move the most
random                   a uniform draw in ``[0, 1)``            any: a random subset
large_final_same_sign    ``|w_f|`` if ``w_i w_f > 0``, else 0    end large without flipping sign
large_final_diff_sign    ``|w_f|`` if ``w_i w_f < 0``, else 0    end large after flipping sign
======================== ======================================= =====================================

The paper writes the two "init and final" criteria as ``min(α|w_f|, |w_i|)`` and ``-max(α|w_f|, |w_i|)``, the
factor ``α`` putting both magnitudes on one scale; its region is a quadrant of the plane. The authors' code
(``get_weight_init.py``) draws that quadrant at *one percentile for both axes*: a weight survives when its
initial and its final magnitude both lie above (for the small pair, below) the same percentile of the
layer's surviving weights. Ranking by the smaller of the two percentile ranks does exactly that: with ``F(x)``
the fraction of the layer's survivors of magnitude ``<= x`` and ``G(x)`` the fraction ``>= x``,
``min(F(|w_i|), F(|w_f|)) >= t`` holds when both ranks are ``>= t``. Ranks are taken within each layer, as the
paper prunes; ranked across layers (:func:`criterion_masks` with one ``n_keep``) they compare each layer's
weights on one ``[0, 1]`` scale, not their raw magnitudes.

The sign-aware pair comes from the Supermask experiments (Section 5): ``large_final_same_sign`` is the paper's
``max(0, w_i w_f / |w_i|)``, the mask that makes the best Supermask. The paper's ``random`` criterion scores
every weight 0 and breaks the ties at random; here the random draw is the score itself, taken from a seed
(:func:`random_scores`), so the criterion stays pure under the package's fixed tie rule: same seed, same mask.
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

from .. import schema, validation
from .masks import _keep_largest, keep_largest_across

Criterion = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[np.ndarray]], list]
"""``(initial, final, masks) -> scores``: lists of per-layer arrays of shape ``(fan_in, fan_out)``."""


def _same_sign(wi: np.ndarray, wf: np.ndarray) -> np.ndarray:
    """True where ``w_i`` and ``w_f`` are both positive or both negative (a product of signs cannot underflow)."""
    return np.sign(wi) * np.sign(wf) > 0


FORMULAS = {
    "large_final": lambda wi, wf: np.abs(wf),
    "small_final": lambda wi, wf: -np.abs(wf),
    "large_init": lambda wi, wf: np.abs(wi),
    "small_init": lambda wi, wf: -np.abs(wi),
    "magnitude_increase": lambda wi, wf: np.abs(wf) - np.abs(wi),
    "movement": lambda wi, wf: np.abs(wf - wi),
    "large_final_same_sign": lambda wi, wf: np.where(_same_sign(wi, wf), np.abs(wf), 0.0),
    "large_final_diff_sign": lambda wi, wf: np.where(_same_sign(-wi, wf), np.abs(wf), 0.0),
}
"""The criteria that score each weight from its own ``(w_i, w_f)`` alone, as float64 formulas."""


def _layers(initial: Sequence, final: Sequence, masks: Sequence) -> tuple[list, list, list]:
    """``initial`` and ``final`` as float64 arrays, ``masks`` as booleans (alive), one shape per layer."""
    if not len(initial) == len(final) == len(masks):
        raise ValueError(f"initial, final and masks must have the same length, "
                         f"got {len(initial)}, {len(final)}, {len(masks)}")
    initial = [np.asarray(w, dtype=np.float64) for w in initial]
    final = [np.asarray(w, dtype=np.float64) for w in final]
    alive = [np.asarray(m) != 0 for m in masks]
    for layer, (wi, wf, m) in enumerate(zip(initial, final, alive)):
        for name, other in (("final", wf), ("masks", m)):
            if other.shape != wi.shape:
                raise ValueError(f"{name}[{layer}] must have the shape of initial[{layer}], {wi.shape}, "
                                 f"got {other.shape}")
    return initial, final, alive


def _named(name: str, criterion: Criterion) -> Criterion:
    """``criterion`` under its name in :data:`CRITERIA`, so that it prints as itself."""
    criterion.__name__ = criterion.__qualname__ = name
    return criterion


def _pointwise(formula) -> Criterion:
    """The criterion scoring each weight by ``formula(w_i, w_f)``."""
    def criterion(initial, final, masks):
        initial, final, _ = _layers(initial, final, masks)
        return [formula(wi, wf) for wi, wf in zip(initial, final)]
    return criterion


def _ranks(values: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Fraction of the layer's surviving entries whose value is ``<= `` each entry's (0 where pruned)."""
    ranks = np.zeros(values.shape)
    survivors = np.sort(values[alive])
    if survivors.size:
        ranks[alive] = np.searchsorted(survivors, values[alive], side="right") / survivors.size
    return ranks


def _both(sign: float) -> Criterion:
    """The smaller of the percentile ranks of ``sign |w_i|`` and ``sign |w_f|`` (+1: both large, -1: both small)."""
    def criterion(initial, final, masks):
        initial, final, alive = _layers(initial, final, masks)
        return [np.minimum(_ranks(sign * np.abs(wi), m), _ranks(sign * np.abs(wf), m))
                for wi, wf, m in zip(initial, final, alive)]
    return criterion


def random_scores(initial: Sequence[np.ndarray], final: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                  seed: int = 0) -> list[np.ndarray]:
    """The ``random`` criterion: every weight scored by a uniform draw in ``[0, 1)`` from ``seed``.

    The draw covers every entry, pruned or not, layer by layer from ``np.random.default_rng(seed)``, so a
    weight's score depends on ``seed`` and its position alone. Keeping the ``k`` best of any survivors then
    keeps a uniformly random subset of them, and one seed over all rounds nests the masks like one-shot
    random pruning. For a fresh draw each round (as the authors' code makes), bind a seed per round:
    ``functools.partial(random_scores, seed=seed + pruning_round)`` is a criterion too.

    Examples
    --------
    >>> w = [np.zeros((2, 3))]
    >>> a, b = random_scores(w, w, w, seed=3), random_scores(w, w, w, seed=3)
    >>> bool((a[0] == b[0]).all()), a[0].dtype, bool(((0 <= a[0]) & (a[0] < 1)).all())
    (True, dtype('float64'), True)
    """
    initial, _, _ = _layers(initial, final, masks)
    rng = np.random.default_rng(validation.integer("seed", seed, minimum=0))
    return [rng.random(wi.shape) for wi in initial]


_DEFINED: dict[str, Criterion] = {
    **{name: _named(name, _pointwise(formula)) for name, formula in FORMULAS.items()},
    "large_init_large_final": _named("large_init_large_final", _both(+1.0)),
    "small_init_small_final": _named("small_init_small_final", _both(-1.0)),
    "random": random_scores,
}
CRITERIA: dict[str, Criterion] = {name: _DEFINED[name] for name in schema.CRITERIA}
"""Zhou et al.'s mask criteria by name, in the order of :data:`lottery_np.schema.CRITERIA` (the names a run's
``criterion`` setting takes): ``(initial, final, masks) -> scores`` (float64, larger is kept)."""


def criterion_masks(criterion: Union[str, Criterion], initial: Sequence[np.ndarray], final: Sequence[np.ndarray],
                    masks: Sequence[np.ndarray], n_keep: Union[int, Sequence[int]]) -> list[np.ndarray]:
    """Keep the ``n_keep`` surviving weights of largest criterion score, per layer or all layers together.

    Parameters
    ----------
    criterion : str or callable
        A name of :data:`CRITERIA`, or any ``(initial, final, masks) -> scores`` of finite numbers.
    initial, final, masks : sequences of ndarray, shape (fan_in, fan_out)
        The weights at initialization and after training, and the 0/1 masks, one per layer.
    n_keep : int or sequence of int
        A sequence keeps ``n_keep[l]`` weights in layer ``l``; an int keeps that many in all, ranked
        across the layers together. Never more than survive now.

    Returns
    -------
    list of ndarray
        New float32 0/1 masks that only lose entries. Among equal scores the lower flat index (row-major,
        layer by layer) is kept, the tie rule of :func:`.masks.prune_layerwise` and :func:`.masks.prune_global`,
        which ``"large_final"`` reproduces bit for bit.

    Examples
    --------
    >>> initial, final = [np.array([[0.5, -1.0, 2.0, -0.1]])], [np.array([[1.5, 0.5, -2.5, -0.3]])]
    >>> masks = [np.ones((1, 4))]
    >>> criterion_masks("large_final", initial, final, masks, [2])
    [array([[1., 0., 1., 0.]], dtype=float32)]
    >>> criterion_masks("magnitude_increase", initial, final, masks, 2)  # |w_f| - |w_i|: 1, -0.5, 0.5, 0.2
    [array([[1., 0., 1., 0.]], dtype=float32)]
    >>> criterion_masks("small_init", initial, final, masks, 2)
    [array([[1., 0., 0., 1.]], dtype=float32)]
    """
    if not callable(criterion):
        criterion = CRITERIA[validation.choice("criterion", criterion, tuple(CRITERIA))]
    scores = [np.asarray(s, dtype=np.float64) for s in criterion(initial, final, masks)]
    if len(scores) != len(masks):
        raise ValueError(f"the criterion must score every layer of masks, {len(masks)}, got {len(scores)}")
    for layer, (s, m) in enumerate(zip(scores, masks)):
        if s.shape != np.shape(m):
            raise ValueError(f"scores[{layer}] must have the shape of masks[{layer}], {np.shape(m)}, got {s.shape}")
        if not np.isfinite(s).all():
            raise ValueError(f"scores[{layer}] must hold finite numbers")
    alive = [np.asarray(m).ravel() != 0 for m in masks]
    if np.ndim(n_keep) == 0:
        n_keep = validation.integer("n_keep", n_keep, minimum=0, maximum=sum(int(a.sum()) for a in alive))
        return keep_largest_across(scores, masks, n_keep)
    if len(n_keep) != len(masks):
        raise ValueError(f"n_keep must give one count per layer, {len(masks)}, got {len(n_keep)}")
    new_masks = []
    for layer, (s, a, k) in enumerate(zip(scores, alive, n_keep)):
        k = validation.integer(f"n_keep[{layer}]", k, minimum=0, maximum=int(a.sum()))
        new_masks.append(_keep_largest(s.ravel(), a, k).reshape(s.shape).astype(np.float32))
    return new_masks
