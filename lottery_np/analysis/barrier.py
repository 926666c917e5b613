"""Linear mode connectivity: the error along the straight line between two networks, and its barrier.

Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the Lottery Ticket
Hypothesis" (ICML 2020, arXiv 1912.05671), Section 2. Write ``E(W)`` for the error of
the network with parameters ``W`` (weights and biases). The straight line between two
networks ``W1`` and ``W2`` is

.. math::  W(a) = (1 - a) W_1 + a W_2, \\qquad a \\in [0, 1],

and its **error barrier** is how far the error along it rises above its two ends:

.. math::  B(W_1, W_2) = \\max_a E(W(a)) - \\tfrac12 \\left(E(W_1) + E(W_2)\\right).

The paper evaluates ``a`` at :data:`PATH_POINTS` evenly spaced values, the ends included.
A barrier near 0 means the two networks sit in one linearly connected region of low
error (*linear mode connectivity*); a barrier near the error of chance means the line
passes through networks that classify no better than guessing.

Masks: two networks with the same masks have exact zeros at the same places, and so
has every point of the line between them. Two networks with different masks (two
rounds of pruning, say) are joined in the union of their masks: a weight pruned in one
network is 0 at that end of the line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .. import validation
from ..model import MLP, Parameters

PATH_POINTS = 30
"""Evenly spaced points of ``a`` in [0, 1], the ends included (Frankle et al., 2020, Section 2)."""


def path_alphas(points: int = PATH_POINTS) -> np.ndarray:
    """The ``points`` evenly spaced values of ``a`` in [0, 1], 0 and 1 included.

    Examples
    --------
    >>> path_alphas(5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return np.linspace(0.0, 1.0, validation.integer("points", points, minimum=2))


def interpolate(first: Parameters, second: Parameters, alpha: float) -> Parameters:
    """The point ``(1 - alpha) * first + alpha * second``, weights and biases alike, in their own dtype.

    Exact at the ends: ``alpha = 0`` gives ``first``'s numbers and ``alpha = 1`` gives ``second``'s,
    and an entry equal in both (0.0 where both are pruned) keeps that value all along the line, so
    the line between a network and its copy is that network at every point.

    Examples
    --------
    >>> one = Parameters([np.ones((1, 2), np.float32)], [np.zeros(2, np.float32)])
    >>> three = Parameters([np.full((1, 2), 3, np.float32)], [np.ones(2, np.float32)])
    >>> interpolate(one, three, 0.5).weights[0].tolist(), interpolate(one, three, 0.5).biases[0].tolist()
    ([[2.0, 2.0]], [0.5, 0.5])
    """
    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.shape != b.shape:
            raise ValueError(f"the two networks differ in shape: {a.shape} and {b.shape}")
        line = (a.dtype.type(1.0 - alpha) * a + a.dtype.type(alpha) * b).astype(a.dtype)
        return np.where(a == b, a, line)  # where the ends agree, every point is that number, not a rounding of it

    if len(first.weights) != len(second.weights):
        raise ValueError(f"the two networks differ in depth: {len(first.weights)} and {len(second.weights)} layers")
    return Parameters([mix(a, b) for a, b in zip(first.weights, second.weights)],
                      [mix(a, b) for a, b in zip(first.biases, second.biases)])


def error_barrier(errors) -> float:
    """The largest error along a path minus the mean of its two ends' errors.

    ``errors`` are the errors at evenly spaced points of the path, its ends first and last.

    Examples
    --------
    >>> error_barrier([0.02, 0.5, 0.04])
    0.47
    >>> error_barrier([0.03, 0.01, 0.03])  # the path dips between its ends: no barrier
    0.0
    >>> error_barrier([0.02, 0.03, 0.04])  # ends of unequal error: half their difference at least
    0.01
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 1 or len(errors) < 2 or not np.isfinite(errors).all():
        raise ValueError(f"errors must be the finite errors of at least 2 points of a path, got {errors!r}")
    return round(float(errors.max() - (errors[0] + errors[-1]) / 2), 12)  # >= 0: the ends lie on the path


@dataclass(frozen=True)
class LinearPath:
    """The loss and error at each point ``alphas`` of the line between two networks, on named sets of data.

    Attributes
    ----------
    alphas : ndarray
        Where the line was evaluated, 0 and 1 included.
    errors, losses : dict of str to ndarray
        Per set (``"test"``, ``"train"``): the error (1 - accuracy) and the mean cross-entropy at each alpha.
    """

    alphas: np.ndarray
    errors: Mapping[str, np.ndarray]
    losses: Mapping[str, np.ndarray]

    def barrier(self, split: str = "test") -> float:
        """The error barrier on set ``split`` (:func:`error_barrier`)."""
        return error_barrier(self.errors[split])

    def to_dict(self) -> dict:
        """Plain lists, for JSON."""
        return {"alphas": self.alphas.tolist(), "errors": {k: v.tolist() for k, v in self.errors.items()},
                "losses": {k: v.tolist() for k, v in self.losses.items()}}


def linear_path(first: MLP, second: MLP, sets: Mapping[str, tuple], points: int = PATH_POINTS) -> LinearPath:
    """Evaluate the line between ``first`` and ``second`` at :func:`path_alphas` on every set of ``sets``.

    Parameters
    ----------
    first, second : MLP
        Networks of the same layer sizes; the line is drawn in the union of their masks.
    sets : mapping of str to (X, y)
        The data to measure the error on, by name, e.g. ``{"test": (X_test, y_test)}``.
    points : int
        Evenly spaced values of ``a``, the ends included.

    Examples
    --------
    >>> X, y = np.eye(4, dtype=np.float32), np.array([0, 1, 0, 1])
    >>> net = MLP((4, 3, 2), seed=0)
    >>> path = linear_path(net, net.copy(), {"toy": (X, y)}, points=3)
    >>> path.barrier("toy")  # a network and its copy: every point of the line is that network
    0.0
    """
    if tuple(first.layer_sizes) != tuple(second.layer_sizes):
        raise ValueError(f"the two networks differ in layer sizes: {first.layer_sizes} and {second.layer_sizes}")
    alphas = path_alphas(points)
    walker = MLP(first.layer_sizes, dtype=first.dtype)
    walker.set_masks([np.maximum(a, b) for a, b in zip(first.masks, second.masks)])
    start, end = first.get_parameters(), second.get_parameters()
    errors = {name: np.empty(len(alphas)) for name in sets}
    losses = {name: np.empty(len(alphas)) for name in sets}
    for i, alpha in enumerate(alphas):
        walker.set_parameters(interpolate(start, end, alpha))
        for name, (X, y) in sets.items():
            losses[name][i], accuracy = walker.evaluate(X, y)
            errors[name][i] = 1.0 - accuracy
    return LinearPath(alphas, errors, losses)
