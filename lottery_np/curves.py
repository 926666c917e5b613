"""What a training run measured: its learning curve, and the paper's early-stopping measure read off it.

Frankle & Carbin (2019) measure how fast a network learns by its *early-stopping
iteration*: the training iteration at which the validation loss is lowest. The trainer
(:func:`lottery_np.training.train`) evaluates every ``eval_every`` iterations into a
:class:`LearningCurve`; :func:`summarise` reads the early-stopping point and the final
values off it into a :class:`TrainingResult`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .data import Dataset, as_dataset
from .engine import SampleBlocks
from .model import MLP, Parameters


@dataclass
class LearningCurve:
    """Evaluations taken during training, one entry per evaluation.

    Examples
    --------
    >>> curve = LearningCurve()
    >>> curve.iterations.append(0); curve.val_accuracy.append(0.5)
    >>> curve.to_dict()["val_accuracy"]
    [0.5]
    """

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

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> data = Dataset(X[:30], y[:30], X[30:], y[30:])  # no test split: test accuracies are nan
    >>> config = TrainingConfig(iterations=40, batch_size=10, eval_every=20, learning_rate=0.01)
    >>> result = train(MLP((4, 8, 2), seed=0), data, config)
    >>> result.curve.iterations, result.iterations
    ([0, 20, 40], 40)
    >>> result.early_stop_iteration in result.curve.iterations, bool(np.isnan(result.final_test_accuracy))
    (True, True)
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

    Examples
    --------
    >>> first_iteration_reaching([0, 100, 200], [0.1, 0.9, 0.95], 0.9)
    100
    >>> first_iteration_reaching([0, 100, 200], [0.1, 0.9, 0.95], 0.99) is None
    True
    """
    for iteration, accuracy in zip(iterations, val_accuracy):
        if accuracy >= target:
            return iteration
    return None


def evaluate_once(model: MLP, data) -> TrainingResult:
    """A :class:`TrainingResult` with a single evaluation and no training (for an already trained model).

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> data = Dataset(X[:30], y[:30], X[30:], y[30:])  # no test split: test accuracies are nan
    >>> config = TrainingConfig(iterations=40, batch_size=10, eval_every=20, learning_rate=0.01)
    >>> result = evaluate_once(MLP((4, 8, 2), seed=0), data)
    >>> result.curve.iterations, result.early_stop_iteration, result.iterations
    ([0], 0, 0)
    """
    start = time.perf_counter()
    curve = LearningCurve()
    record_evaluation(curve, model, evaluation_sets(as_dataset(data)), 0, math.nan)
    return summarise(curve, 0, time.perf_counter() - start, {})


def evaluation_sets(data: Dataset) -> tuple:
    """``(X_val, y_val, X_test, y_test)`` with each ``X`` wrapped once in :class:`~lottery_np.engine.kernels.SampleBlocks`.

    Training evaluates the same sets hundreds of times; a sparse network lays
    them out for its kernel once, here, rather than at every evaluation.
    ``X_test`` and ``y_test`` are None without a test set.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> data = Dataset(X[:30], y[:30], X[30:], y[30:])  # no test split: test accuracies are nan
    >>> config = TrainingConfig(iterations=40, batch_size=10, eval_every=20, learning_rate=0.01)
    >>> X_val, y_val, X_test, y_test = evaluation_sets(data)
    >>> type(X_val).__name__, len(y_val), X_test is None
    ('SampleBlocks', 10, True)
    """
    test = None if data.X_test is None else SampleBlocks(data.X_test)
    return SampleBlocks(data.X_val), data.y_val, test, data.y_test


def record_evaluation(curve: LearningCurve, model: MLP, evaluation_sets: tuple, iteration: int,
                       train_loss: float) -> None:
    """Append validation loss/accuracy and test accuracy at ``iteration`` to ``curve``.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> data = Dataset(X[:30], y[:30], X[30:], y[30:])  # no test split: test accuracies are nan
    >>> config = TrainingConfig(iterations=40, batch_size=10, eval_every=20, learning_rate=0.01)
    >>> curve = LearningCurve()
    >>> record_evaluation(curve, MLP((4, 8, 2), seed=0), evaluation_sets(data), 0, float("nan"))
    >>> curve.iterations, len(curve.val_loss), curve.test_accuracy
    ([0], 1, [nan])
    """
    X_val, y_val, X_test, y_test = evaluation_sets
    val_loss, val_acc = model.evaluate(X_val, y_val)
    curve.iterations.append(iteration)
    curve.train_loss.append(train_loss)
    curve.val_loss.append(val_loss)
    curve.val_accuracy.append(val_acc)
    curve.test_accuracy.append(math.nan if X_test is None else model.accuracy(X_test, y_test))


def summarise(curve: LearningCurve, iterations: int, wall_time: float, snapshots: dict) -> TrainingResult:
    """Read the early-stopping point (minimum validation loss) and the final values off ``curve``.

    Examples
    --------
    >>> curve = LearningCurve([0, 10, 20], [2.3, 0.9, 0.7], [2.3, 0.8, 0.85], [0.1, 0.8, 0.82], [0.1, 0.79, 0.8])
    >>> result = summarise(curve, 20, wall_time=1.5, snapshots={})
    >>> result.early_stop_iteration, result.early_stop_test_accuracy, result.final_test_accuracy  # lowest val_loss at 10
    (10, 0.79, 0.8)
    """
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
