"""Instability analysis: is the outcome of training a network stable to the noise of SGD?

Frankle, Dziugaite, Roy & Carbin (ICML 2020, arXiv 1912.05671), Section 2, Algorithm 1:
take a network ``N`` at its parameters ``W_k`` of iteration ``k`` of training, train two
copies from there to the end ``T`` of the schedule with different samples of SGD noise
``u1, u2`` (here: two data orders, which the replayable batches of
:func:`lottery_np.training.batches` make exact), and measure the error barrier of the
straight line between the two trained copies (:mod:`.barrier`):

.. math::  \\mathrm{instability}(N, k) = B\\left(A^{k \\to T}(W_k, u_1),\\; A^{k \\to T}(W_k, u_2)\\right)

``N`` is **stable** when its instability is about 0; the paper counts a barrier below
:data:`STABLE_BARRIER` (2 %) as stable. A sparse network is **matching** when, trained
alone, its test accuracy comes within :data:`MATCHING_TOLERANCE` of the dense network's.

The copies train exactly as :func:`lottery_np.train` trains, from ``W_k`` and with a fresh
optimizer, as the library's late rewinding restarts (:class:`lottery_np.pruning.RewindStrategy`).

Where these thresholds come from: the paper's text was not reachable from this project's
tools when this was written; the 2 % and 0.2 percentage points are those quoted from it in
the study notes found by ``find_string "linear interpolation instability"`` (Section 2 and
Section 4 of the paper). They are parameters: pass your own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .. import validation
from ..config import TrainingConfig
from ..data import as_dataset
from ..engine import SampleBlocks
from ..model import MLP
from ..training import check_start_iteration, train
from .barrier import PATH_POINTS, LinearPath, linear_path, path_alphas

STABLE_BARRIER = 0.02
"""A network is stable when its instability (a test-error barrier) is below this: 2 percentage points."""

MATCHING_TOLERANCE = 0.002
"""A subnetwork is matching when its test accuracy is at most this below the dense network's (0.2 points)."""

DATA_SEEDS = (1001, 1002)
"""The data orders of the two copies: two samples of SGD noise."""

TRAIN_EXAMPLES = 10_000
"""The path's training error is measured on the first this-many training examples (the test set: all of it)."""


@dataclass(frozen=True)
class InstabilityResult:
    """What one instability analysis measured.

    Attributes
    ----------
    start_iteration : int
        ``k``: the copies trained from the network's parameters of this iteration.
    data_seeds : (int, int)
        The copies' data orders.
    density : float
        Fraction of the network's weights left by its masks.
    path : LinearPath
        Error and loss along the line between the two trained copies, on ``"test"`` and ``"train"``.
    seconds : float
        Wall time of the analysis (both trainings and the path).
    """

    start_iteration: int
    data_seeds: tuple
    density: float
    path: LinearPath
    seconds: float

    @property
    def instability(self) -> float:
        """The test-error barrier between the two copies (the paper's measure)."""
        return self.path.barrier("test")

    @property
    def train_instability(self) -> float:
        """The same barrier on the training examples."""
        return self.path.barrier("train")

    @property
    def test_error(self) -> float:
        """The mean test error of the two trained copies (the path's ends)."""
        errors = self.path.errors["test"]
        return float((errors[0] + errors[-1]) / 2)

    def stable(self, threshold: float = STABLE_BARRIER) -> bool:
        """Whether the instability is below ``threshold``."""
        return self.instability < threshold

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {"start_iteration": self.start_iteration, "data_seeds": list(self.data_seeds),
                "density": self.density, "instability": self.instability,
                "train_instability": self.train_instability, "test_error": self.test_error,
                "path": self.path.to_dict(), "seconds": self.seconds}


def check_data_seeds(data_seeds) -> tuple:
    """``data_seeds`` as a pair of seeds >= 0, the copies' two data orders (equal ones are allowed).

    Raises
    ------
    SettingError
        Naming ``data_seeds`` unless it is a pair, or ``data_seeds[i]`` for a bad seed.
    """
    if not isinstance(data_seeds, (tuple, list)) or len(data_seeds) != 2:
        raise validation.SettingError("data_seeds", "two data-order seeds", data_seeds)
    return tuple(validation.integer(f"data_seeds[{i}]", s, minimum=0) for i, s in enumerate(data_seeds))


def matching(test_error: float, dense_test_error: float, tolerance: float = MATCHING_TOLERANCE) -> bool:
    """Whether a subnetwork's test error is at most ``tolerance`` above the dense network's.

    Examples
    --------
    >>> matching(0.021, 0.020), matching(0.023, 0.020)
    (True, False)
    """
    return test_error <= dense_test_error + tolerance + 1e-12


def rewind_point(model: MLP, data, config: TrainingConfig, iteration: int, seed: int) -> MLP:
    """A copy of ``model`` after the first ``iteration`` updates of its training under ``config`` and data order ``seed``.

    ``iteration = 0`` returns an untouched copy. The updates are exactly the first ``iteration``
    of :func:`lottery_np.train`'s whole run with the same seed: a batch depends on its iteration
    and the seed, not on the run's length.

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> data = load_digits()
    >>> config = TrainingConfig(iterations=20, eval_every=10)
    >>> early = rewind_point(MLP((64, 20, 10), seed=0), data, config, 5, seed=0)
    >>> whole = train(MLP((64, 20, 10), seed=0), data, config, seed=0, snapshot_at=[5])
    >>> all((w == s).all() for w, s in zip(early.weights, whole.snapshots[5].weights))
    True
    """
    data = as_dataset(data)
    total = config.total_iterations(len(data.X_train))
    check_start_iteration(iteration, total, "rewind iteration")
    network = model.copy()
    if iteration:
        train(network, data, replace(config, iterations=iteration, epochs=None, eval_every=iteration), seed=seed)
    return network


def instability_analysis(model: MLP, data, config: TrainingConfig, *, start_iteration: int = 0,
                         data_seeds: tuple = DATA_SEEDS, points: int = PATH_POINTS,
                         train_examples: int = TRAIN_EXAMPLES, progress: bool = False) -> InstabilityResult:
    """Train two copies of ``model`` with different data orders and measure the barrier between them.

    Parameters
    ----------
    model : MLP
        The network at iteration ``start_iteration`` of its training (:func:`rewind_point`),
        masks and all; it is not changed.
    data : Dataset
        Or anything :func:`lottery_np.data.as_dataset` takes; it needs a test set.
    config : TrainingConfig
        The whole schedule: the copies train its iterations ``start_iteration + 1`` to the end.
    start_iteration : int
        ``k`` of the paper: where in the schedule ``model`` stands.
    data_seeds : (int, int)
        The two data orders; equal seeds train identical copies, whose instability is exactly 0.
    points : int
        Evenly spaced points of the path, its ends included.
    train_examples : int
        The path's training error is measured on this many training examples.
    progress : bool
        Progress bars over each copy's training.

    Returns
    -------
    InstabilityResult

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> result = instability_analysis(MLP((64, 20, 10), seed=0), load_digits(),
    ...                               TrainingConfig(iterations=30, eval_every=30), data_seeds=(5, 5), points=3)
    >>> result.instability, result.stable()
    (0.0, True)
    """
    start = time.perf_counter()
    data = as_dataset(data)
    if data.X_test is None:
        raise ValueError("instability analysis measures the test error: the data need a test set")
    check_start_iteration(start_iteration, config.total_iterations(len(data.X_train)), "start_iteration")
    seeds = check_data_seeds(data_seeds)
    n_train = validation.integer("train_examples", train_examples, minimum=1)
    path_alphas(points)  # checked before hours of training, not after
    copies = []
    for i, seed in enumerate(seeds):
        copy = model.copy()
        train(copy, data, config, seed=seed, start_iteration=start_iteration, progress=progress,
              description=f"copy {i + 1} of 2")
        copies.append(copy)
    sets = {"test": (SampleBlocks(data.X_test), data.y_test),
            "train": (SampleBlocks(data.X_train[:n_train]), data.y_train[:n_train])}
    path = linear_path(copies[0], copies[1], sets, points)
    return InstabilityResult(int(start_iteration), seeds, model.density, path, time.perf_counter() - start)


def dense_at(layer_sizes, seed: int, data, config: TrainingConfig, iteration: int,
             masks: Optional[list] = None) -> MLP:
    """The network the grid analyses: ``MLP(layer_sizes, seed)`` trained dense for ``iteration`` updates, then masked.

    This is the paper's subnetwork ``m ⊙ W_k`` (Section 4, Algorithm 2): the dense network's
    parameters at iteration ``k``, with the mask ``m`` applied; without ``masks``, the dense network.
    """
    network = rewind_point(MLP(layer_sizes, seed=seed), data, config, iteration, seed)
    if masks is not None:
        network.set_masks([np.asarray(m, dtype=np.float32) for m in masks])
    return network
