"""Checking a gradient by central differences, as a student does it (CS231n's ``gradient_check``).

The relative error of two arrays is, entry by entry,

    |a - b| / max(|a| + |b|, tiny)

and its largest value is the one number to read. In float64, with ``h = 1e-5``:

* about 1e-7 or below: the gradient is right;
* 1e-7 to 1e-4: suspicious (a ReLU kink within ``h`` of an input, or float32 arithmetic);
* about 1e-2 or more: the gradient is wrong.

The central difference ``(f(x + h) - f(x - h)) / 2h`` is off by ``O(h^2)`` (the first
neglected term is ``f''' h^2 / 6``), against ``O(h)`` for the one-sided one; rounding adds
about ``eps |f| / h``, which is why ``h`` is not made smaller still.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import validation


def relative_error(a, b, tiny: float = 1e-8) -> float:
    """The largest entrywise relative error ``|a - b| / max(|a| + |b|, tiny)``.

    ``tiny`` keeps entries where both are 0 (a pruned weight's gradient) from dividing by 0:
    there the error is the absolute difference over ``tiny``. In float64, about 1e-7 or below
    means the two agree; about 1e-2 or more, one of them is wrong.

    >>> relative_error(np.array([1.0, 0.0]), np.array([1.0 + 1e-9, 0.0]))  # doctest: +ELLIPSIS
    5.0...e-10
    >>> relative_error(np.array([1.0]), np.array([1.05])) > 1e-2
    True
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), tiny)))


def numerical_gradient(f: Callable[[np.ndarray], float], x, h: float = 1e-5) -> np.ndarray:
    """The gradient of the scalar function ``f`` at ``x`` by central differences, in float64.

    ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h``, one entry at a time: ``2 x.size``
    calls of ``f``. ``f`` receives a float64 copy of ``x`` with one entry moved, which it
    must not keep (the copy is moved back and reused).

    >>> numerical_gradient(lambda x: float((x ** 2).sum()), np.array([1.0, -2.0]))  # d/dx = 2x
    array([ 2., -4.])
    """
    h = validation.real("h", h, 0.0, low_open=True)
    point = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        saved = point[index]
        point[index] = saved + h
        above = float(f(point))
        point[index] = saved - h
        below = float(f(point))
        point[index] = saved
        gradient[index] = (above - below) / (2 * h)
    return gradient


@dataclass(frozen=True)
class GradientReport:
    """How far an analytic gradient is from central differences.

    Attributes
    ----------
    passed : bool
        ``relative_error <= tolerance``.
    relative_error : float
        The largest entrywise relative error.
    worst_index : tuple of int
        Where it is.
    analytic, numerical : ndarray
        The two gradients.
    feedback : str
        The verdict in words, with the magnitudes to expect.
    """

    passed: bool
    relative_error: float
    worst_index: tuple
    analytic: np.ndarray
    numerical: np.ndarray
    feedback: str


def _verdict(error: float, tolerance: float) -> str:
    if error <= tolerance:
        return f"right (float64 gives about 1e-7 or below; the tolerance is {tolerance:g})"
    if error < 1e-4:
        return ("suspicious: 1e-7 to 1e-4 comes from a ReLU kink within h of an input, float32 arithmetic, "
                "or a small mistake")
    return "wrong: a right float64 gradient is about 1e-7 or below, a wrong one about 1e-2 or more"


def check_gradient(f: Callable[[np.ndarray], float], x, analytic, h: float = 1e-5,
                   tolerance: float = 1e-7) -> GradientReport:
    """Compare ``analytic``, the gradient of ``f`` at ``x`` you derived, with :func:`numerical_gradient`.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, the function whose gradient is checked.
    x : array_like
        The point.
    analytic : array_like, shape of x
        Your gradient of ``f`` at ``x``.
    h : float
        The step of the central differences.
    tolerance : float
        The largest relative error that passes.

    Examples
    --------
    >>> W = np.array([[0.5, -1.0], [2.0, 0.3]]); M = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> X = np.array([[1.0, 2.0]])
    >>> f = lambda W: float((X @ (W * M)).sum())           # d f / d W = (X^T 1) * M
    >>> check_gradient(f, W, X.T @ np.ones((1, 2)) * M).passed
    True
    >>> report = check_gradient(f, W, X.T @ np.ones((1, 2)))  # the mask forgotten
    >>> report.passed, report.worst_index
    (False, (0, 1))
    """
    tolerance = validation.real("tolerance", tolerance, 0.0, low_open=True)
    point = np.asarray(x, dtype=np.float64)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != point.shape:
        raise ValueError(f"analytic must have the shape of x, {point.shape}, got {analytic.shape}")
    numerical = numerical_gradient(f, point, h)
    entries = np.abs(analytic - numerical) / np.maximum(np.abs(analytic) + np.abs(numerical), 1e-8)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(entries), entries.shape)) if entries.size else ()
    error = relative_error(analytic, numerical)
    feedback = (f"Relative error {error:.1e}, largest at {list(worst)} (analytic {analytic[worst]:.6g}, numerical "
                f"{numerical[worst]:.6g}): {_verdict(error, tolerance)}.") if entries.size else "No entries to check."
    return GradientReport(error <= tolerance, error, worst, analytic, numerical, feedback)
