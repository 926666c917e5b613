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
  (:func:`check_divergence` states the rule), and a network that ends no better than
  always guessing the most common class is told apart by :func:`learned`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from . import validation
from .data import as_dataset
from .model import MLP, Parameters
from .optim import Adam, Optimizer, make_optimizer
from .step import training_step

DIVERGENCE_FACTOR = 10.0
"""A validation loss this many times above chance level (``log n_classes``) means the run diverged."""

CHANCE_Z = 3.0
"""A network *learned* if its accuracy is this many binomial standard deviations above the majority class."""


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
    adam_bias_correction : {"step_size", "moments"}
        Only used by ``"adam"``: which of Adam's two forms (see :class:`lottery_np.optim.Adam`);
        ``"step_size"`` is TensorFlow 1's, which the paper used.
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
    adam_bias_correction: str = "step_size"

    def __post_init__(self):
        validation.exactly_one_length(self.iterations, self.epochs)
        checked = {
            "iterations": validation.optional(validation.integer, "iterations", self.iterations, minimum=1),
            "epochs": validation.optional(validation.real, "epochs", self.epochs, minimum=0.0, low_open=True),
            "batch_size": validation.integer("batch_size", self.batch_size, minimum=1),
            "eval_every": validation.integer("eval_every", self.eval_every, minimum=1),
        }
        for name, value in checked.items():  # NumPy scalars become Python numbers
            object.__setattr__(self, name, value)
        object.__setattr__(self, "momentum", validation.real("momentum", self.momentum, 0.0, 1.0, high_open=True))
        validation.choice("adam_bias_correction", self.adam_bias_correction, Adam.FORMS)
        optimizer = self.make_optimizer()  # the optimizer validates its own hyperparameters
        object.__setattr__(self, "learning_rate", optimizer.learning_rate)

    def _optimizer_options(self) -> dict:
        if self.optimizer == "sgd":
            return {"momentum": self.momentum}
        return {"bias_correction": self.adam_bias_correction}

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer with this configuration."""
        return make_optimizer(self.optimizer, self.learning_rate, **self._optimizer_options())

    def total_iterations(self, n_train: int) -> int:
        """Number of updates for a training set of ``n_train`` samples."""
        validation.integer("batch_size", self.batch_size, maximum=n_train)  # at most the training samples
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
    """The loss became NaN or infinite, or grew far beyond chance level (see :func:`check_divergence`)."""


class DidNotLearnError(RuntimeError):
    """A network trained to no better than always guessing the most common class (see :func:`learned`)."""


def epoch_order(seed: int, epoch: int, n_samples: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n_samples`` training samples.

    A function of ``(seed, epoch)`` alone: the permutation comes from the ``epoch``-th
    child of ``SeedSequence(seed)`` (its ``spawn_key``), never from a generator shared
    across epochs, so training restarted at any iteration replays the original batches.
    """
    stream = np.random.SeedSequence(seed, spawn_key=(epoch,))
    return np.random.default_rng(stream).permutation(n_samples)


def check_divergence(loss: float, iteration: int, n_classes: int, what: str, advice: str) -> None:
    """Raise :class:`TrainingDivergedError` if ``loss`` is not finite or above ``DIVERGENCE_FACTOR * log(n_classes)``.

    ``log(n_classes)`` is the cross-entropy of a uniform guess, and any network that
    learns goes below it. A mean loss of ten times that puts a probability of at most
    ``n_classes**-10`` on the right class on average (``1e-10`` for 10 classes), which
    only logits of hundreds reach, from weights that have blown up. Overfitting raises
    a validation loss by far less: a network that errs confidently on 2 % of the samples
    needs losses of about 1,000 on each of them to get there. The rule is checked on
    mean losses over many samples (each evaluation's validation loss), where one
    unlucky sample cannot trip it, and on every batch loss for NaN and infinity.
    """
    ceiling = DIVERGENCE_FACTOR * math.log(max(n_classes, 2))
    if not math.isfinite(loss) or loss > ceiling:
        raise TrainingDivergedError(
            f"training diverged at iteration {iteration}: the {what} is {loss:.4g}"
            f"{'' if not math.isfinite(loss) else f' (chance level is {math.log(max(n_classes, 2)):.3g})'}; {advice}"
        )


def learned(accuracy: float, y: np.ndarray) -> bool:
    """Whether ``accuracy`` on labels ``y`` beats guessing their most common class, beyond chance.

    With ``p0`` the majority class's share of ``y`` and ``n = len(y)``, a network
    learned when its accuracy exceeds ``p0 + CHANCE_Z sqrt(p0 (1 - p0) / n)``: a
    predictor no better than the constant guess exceeds that with probability
    about 0.1 % (a one-sided three-sigma binomial test).
    """
    y = np.asarray(y)
    p0 = np.bincount(y).max() / len(y)
    return accuracy > p0 + CHANCE_Z * math.sqrt(p0 * (1 - p0) / len(y))


def check_start_iteration(start_iteration: int, total: int, name: str = "start_iteration") -> None:
    """The one home of "training restarts before its last iteration": ``0 <= start_iteration < total``.

    Raises
    ------
    SettingError
        Naming ``name`` (``rewind iteration`` for late rewinding).
    """
    validation.integer(name, start_iteration, minimum=0, maximum=total - 1)


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
        Show a progress bar.

    Raises
    ------
    TrainingDivergedError
        If a batch loss becomes NaN or infinite, or a validation loss exceeds
        :data:`DIVERGENCE_FACTOR` times chance level (:func:`check_divergence`).
    """
    data = as_dataset(data)
    X_train, y_train = data.X_train, data.y_train
    check_split("training set", X_train, y_train, model.layer_sizes)
    check_split("validation set", data.X_val, data.y_val, model.layer_sizes)
    if _has_test(data):
        check_split("test set", data.X_test, data.y_test, model.layer_sizes)
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

    def evaluate(iteration: int) -> None:
        _record_evaluation(curve, model, data, iteration, float(np.mean(running_loss)) if running_loss else math.nan)
        running_loss.clear()
        advice = (f"try a smaller learning_rate (now {config.learning_rate:g})" if iteration > start_iteration
                  else "no update was taken yet: check the network's starting weights")
        check_divergence(curve.val_loss[-1], iteration, model.layer_sizes[-1], "validation loss", advice)

    if start_iteration in snapshot_at:
        snapshots[start_iteration] = model.get_parameters()
    evaluate(start_iteration)
    step = training_step(model, optimizer)
    bar = tqdm(total=total - start_iteration, desc=description, disable=not progress, leave=False, unit="it")
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
