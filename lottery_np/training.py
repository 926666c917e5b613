"""Mini-batch training: batches in a replayable order, a step on each, an evaluation every ``eval_every``.

The trainer records the learning curve and reports the paper's early-stopping
iteration along with the accuracy there (:mod:`lottery_np.curves`). It can also keep
snapshots of the weights at chosen iterations, which late rewinding needs.

Two guarantees a researcher relies on:

* **Exact replay.** Epoch ``e`` visits the training samples in an order drawn from
  ``(seed, e)`` alone (:func:`epoch_order`), so a run restarted at iteration ``k``
  from a snapshot sees exactly the batches the original run saw after ``k``.
* **Failure is loud.** A run whose loss blows up raises :class:`TrainingDivergedError`
  (:mod:`lottery_np.failure` states the rule).
"""
from __future__ import annotations

import copy
import math
import time
from typing import Iterator, Optional, Sequence

import numpy as np

from . import validation
from .config import TrainingConfig
from .curves import LearningCurve, TrainingResult, evaluation_sets, record_evaluation, summarise
from .data import Dataset, as_dataset
from .engine import TrainingStep, threads, training_step
from .failure import TrainingDivergedError, check_divergence  # noqa: F401 - TrainingDivergedError lived here
from .model import MLP
from .optim import Optimizer
from .progress import progress_bar
from .training_state import TrainingCheckpoint, TrainingState


def epoch_order(seed: int, epoch: int, n_samples: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n_samples`` training samples.

    A function of ``(seed, epoch)`` alone: the permutation comes from the ``epoch``-th
    child of ``SeedSequence(seed)`` (its ``spawn_key``), never from a generator shared
    across epochs, so training restarted at any iteration replays the original batches.

    Examples
    --------
    >>> epoch_order(seed=0, epoch=1, n_samples=5)  # the same on every machine, whatever ran before
    array([4, 3, 2, 0, 1])
    """
    stream = np.random.SeedSequence(seed, spawn_key=(epoch,))
    return np.random.default_rng(stream).permutation(n_samples)


def batches(seed: int, n_samples: int, batch_size: int, start_iteration: int,
            total: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(iteration, sample indices)`` for iterations ``start_iteration + 1 .. total``.

    Iteration ``i`` takes batch ``i - 1`` of the whole run: position ``(i - 1) % per_epoch``
    of epoch ``(i - 1) // per_epoch`` in :func:`epoch_order`, ``per_epoch = n_samples // batch_size``
    (the samples left over at an epoch's end are skipped). So the batches after any
    iteration are the same whether a run started there or went through it.

    Examples
    --------
    >>> [(i, b.tolist()) for i, b in batches(seed=0, n_samples=4, batch_size=2, start_iteration=1, total=3)]
    [(2, [3, 2]), (3, [2, 0])]
    """
    per_epoch = n_samples // batch_size
    order, order_epoch = None, None
    for iteration in range(start_iteration + 1, total + 1):
        epoch, position = divmod(iteration - 1, per_epoch)
        if epoch != order_epoch:
            order, order_epoch = epoch_order(seed, epoch, n_samples), epoch
        yield iteration, order[position * batch_size:(position + 1) * batch_size]


def check_start_iteration(start_iteration: int, total: int, name: str = "start_iteration") -> None:
    """The one home of "training restarts before its last iteration": ``0 <= start_iteration < total``.

    Raises
    ------
    SettingError
        Naming ``name`` (``rewind iteration`` for late rewinding).

    Examples
    --------
    >>> check_start_iteration(10, 100)  # fine: returns None
    >>> check_start_iteration(100, 100, "rewind_iteration")
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: rewind_iteration must be an integer in [0, 99], got 100
    """
    validation.integer(name, start_iteration, minimum=0, maximum=total - 1)


def check_fits(model: MLP, data: Dataset) -> None:
    """Raise ``ValueError`` naming the split unless every split of ``data`` fits ``model``.

    The dataset's own rules hold already, so only the shapes and label range are checked (:meth:`MLP.check_batch`).

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> data = Dataset(np.zeros((4, 4)), np.array([0, 1, 0, 1]), np.zeros((2, 4)), np.array([0, 1]))
    >>> check_fits(MLP((4, 2)), data)
    >>> check_fits(MLP((3, 2)), data)
    Traceback (most recent call last):
    ...
    ValueError: training set: X must have shape (n_samples, 3), got (4, 4)
    """
    for split, name in (("train", "training set"), ("val", "validation set"), ("test", "test set")):
        X = getattr(data, f"X_{split}")
        if X is not None:
            try:
                model.check_batch(X, getattr(data, f"y_{split}"))
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
    rewiring=None,
    checkpoint: Optional[TrainingCheckpoint] = None,
    resume_from: Optional[TrainingState] = None,
    trainable: Optional[Sequence[np.ndarray]] = None,
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
    description : str
        The progress bar's label.
    rewiring : lottery_np.sparse.Rewiring, optional
        Dynamic sparse training: after every iteration it is ``due`` at, it moves the model's
        connections and returns the training step for the new masks (:mod:`lottery_np.sparse`).
        The model's masks change during the run; every layer keeps its count.
    checkpoint : lottery_np.training_state.TrainingCheckpoint, optional
        Save the run's state at evaluations, at most every ``checkpoint.every_seconds``
        (not at the last iteration: the run is done then).
    resume_from : lottery_np.training_state.TrainingState, optional
        Continue a saved run: the model takes its weights and masks, the optimizer its state,
        and the result is the one the run would have given had it never stopped (with the same
        ``data``, ``config``, ``seed``, ``start_iteration`` and ``rewiring`` settings).
    trainable : sequence of ndarray, optional
        0/1 masks of the weights that train, inside the model's masks; the others keep their values,
        frozen (Zhou et al.'s pruned weights held at their initialization:
        :func:`lottery_np.pruning.pruned_values`). Default: every weight the masks keep. Not with
        ``rewiring`` or ``resume_from``.

    Returns
    -------
    TrainingResult
        The learning curve, the early-stopping iteration and the accuracies there and at the end, the
        iterations run, the wall time, and the snapshots asked for (:mod:`lottery_np.curves`).

    Raises
    ------
    TrainingDivergedError
        If a batch loss becomes NaN or infinite, or a validation loss exceeds
        :data:`~lottery_np.failure.DIVERGENCE_FACTOR` times chance level (:func:`~lottery_np.failure.check_divergence`).

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
    >>> model = MLP((4, 8, 2), seed=0)
    >>> result = train(model, data, config, seed=0, snapshot_at=[0])
    >>> result.curve.iterations, sorted(result.snapshots)
    ([0, 20, 40], [0])
    >>> result.final_val_accuracy == train(MLP((4, 8, 2), seed=0), data, config, seed=0).final_val_accuracy  # bit for bit
    True
    """
    data = as_dataset(data)
    check_fits(model, data)
    if trainable is not None and (rewiring is not None or resume_from is not None):
        raise ValueError("trainable weights cannot be given with rewiring or resume_from")
    total = config.total_iterations(len(data.X_train))
    check_start_iteration(start_iteration, total)
    seed = validation.integer("seed", seed, minimum=0)
    snapshot_at = set(int(k) for k in snapshot_at)
    if any(k < start_iteration or k > total for k in snapshot_at):
        raise ValueError(f"snapshot_at must lie in [{start_iteration}, {total}], got {sorted(snapshot_at)}")
    resumed = start_iteration if resume_from is None else _check_resumable(resume_from, start_iteration, total,
                                                                            snapshot_at)
    start = time.perf_counter() - (0.0 if resume_from is None else resume_from.seconds)
    with threads.limited():  # lottery_np.engine.threads: how many, and why
        optimizer = optimizer or config.make_optimizer()
        step = (training_step(model, optimizer, trainable=trainable) if resume_from is None
                else _restore(model, optimizer, resume_from, rewiring))
        log = _RunLog(model, step, data, config.learning_rate, start_iteration)
        bar = progress_bar(total - start_iteration, description, progress, log_updates=False, leave=False,
                           initial=resumed - start_iteration)
        try:
            if resume_from is None:
                log.observe(start_iteration, snapshot=start_iteration in snapshot_at, evaluate=True)
            else:
                log.curve, log.running_loss = copy.deepcopy(resume_from.curve), list(resume_from.running_loss)
            for iteration, batch in batches(seed, len(data.X_train), config.batch_size, resumed, total):
                X, y = data.X_train[batch], data.y_train[batch]
                log.batch_loss(iteration, step(X, y))
                if rewiring is not None and rewiring.due(iteration):
                    step = log.step = rewiring.update(step, X, y, iteration)
                if log.observe(iteration, snapshot=iteration in snapshot_at,
                               evaluate=iteration % config.eval_every == 0 or iteration == total):
                    bar.set_postfix(val_acc=f"{log.curve.val_accuracy[-1]:.4f}")
                    if checkpoint is not None and iteration < total and checkpoint.due():
                        checkpoint.save(log.state(iteration, time.perf_counter() - start, rewiring))
                bar.update(1)
        finally:
            step.sync()  # also when interrupted: the model holds every update taken
            bar.close()
    return summarise(log.curve, total, time.perf_counter() - start, log.snapshots)


def _check_resumable(state: TrainingState, start_iteration: int, total: int, snapshot_at: set) -> int:
    """The iteration ``state`` resumes after, once it is known to belong to this run's schedule."""
    if state.start_iteration != start_iteration or not start_iteration <= state.iteration <= total:
        raise ValueError(f"resume_from was saved at iteration {state.iteration} of a run started at "
                         f"{state.start_iteration}; this run starts at {start_iteration} and ends at {total}")
    if any(k < state.iteration for k in snapshot_at):
        raise ValueError(f"snapshot_at asks for iterations before {state.iteration}, where resume_from takes up the "
                         f"run; those snapshots were not saved")
    return state.iteration


def _restore(model: MLP, optimizer: Optimizer, state: TrainingState, rewiring) -> TrainingStep:
    """``model`` and ``optimizer`` as ``state`` holds them, and the training step for them."""
    model.set_masks(state.masks)
    model.set_parameters(state.parameters)
    step = training_step(model, optimizer)
    if state.optimizer:
        sizes = [w.size for w in model.weights] + [b.size for b in model.biases]
        optimizer.load_full_state(state.optimizer, state.optimizer_iterations, step.state_order(), sizes)
    if rewiring is not None:
        rewiring.updates = copy.deepcopy(state.rewiring_updates)
    return step


class _RunLog:
    """What :func:`train` keeps while it runs: the curve, the batch losses since the last evaluation, snapshots.

    It reads the model only after ``step.sync()`` (the step may keep the weights packed), and
    checks every loss it sees for divergence (:func:`~lottery_np.failure.check_divergence`).
    """

    def __init__(self, model: MLP, step: TrainingStep, data: Dataset, learning_rate: float, start_iteration: int):
        self.model, self.step, self.start_iteration = model, step, start_iteration
        self.evaluation_sets = evaluation_sets(data)
        self.advice = f"try a smaller learning_rate (now {learning_rate:g})"
        self.curve, self.snapshots, self.running_loss = LearningCurve(), {}, []

    def batch_loss(self, iteration: int, loss: float) -> None:
        """Keep one batch's training loss; a NaN or infinite one stops the run."""
        if not math.isfinite(loss):
            check_divergence(loss, iteration, self.model.layer_sizes[-1], "training loss", self.advice)
        self.running_loss.append(loss)

    def observe(self, iteration: int, *, snapshot: bool, evaluate: bool) -> bool:
        """After ``iteration``: keep a snapshot of the weights and/or evaluate; return whether it evaluated."""
        if snapshot or evaluate:
            self.step.sync()
        if snapshot:
            self.snapshots[iteration] = self.model.get_parameters()
        if evaluate:
            train_loss = float(np.mean(self.running_loss)) if self.running_loss else math.nan
            record_evaluation(self.curve, self.model, self.evaluation_sets, iteration, train_loss)
            self.running_loss.clear()
            loss = self.curve.val_loss[-1]
            if iteration > self.start_iteration:
                check_divergence(loss, iteration, self.model.layer_sizes[-1], "validation loss", self.advice)
            elif not math.isfinite(loss):  # no update yet: a high loss is where the run starts, not divergence
                check_divergence(loss, iteration, self.model.layer_sizes[-1], "validation loss",
                                 "no update was taken yet: check the network's starting weights")
        return evaluate

    def state(self, iteration: int, seconds: float, rewiring) -> TrainingState:
        """The run after ``iteration``, for :class:`~lottery_np.training_state.TrainingCheckpoint` (synced)."""
        optimizer, model = self.step.optimizer, self.model
        sizes = [w.size for w in model.weights] + [b.size for b in model.biases]
        full = [] if optimizer.state is None else optimizer.full_state(self.step.state_order(), sizes)
        return TrainingState(iteration, self.start_iteration, model.get_parameters(), model.masks, full,
                             optimizer.iterations, copy.deepcopy(self.curve), list(self.running_loss), seconds,
                             copy.deepcopy(rewiring.updates) if rewiring is not None else [])



