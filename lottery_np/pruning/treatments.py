"""Where the kept weights restart, and what the pruned ones hold: Zhou et al.'s mask-1 and mask-0 actions.

Zhou, Lan, Liu & Yosinski ("Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask", NeurIPS 2019)
call the treatment of the kept weights before retraining the *mask-1 action* (Section 3, Figure 3). The
lottery ticket rewinds them to their initial values; the paper replaces those values and finds that the
ticket trains about as well as long as every kept weight keeps its initial *sign*:

================= ======================================================= ==============
name              each kept weight of layer ``l`` restarts at ...         its sign
================= ======================================================= ==============
rewind            its initial value ``w_i`` (the ticket)                  ``sign(w_i)``
reinit            a fresh draw from ``N(0, 2 / (fan_in + fan_out))``      random
reshuffle         the initial value of another kept weight of layer ``l`` random
constant          ``+σ_l`` or ``-σ_l``, by a fair coin                    random
signed_reinit     ``|a fresh draw| sign(w_i)``                            ``sign(w_i)``
signed_reshuffle  ``|another kept weight's initial value| sign(w_i)``     ``sign(w_i)``
signed_constant   ``σ_l sign(w_i)``                                       ``sign(w_i)``
================= ======================================================= ==============

``σ_l`` is the standard deviation of layer ``l``'s initial weights, all of them, as the authors' code
measures it (``np.std`` of the layer's initialization), so ``initial_weights`` are the dense initialization.
The fresh draw is the network's own Glorot-normal initialization (:func:`lottery_np.model.glorot_normal`), layer by
layer: from ``np.random.default_rng(seed)`` it gives exactly the weights of ``MLP(layer_sizes, seed)``.
Two choices differ from the authors' code: their "reinit" permutes the layer's initial values (a draw from
their empirical distribution, where the paper speaks of the original initialization distribution) and their
random-sign constant permutes the layer's signs; here the draw is fresh and the signs are independent coins.

A treatment is a function ``(initial_weights, masks, rng) -> new initial weights``: lists of per-layer
arrays of shape ``(fan_in, fan_out)``; each result keeps its layer's float dtype and holds exactly +0.0 where
the mask prunes. The inputs are never modified; the same generator state gives the same weights.

The *mask-0 action* (Section 4) is what the pruned weights hold while the kept ones train: zero, as in the
lottery ticket and in this package's training engine, or their initial values, frozen (:func:`pruned_values`).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .. import validation
from ..model import apply_mask, glorot_normal

Treatment = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], np.random.Generator], list]
"""``(initial_weights, masks, rng) -> new initial weights``, one array per layer."""


def _layers(initial_weights: Sequence, masks: Sequence) -> tuple[list, list]:
    """``initial_weights`` as float arrays and ``masks`` as booleans (kept), one shape per layer."""
    if len(initial_weights) != len(masks):
        raise ValueError(f"initial_weights and masks must have the same length, "
                         f"got {len(initial_weights)} and {len(masks)}")
    initial_weights, kept = [np.asarray(w) for w in initial_weights], [np.asarray(m) != 0 for m in masks]
    for layer, (w, m) in enumerate(zip(initial_weights, kept)):
        if not np.issubdtype(w.dtype, np.floating):
            raise TypeError(f"initial_weights[{layer}] must hold floating-point numbers, got {w.dtype}")
        if m.shape != w.shape:
            raise ValueError(f"masks[{layer}] must have the shape of initial_weights[{layer}], {w.shape}, "
                             f"got {m.shape}")
    return initial_weights, kept


# Each draw gives float64 values for a whole layer from its initial weights w, the kept entries and the
# generator; a treatment keeps the draw (or its magnitudes, with the initial signs) at the kept entries only.
def _initial(w: np.ndarray, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return w.astype(np.float64)


def _fresh(w: np.ndarray, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return glorot_normal(rng, *w.shape, dtype=np.float64)


def _shuffled(w: np.ndarray, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    values = w.astype(np.float64)
    values[kept] = rng.permutation(values[kept])
    return values


def _constant(w: np.ndarray, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.std(w, dtype=np.float64) * rng.choice((-1.0, 1.0), size=w.shape)


def _treatment(name: str, draw, keep_signs: bool) -> Treatment:
    """The treatment restarting each kept weight at ``draw`` (with the initial sign if ``keep_signs``)."""
    def treatment(initial_weights, masks, rng):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
        initial_weights, kept = _layers(initial_weights, masks)
        treated = []
        for w, m in zip(initial_weights, kept):
            values = draw(w, m, rng)
            if keep_signs:
                values = np.abs(values) * np.sign(w)
            treated.append(apply_mask(values.astype(w.dtype), m))
        return treated
    treatment.__name__ = treatment.__qualname__ = name
    return treatment


TREATMENTS: dict[str, Treatment] = {
    "rewind": _treatment("rewind", _initial, keep_signs=False),
    "reinit": _treatment("reinit", _fresh, keep_signs=False),
    "reshuffle": _treatment("reshuffle", _shuffled, keep_signs=False),
    "constant": _treatment("constant", _constant, keep_signs=False),
    "signed_reinit": _treatment("signed_reinit", _fresh, keep_signs=True),
    "signed_reshuffle": _treatment("signed_reshuffle", _shuffled, keep_signs=True),
    "signed_constant": _treatment("signed_constant", _constant, keep_signs=True),
}
"""Zhou et al.'s mask-1 actions by name: ``(initial_weights, masks, rng) -> new initial weights``."""


def treat(treatment: str, initial_weights: Sequence[np.ndarray], masks: Sequence[np.ndarray],
          rng: np.random.Generator) -> list[np.ndarray]:
    """The kept weights' new starting values under the mask-1 action ``treatment``, pruned entries +0.0.

    Parameters
    ----------
    treatment : str
        A name of :data:`TREATMENTS`.
    initial_weights, masks : sequences of ndarray, shape (fan_in, fan_out)
        The dense initialization and the 0/1 masks, one per layer.
    rng : numpy.random.Generator
        The randomness of the draws, consumed layer by layer (the rewind does not use it).

    Examples
    --------
    >>> initial, masks = [np.array([[0.5, -1.0], [2.0, -0.25]], dtype=np.float32)], [np.array([[1, 1], [0, 1]])]
    >>> treat("rewind", initial, masks, np.random.default_rng(0))
    [array([[ 0.5 , -1.  ],
           [ 0.  , -0.25]], dtype=float32)]
    >>> sigma = np.std(initial[0], dtype=np.float64)  # sqrt(1.23046875) = 1.109...
    >>> bool((treat("signed_constant", initial, masks, np.random.default_rng(0))[0]
    ...       == np.float32([[sigma, -sigma], [0.0, -sigma]])).all())
    True
    """
    return TREATMENTS[validation.choice("treatment", treatment, tuple(TREATMENTS))](initial_weights, masks, rng)


PRUNED_TREATMENTS = ("zero", "frozen_init", "zero_shrunk")
"""The mask-0 actions: the pruned weights hold 0 (the lottery ticket); their initial values, frozen; or, Zhou et
al.'s first variant, 0 where training shrank them and their initial values elsewhere, frozen."""


def pruned_values(treatment: str, initial_weights: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                  final_weights: Optional[Sequence[np.ndarray]] = None) -> list[np.ndarray]:
    """The constant values the pruned weights hold during retraining (0 where the mask keeps a weight).

    A network under a mask-0 action computes with ``mask * w + pruned_values``: the kept weights ``w`` train,
    and the pruned ones stay where the action put them:

    * ``"zero"`` -- 0: every engine's masked network, the lottery ticket;
    * ``"frozen_init"`` -- ``w_i``: the alternative Zhou et al. find trains worse (Section 4);
    * ``"zero_shrunk"`` -- 0 where ``|w_f| < |w_i|`` (training moved the weight toward zero) and ``w_i``
      elsewhere: their first variant, which tests whether zeroing works because it finishes a move training
      had begun. It needs ``final_weights``, the trained values ``w_f``.

    Examples
    --------
    >>> initial, masks = [np.array([[0.5, -1.0, 2.0]], dtype=np.float32)], [np.array([[1, 0, 0]])]
    >>> pruned_values("frozen_init", initial, masks), pruned_values("zero", initial, masks)
    ([array([[ 0., -1.,  2.]], dtype=float32)], [array([[0., 0., 0.]], dtype=float32)])
    >>> pruned_values("zero_shrunk", initial, masks, final_weights=[np.array([[0.9, -0.2, 2.5]])])
    [array([[0., 0., 2.]], dtype=float32)]
    """
    treatment = validation.choice("treatment", treatment, PRUNED_TREATMENTS)
    initial_weights, kept = _layers(initial_weights, masks)
    if treatment == "zero":
        return [np.zeros_like(w) for w in initial_weights]
    held = [np.where(m, 0, w).astype(w.dtype) for w, m in zip(initial_weights, kept)]
    if treatment == "frozen_init":
        return held
    if final_weights is None:
        raise ValueError("the zero_shrunk action needs final_weights, the trained values of the weights")
    return [np.where(m, 0, z).astype(w.dtype)
            for w, m, z in zip(initial_weights, kept, zero_shrunk(initial_weights, final_weights))]


def zero_shrunk(initial_weights: Sequence[np.ndarray], final_weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Zhou et al.'s zeroing rule on every weight: 0 where training shrank it (``|w_f| < |w_i|``), ``w_i`` elsewhere.

    Applied to the pruned weights alone it is the mask-0 action ``"zero_shrunk"`` (:func:`pruned_values`, their
    first variant); applied to the kept weights too, it also restarts the kept weights that shrank at 0
    (their second variant). The result keeps the initial weights' dtype.

    Examples
    --------
    >>> zero_shrunk([np.array([[0.5, -1.0, 2.0]], dtype=np.float32)], [np.array([[0.9, -0.2, 2.5]])])
    [array([[0.5, 0. , 2. ]], dtype=float32)]
    """
    initial_weights = [np.asarray(w) for w in initial_weights]
    final_weights, _ = _layers(final_weights, initial_weights)
    return [np.where(np.abs(wf) < np.abs(w), 0, w).astype(w.dtype) for w, wf in zip(initial_weights, final_weights)]
