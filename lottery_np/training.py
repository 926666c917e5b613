"""Mini-batch training with learning curves and the paper's early-stopping measure.

Frankle & Carbin (2019) measure how fast a network learns by its *early-stopping
iteration*: the training iteration at which the validation loss is lowest. The
trainer evaluates every ``eval_every`` iterations, records the curve, and reports
that iteration along with the accuracy there. It can also keep snapshots of the
weights at chosen iterations, which late rewinding needs.

Two guarantees a researcher relies on:

* **Exact replay.** Epoch ``e`` visits the training samples in an order drawn from
  ``(seed, e)`` alone (:func:`epoch_order`), so a run restarted at iteration ``k``
  from a snapshot sees exactly the batches the original run saw after ``k``.
* **Failure is loud.** A run whose loss blows up raises :class:`TrainingDivergedError`
  (:mod:`lottery_np.failure` states the rule).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from . import validation
from .config import TrainingConfig
from .data import Dataset, as_dataset
from .engine import SampleBlocks, threads, training_step
from .failure import TrainingDivergedError, check_divergence  # noqa: F401 - TrainingDivergedError lived here
from .model import MLP, Parameters
from .optim import Optimizer
from .progress import progress_bar


@dataclass
class LearningCurve:
    """Evaluations taken during training, one entry per evaluation."""

    iterations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain lists, ready for JSON."""
        return {name: list(values) for name, values in self.__dict__.items()}


@dataclass
class TrainingResult:
    """What one training run measured.

    ``early_stop_*`` are read at the evaluation with the lowest validation loss.
    Test accuracies are ``nan`` when no test set was given.
    """

    curve: LearningCurve
    iterations: int
    early_stop_iteration: int
    early_stop_val_accuracy: float
    early_stop_test_accuracy: float
    final_val_accuracy: float
    final_test_accuracy: float
    wall_time: float
    snapshots: dict[int, Parameters] = field(default_factory=dict)

    def iterations_to_reach(self, val_accuracy: float) -> Optional[int]:
        """First evaluated iteration whose validation accuracy is at least ``val_accuracy`` (None if never)."""
        return first_iteration_reaching(self.curve.iterations, self.curve.val_accuracy, val_accuracy)


def first_iteration_reaching(iterations: Sequence[int], val_accuracy: Sequence[float], target: float) -> Optional[int]:
    """The first of ``iterations`` whose ``val_accuracy`` is at least ``target`` (None if never).

    A learning-speed measure besides the early-stopping iteration: how long a network
    takes to reach, say, the dense network's best validation accuracy.
    """
    for iteration, accuracy in zip(iterations, val_accuracy):
        if accuracy >= target:
            return iteration
    return None


def epoch_order(seed: int, epoch: int, n_samples: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n_samples`` training samples.

    A function of ``(seed, epoch)`` alone: the permutation comes from the ``epoch``-th
    child of ``SeedSequence(seed)`` (its ``spawn_key``), never from a generator shared
    across epochs, so training restarted at any iteration replays the original batches.
    """
    stream = np.random.SeedSequence(seed, spawn_key=(epoch,))
    return np.random.default_rng(stream).permutation(n_samples)


def check_start_iteration(start_iteration: int, total: int, name: str = "start_iteration") -> None:
    """The one home of "training restarts before its last iteration": ``0 <= start_iteration < total``.

    Raises
    ------
    SettingError
        Naming ``name`` (``rewind iteration`` for late rewinding).
    """
    validation.integer(name, start_iteration, minimum=0, maximum=total - 1)


def check_fits(model: MLP, data: Dataset) -> None:
    """Raise ``ValueError`` naming the split unless every split of ``data`` fits ``model`` (:meth:`MLP.check_inputs`)."""
    for split, name in (("train", "training set"), ("val", "validation set"), ("test", "test set")):
        X = getattr(data, f"X_{split}")
        if X is not None:
            try:
                model.check_inputs(X, getattr(data, f"y_{split}"))
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None


def train(
    model: MLP,
    data,
    config: TrainingConfig,
    *,
    seed: int = 0,
    snapshot_at: Sequence[int] = (),
    optimizer: Optional[Optimizer] = None,
    start_iteration: int = 0,
    progress: bool = False,
    description: str = "training",
) -> TrainingResult:
    """Train ``model`` in place with mini-batches and record its learning curve.

    Parameters
    ----------
    model : MLP
        Trained in place; its masks are respected throughout.
    data : Dataset
        Or anything :func:`lottery_np.data.as_dataset` takes: an object with
        ``X_train, y_train, X_val, y_val`` and optionally ``X_test, y_test``
        (``None`` to skip the test set), or a pair ``(X, y)``.
    config : TrainingConfig
    seed : int
        Seeds the shuffling; the same seed gives bit-identical results.
    snapshot_at : sequence of int
        Iterations (0 = before the first update) at which to keep a copy of the weights.
    optimizer : Optimizer, optional
        Defaults to ``config.make_optimizer()``.
    start_iteration : int
        Resume the schedule here (late rewinding): only the remaining
        ``total - start_iteration`` updates run, and the curve is numbered from here.
    progress : bool
        Show a progress bar over the iterations (on a terminal only: a log gets no line per iteration).

    Raises
    ------
    TrainingDivergedError
        If a batch loss becomes NaN or infinite, or a validation loss exceeds
        :data:`DIVERGENCE_FACTOR` times chance level (:func:`check_divergence`).
    """
    data = as_dataset(data)
    X_train, y_train = data.X_train, data.y_train
    check_fits(model, data)
    total = config.total_iterations(len(X_train))
    check_start_iteration(start_iteration, total)
    seed = validation.integer("seed", seed, minimum=0)
    snapshot_at = set(int(k) for k in snapshot_at)
    if any(k < start_iteration or k > total for k in snapshot_at):
        raise ValueError(f"snapshot_at must lie in [{start_iteration}, {total}], got {sorted(snapshot_at)}")
    optimizer = optimizer or config.make_optimizer()
    curve, snapshots = LearningCurve(), {}
    batches_per_epoch = len(X_train) // config.batch_size
    start = time.perf_counter()
    running_loss = []

    evaluation_sets = _evaluation_sets(data)

    def evaluate(iteration: int) -> None:
        _record_evaluation(curve, model, evaluation_sets, iteration,
                           float(np.mean(running_loss)) if running_loss else math.nan)
        running_loss.clear()
        advice = (f"try a smaller learning_rate (now {config.learning_rate:g})" if iteration > start_iteration
                  else "no update was taken yet: check the network's starting weights")
        check_divergence(curve.val_loss[-1], iteration, model.layer_sizes[-1], "validation loss", advice)

    with threads.limited():  # lottery_np.engine.threads: how many, and why
        if start_iteration in snapshot_at:
            snapshots[start_iteration] = model.get_parameters()
        evaluate(start_iteration)
        step = training_step(model, optimizer)
        bar = progress_bar(total - start_iteration, description, progress, log_updates=False, leave=False)
        epoch, order = None, None
        try:
            for iteration in range(start_iteration + 1, total + 1):
                position = (iteration - 1) % batches_per_epoch  # iteration i is batch i - 1 of the whole run
                if epoch != (iteration - 1) // batches_per_epoch:
                    epoch = (iteration - 1) // batches_per_epoch
                    order = epoch_order(seed, epoch, len(X_train))
                batch = order[position * config.batch_size : (position + 1) * config.batch_size]
                loss = step(X_train[batch], y_train[batch])
                if not math.isfinite(loss):
                    check_divergence(loss, iteration, model.layer_sizes[-1], "training loss",
                                     f"try a smaller learning_rate (now {config.learning_rate:g})")
                running_loss.append(loss)
                if iteration in snapshot_at:
                    step.sync()
                    snapshots[iteration] = model.get_parameters()
                if iteration % config.eval_every == 0 or iteration == total:
                    step.sync()
                    evaluate(iteration)
                    bar.set_postfix(val_acc=f"{curve.val_accuracy[-1]:.4f}")
                bar.update(1)
        finally:
            step.sync()  # also when interrupted: the model holds every update taken
            bar.close()

    return _summarise(curve, total, time.perf_counter() - start, snapshots)


def evaluate_once(model: MLP, data) -> TrainingResult:
    """A :class:`TrainingResult` with a single evaluation and no training (for an already trained model)."""
    start = time.perf_counter()
    curve = LearningCurve()
    _record_evaluation(curve, model, _evaluation_sets(as_dataset(data)), 0, math.nan)
    return _summarise(curve, 0, time.perf_counter() - start, {})


def _evaluation_sets(data: Dataset) -> tuple:
    """``(X_val, y_val, X_test, y_test)`` with each ``X`` wrapped once in :class:`~lottery_np.engine.kernels.SampleBlocks`.

    Training evaluates the same sets hundreds of times; a sparse network lays
    them out for its kernel once, here, rather than at every evaluation.
    ``X_test`` and ``y_test`` are None without a test set.
    """
    test = None if data.X_test is None else SampleBlocks(data.X_test)
    return SampleBlocks(data.X_val), data.y_val, test, data.y_test


def _record_evaluation(curve: LearningCurve, model: MLP, evaluation_sets: tuple, iteration: int,
                       train_loss: float) -> None:
    """Append validation loss/accuracy and test accuracy at ``iteration`` to ``curve``."""
    X_val, y_val, X_test, y_test = evaluation_sets
    val_loss, val_acc = model.evaluate(X_val, y_val)
    curve.iterations.append(iteration)
    curve.train_loss.append(train_loss)
    curve.val_loss.append(val_loss)
    curve.val_accuracy.append(val_acc)
    curve.test_accuracy.append(math.nan if X_test is None else model.accuracy(X_test, y_test))


def _summarise(curve: LearningCurve, iterations: int, wall_time: float, snapshots: dict) -> TrainingResult:
    """Read the early-stopping point (minimum validation loss) and the final values off ``curve``."""
    best = int(np.argmin(curve.val_loss))
    return TrainingResult(
        curve=curve,
        iterations=iterations,
        early_stop_iteration=curve.iterations[best],
        early_stop_val_accuracy=curve.val_accuracy[best],
        early_stop_test_accuracy=curve.test_accuracy[best],
        final_val_accuracy=curve.val_accuracy[-1],
        final_test_accuracy=curve.test_accuracy[-1],
        wall_time=wall_time,
        snapshots=snapshots,
    )
