"""The library's answer to every exercise, in the signature the exercise asks of a student.

Each check compares a student's function with the one of the same name here. Each is
lottery_np's own code, or a thin adapter around it (the layer products are the NumPy
definitions of :mod:`lottery_np.engine.kernels.reference`, transposed to the usual
``X`` of shape ``(n_samples, fan_in)``; the Adam step is :class:`lottery_np.optim.Adam`'s),
so a student who passes computes what lottery_np computes when it finds a ticket.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..curves import LearningCurve, summarise
from ..engine.kernels import reference
from ..model import Parameters, apply_mask
from ..optim import Adam
from ..pruning import RewindStrategy, fixed_rate_schedule, global_schedule, prune_global, prune_layerwise

__all__ = ["adam_step", "early_stopping_iteration", "fixed_rate_schedule", "global_schedule", "masked_backward",
           "masked_forward", "prune_global", "prune_layerwise", "rewind"]


def masked_forward(X: np.ndarray, weights: np.ndarray, mask: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``Z = X (W * M) + b``, shape ``(n_samples, fan_out)``: a masked layer's pre-activation.

    >>> masked_forward(np.array([[1.0, 2.0]]), np.array([[1.0], [5.0]]), np.array([[1.0], [0.0]]), np.array([0.5]))
    array([[1.5]])
    """
    return reference.masked_forward(np.asarray(X).T, weights, mask).T + bias


def masked_backward(X: np.ndarray, weights: np.ndarray, mask: np.ndarray,
                    dZ: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three products of a masked layer's backward pass, given ``dZ = dL/dZ`` of shape ``(n_samples, fan_out)``.

    ``dX = dZ (W * M)^T`` (what flows down goes through the surviving weights only),
    ``dW = (X^T dZ) * M`` (0 at every pruned weight), ``db = sum over samples of dZ``.

    >>> dX, dW, db = masked_backward(np.array([[1.0, 2.0]]), np.array([[1.0], [5.0]]), np.array([[1.0], [0.0]]),
    ...                              np.array([[3.0]]))
    >>> dX, dW, db
    (array([[3., 0.]]), array([[3.],
           [0.]]), array([3.]))
    """
    X, dZ = np.asarray(X), np.asarray(dZ)
    return (reference.masked_backward_input(dZ.T, weights, mask).T,
            reference.masked_backward_weights(X.T, dZ.T, mask), dZ.sum(axis=0))


def rewind(initial_weights: Sequence[np.ndarray], trained_weights: Sequence[np.ndarray],
           masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """New arrays: the surviving weights back at their initial values, the pruned ones exactly 0.0.

    The lottery ticket's rewinding, ``RewindStrategy.Init``; the trained weights are not needed.

    >>> rewind([np.array([0.5, -2.0])], [np.array([0.7, 0.1])], [np.array([1.0, 0.0])])
    [array([0.5, 0. ])]
    """
    start = RewindStrategy.Init.restart_point(Parameters(list(initial_weights), []), None,
                                              Parameters(list(trained_weights), []))
    return [apply_mask(np.asarray(w), m) for w, m in zip(start.weights, masks)]


def early_stopping_iteration(iterations: Sequence[int], val_loss: Sequence[float]) -> int:
    """The evaluated iteration of lowest validation loss, the first of them on a tie.

    >>> early_stopping_iteration([0, 100, 200, 300], [2.3, 0.4, 0.6, 0.4])
    100
    """
    n = len(iterations)
    curve = LearningCurve(list(iterations), [math.nan] * n, list(val_loss), [math.nan] * n, [math.nan] * n)
    return summarise(curve, 0, 0.0, {}).early_stop_iteration


def adam_step(weights: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, mask: np.ndarray,
              learning_rate: float = 1.2e-3, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, *,
              bias_correction: str = "step_size") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step ``t`` (1 for the first) of Adam on the surviving weights: new ``(weights, m, v)``.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, then (the library's default form)
    ``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``; with
    ``bias_correction="moments"``, ``eps`` becomes ``eps sqrt(1 - b2^t)`` (see :class:`~lottery_np.optim.Adam`).
    Only entries where ``mask`` is 1 are read or written: a pruned weight stays as it is, and ``m``
    and ``v`` there are returned unchanged, whatever ``grad`` holds.

    >>> w, m, v = adam_step(np.array([1.0, 0.0]), np.array([0.5, 9.0]), np.zeros(2), np.zeros(2), 1,
    ...                     np.array([1.0, 0.0]), learning_rate=0.1)
    >>> w.round(6), m, v
    (array([0.9, 0. ]), array([0.05, 0.  ]), array([0.00025, 0.     ]))
    """
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be the step number, an integer >= 1, got {t!r}")
    m, v = np.array(m, dtype=np.float64), np.array(v, dtype=np.float64)
    if t == 1 and (m.any() or v.any()):
        raise ValueError("m and v must be zero at t = 1, the first step")
    adam = Adam(learning_rate, beta1, beta2, epsilon, bias_correction)
    weights = np.array(weights, dtype=np.float64)  # a C-contiguous copy, stepped in place
    active = np.flatnonzero(np.asarray(mask).ravel())
    if t > 1:
        adam.load_full_state([{"m": m, "v": v}], t - 1, [active], [weights.size])
    adam.step([weights], [np.asarray(grad, dtype=np.float64).ravel()[active]], [active])
    moments = adam.full_state([active], [weights.size])[0]
    m.flat[active], v.flat[active] = moments["m"][active], moments["v"][active]
    return weights, m, v
