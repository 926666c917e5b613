"""Mini-batch training with learning curves and the paper's early-stopping measure.

Frankle & Carbin (2019) measure how fast a network learns by its *early-stopping
iteration*: the training iteration at which the validation loss is lowest. The
trainer evaluates every ``eval_every`` iterations, records the curve, and reports
that iteration along with the accuracy there. It can also keep snapshots of the
weights at chosen iterations, which late rewinding needs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .model import MLP, Parameters
from .optim import Optimizer, make_optimizer
from .step import training_step


@dataclass(frozen=True)
class TrainingConfig:
    """How to train one network.

    Parameters
    ----------
    iterations : int, optional
        Number of mini-batch updates. Give exactly one of ``iterations`` and ``epochs``.
    epochs : float, optional
        Passes over the training set; converted to iterations with full batches only.
    batch_size : int
        Samples per update (the paper: 60 for LeNet-300-100).
    optimizer : {"adam", "sgd"}
    learning_rate : float
        The paper: Adam at 1.2e-3 for LeNet-300-100.
    momentum : float
        Only used by ``"sgd"``.
    eval_every : int
        Iterations between evaluations on the validation (and test) set.
    """

    iterations: Optional[int] = None
    epochs: Optional[float] = None
    batch_size: int = 60
    optimizer: str = "adam"
    learning_rate: float = 1.2e-3
    momentum: float = 0.9
    eval_every: int = 100

    def __post_init__(self):
        if (self.iterations is None) == (self.epochs is None):
            raise ValueError(
                f"give exactly one of iterations and epochs, got iterations={self.iterations!r}, epochs={self.epochs!r}"
            )
        if self.iterations is not None and not (isinstance(self.iterations, (int, np.integer)) and self.iterations >= 1):
            raise ValueError(f"iterations must be a positive integer, got {self.iterations!r}")
        if self.epochs is not None and not (isinstance(self.epochs, (int, float)) and self.epochs > 0):
            raise ValueError(f"epochs must be positive, got {self.epochs!r}")
        for name in ("batch_size", "eval_every"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        make_optimizer(self.optimizer, self.learning_rate, **self._optimizer_options())  # validates

    def _optimizer_options(self) -> dict:
        return {"momentum": self.momentum} if self.optimizer == "sgd" else {}

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer with this configuration."""
        return make_optimizer(self.optimizer, self.learning_rate, **self._optimizer_options())

    def total_iterations(self, n_train: int) -> int:
        """Number of updates for a training set of ``n_train`` samples."""
        if self.batch_size > n_train:
            raise ValueError(f"batch_size ({self.batch_size}) exceeds the {n_train} training samples")
        if self.iterations is not None:
            return int(self.iterations)
        return max(1, int(round(self.epochs * (n_train // self.batch_size))))


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


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite."""


def check_split(name: str, X, y, layer_sizes: Sequence[int]) -> None:
    """Raise ``ValueError`` naming split ``name`` unless ``(X, y)`` fits a network of ``layer_sizes``.

    ``X`` must have shape ``(n, layer_sizes[0])``, ``y`` shape ``(n,)`` with labels in ``[0, layer_sizes[-1])``.
    """
    X, y = np.asarray(X), np.asarray(y)
    n_features, n_classes = layer_sizes[0], layer_sizes[-1]
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"{name}: X must have shape (n_samples, {n_features}), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"{name}: y must have shape ({len(X)},), got {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}), got {y.min()}..{y.max()}")


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
        Anything with ``X_train, y_train, X_val, y_val`` and optionally
        ``X_test, y_test`` (``None`` to skip the test set).
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
        Show a progress bar.

    Raises
    ------
    TrainingDivergedError
        If the training loss becomes NaN or infinite.
    """
    X_train, y_train = np.asarray(data.X_train), np.asarray(data.y_train)
    check_split("training set", X_train, y_train, model.layer_sizes)
    check_split("validation set", data.X_val, data.y_val, model.layer_sizes)
    if _has_test(data):
        check_split("test set", data.X_test, data.y_test, model.layer_sizes)
    total = config.total_iterations(len(X_train))
    if not 0 <= start_iteration < total:
        raise ValueError(f"start_iteration must lie in [0, {total}), got {start_iteration}")
    snapshot_at = set(int(k) for k in snapshot_at)
    if any(k < start_iteration or k > total for k in snapshot_at):
        raise ValueError(f"snapshot_at must lie in [{start_iteration}, {total}], got {sorted(snapshot_at)}")
    optimizer = optimizer or config.make_optimizer()
    rng = np.random.default_rng(seed)
    curve, snapshots = LearningCurve(), {}
    batches_per_epoch = len(X_train) // config.batch_size
    start = time.perf_counter()
    running_loss = []

    def evaluate(iteration: int) -> None:
        _record_evaluation(curve, model, data, iteration, float(np.mean(running_loss)) if running_loss else math.nan)
        running_loss.clear()

    if start_iteration in snapshot_at:
        snapshots[start_iteration] = model.get_parameters()
    evaluate(start_iteration)
    step = training_step(model, optimizer)
    bar = tqdm(total=total - start_iteration, desc=description, disable=not progress, leave=False, unit="it")
    order = None
    try:
        for iteration in range(start_iteration + 1, total + 1):
            position = (iteration - 1) % batches_per_epoch
            if position == 0 or order is None:
                order = rng.permutation(len(X_train))
            batch = order[position * config.batch_size : (position + 1) * config.batch_size]
            loss = step(X_train[batch], y_train[batch])
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"the training loss became {loss} at iteration {iteration}; "
                    f"try a smaller learning_rate (now {config.learning_rate})"
                )
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
    _record_evaluation(curve, model, data, 0, math.nan)
    return _summarise(curve, 0, time.perf_counter() - start, {})


def _has_test(data) -> bool:
    return getattr(data, "X_test", None) is not None


def _record_evaluation(curve: LearningCurve, model: MLP, data, iteration: int, train_loss: float) -> None:
    """Append validation loss/accuracy and test accuracy at ``iteration`` to ``curve``."""
    val_loss, val_acc = model.evaluate(data.X_val, data.y_val)
    curve.iterations.append(iteration)
    curve.train_loss.append(train_loss)
    curve.val_loss.append(val_loss)
    curve.val_accuracy.append(val_acc)
    curve.test_accuracy.append(model.accuracy(data.X_test, data.y_test) if _has_test(data) else math.nan)


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
