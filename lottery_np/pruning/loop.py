"""The prune-and-retrain loop that every pruner runs.

Round 0 trains the dense network. Each later round prunes the surviving weights
of smallest magnitude (or of smallest score under another mask criterion: :mod:`.criteria`) down to
the schedule's count, restarts the survivors where the
pruner's :class:`~lottery_np.pruning.rewind.RewindStrategy` says (the initialization,
an early iteration, or the trained weights), and trains again with the pruner's
retraining schedule. The lottery ticket search and the magnitude-pruning baseline
differ only in those two: the baseline restarts from the trained weights
(``RewindStrategy.LearningRate``) and retrains with its fine-tuning schedule.
"""
from __future__ import annotations

import functools
import os
from dataclasses import asdict
from typing import Optional

import numpy as np

from .. import validation
from ..data import Dataset, as_dataset
from ..model import MLP
from ..failure import DidNotLearnError, learned
from ..progress import progress_bar
from ..curves import evaluate_once
from ..training import TrainingConfig, check_fits, check_start_iteration, train
from .checkpoint import (FinishedRound, RunState, check_checkpoint_target, checkpoint_exists, digest,
                         load_checkpoint, save_checkpoint)
from .criteria import criterion_masks, random_scores
from .options import PruningOptions
from .record import RoundRecord
from .rewind import RewindStrategy
from .schedule import fixed_rate_schedule, global_schedule, layerwise_schedule

NUMERICS_VERSION = 3
"""Bumped whenever a change alters the numbers a run produces (2: per-epoch data order, float64-formed
Adam constants; 3: the fused sparse step's sample loops padded to 16 lanes, sparse networks evaluated
in sample blocks), so that a checkpoint of an older version is not resumed into a run it never was."""


def check_model(model) -> None:
    """Raise ``TypeError`` unless ``model`` is an :class:`~lottery_np.model.MLP`."""
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")


def as_training_data(model: MLP, train_data, options: PruningOptions, test_data=None) -> Dataset:
    """``train_data`` as a validated :class:`~lottery_np.data.Dataset` (see :func:`~lottery_np.data.as_dataset`).

    ``options.validation_data`` and ``test_data``, when given, replace those splits.
    ``model`` is checked first, so a wrong model is named before any data is read.
    """
    check_model(model)
    return as_dataset(train_data, validation=options.validation_data, test=test_data)


def _data_digest(data: Dataset, stride: int = 1) -> str:
    """Digest of every split's labels and features (every ``stride``-th row of them: what lottery_np took before).

    All of it: a resumed run on data with any row changed is refused. On MNIST this is one
    pass over 220 MB, about a quarter of a second.
    """
    splits = [(data.X_train, data.y_train), (data.X_val, data.y_val)]
    if data.X_test is not None:
        splits.append((data.X_test, data.y_test))
    return digest(*(part for X, y in splits for part in (np.asarray(y), np.asarray(X)[::stride])))


OLD_DATA_STRIDE = 97
"""The rows an older lottery_np's checkpoints took the data's digest over (every 97th); their runs still resume."""


class PruningSchedule:
    """The weights each round keeps, and the function that prunes to that count.

    ``counts`` has shape ``(rounds + 1,)`` in global scope and ``(rounds + 1, n_layers)``
    in layerwise scope; a schedule that would empty the network or a layer is refused.

    Examples
    --------
    >>> from lottery_np.model import MLP
    >>> net = MLP((64, 20, 10), seed=0)
    >>> schedule = PruningSchedule(net, PruningOptions(target_sparsity=0.5, pruning_rounds=2))
    >>> schedule.counts.tolist()  # per round and layer; the output layer pruned at half the rate
    [[1280, 200], [875, 168], [598, 142]]
    >>> [int(m.sum()) for m in schedule.prune(net.weights, net.weights, net.masks, 1)]
    [875, 168]
    """

    def __init__(self, model: MLP, options: PruningOptions):
        sizes = [total for _, total in model.weight_counts()]
        self.options = options
        rounds, scope = options.pruning_rounds, options.scope
        factors = [1.0] if scope == "global" else options.layer_rate_factors(model.n_layers)
        layers = [sum(sizes)] if scope == "global" else sizes
        if options.pruning_rate is not None:
            counts = fixed_rate_schedule(layers, factors, options.pruning_rate, rounds)
            setting, value = "pruning_rate", options.pruning_rate
        else:
            counts = (global_schedule(layers[0], options.target_sparsity, rounds)[:, None] if scope == "global"
                      else layerwise_schedule(layers, factors, options.target_sparsity, rounds))
            setting, value = "target_sparsity", options.target_sparsity
        empty = [layer for layer, kept in enumerate(counts[-1]) if kept == 0]
        if empty and scope == "global":
            raise validation.SettingError(setting, f"low enough to keep a weight of the {layers[0]}", value)
        if empty:
            raise validation.SettingError(
                setting, f"low enough to keep a weight in every layer (it empties layer {empty[0]} "
                f"of {sizes[empty[0]]} weights)", value)
        self.counts = counts[:, 0] if scope == "global" else counts

    def prune(self, initial: list, weights: list, masks: list, pruning_round: int) -> list:
        """Masks for ``pruning_round``: the previous ``masks`` pruned by the options' criterion.

        The criterion scores each surviving weight from its ``initial`` and trained value (``weights``);
        magnitude pruning (``large_final``) is :func:`~.masks.prune_layerwise` or
        :func:`~.masks.prune_global` bit for bit. The ``random`` criterion draws from the options' seed.
        """
        criterion = self.options.criterion
        if criterion == "random":
            criterion = functools.partial(random_scores, seed=self.options.seed)
        n_keep = int(self.counts[pruning_round]) if self.options.scope == "global" else self.counts[pruning_round]
        return criterion_masks(criterion, initial, weights, masks, n_keep)


def run_fingerprint(model: MLP, data: Dataset, options: PruningOptions, rewind: RewindStrategy,
                    retrain: TrainingConfig, train_dense: bool) -> dict:
    """Everything that determines a run's numbers, as plain values, to recognise its checkpoint when resuming."""
    return {**options.fingerprint(), "rewind": str(rewind), "retrain": asdict(retrain), "train_dense": train_dense,
            "layer_sizes": list(model.layer_sizes), "data": _data_digest(data),
            "initial_weights": digest(*model.weights, *model.biases), "numerics": NUMERICS_VERSION}


def run_iterative_pruning(
    model: MLP,
    data: Dataset,
    options: PruningOptions,
    rewind: RewindStrategy,
    *,
    retrain: Optional[TrainingConfig] = None,
    train_dense: bool = True,
    checkpoint: Optional[str | os.PathLike] = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> RunState:
    """Run (or resume) every round and return the finished run. ``model`` is not modified.

    Parameters
    ----------
    data : Dataset
        The splits, as :func:`as_training_data` makes them from a pruner's arguments
        (the validation and test overrides already applied).
    rewind : RewindStrategy
        Where each pruned round restarts.
    retrain : TrainingConfig, optional
        Training of rounds 1, 2, ... (default: ``options.training``, which round 0 uses).
    train_dense : bool
        Train the dense network in round 0 (False: the model given is already trained).
    checkpoint : path, optional
        Written atomically after every finished round.
    resume : bool
        Continue from ``checkpoint`` if it exists (else start afresh).
    overwrite : bool
        Start afresh even over a checkpoint of another run.

    Raises
    ------
    DidNotLearnError
        If the dense network (round 0) is no better than chance on the validation set.
    """
    if not isinstance(rewind, RewindStrategy):
        raise validation.SettingError("rewind", "a RewindStrategy", rewind)
    retrain = options.training if retrain is None else retrain
    check_model(model)
    data = as_dataset(data)  # the pruners pass as_training_data's Dataset, which comes back as it is
    check_fits(model, data)
    total = options.training.total_iterations(len(data.X_train))
    check_start_iteration(rewind.start_iteration, min(total, retrain.total_iterations(len(data.X_train))),
                          "rewind_iteration")
    schedule = PruningSchedule(model, options)
    fingerprint = run_fingerprint(model, data, options, rewind, retrain, train_dense)
    older = {"data": _data_digest(data, OLD_DATA_STRIDE)} if checkpoint is not None else None
    if checkpoint is not None:
        check_checkpoint_target(checkpoint, fingerprint, resume, overwrite, older)
    work = model.copy()
    if resume and checkpoint_exists(checkpoint):
        state = load_checkpoint(checkpoint, fingerprint, older)
    else:
        state = RunState(initial=work.get_parameters())
    bar = progress_bar(options.pruning_rounds + 1, "pruning", progress, unit="rounds",
                       initial=state.rounds_done)
    while state.rounds_done <= options.pruning_rounds:
        config = retrain if state.rounds_done else options.training
        _run_round(work, data, options.seed, config, rewind, train_dense, schedule, state, progress)
        if state.rounds_done == 1:
            _check_learned(state.rounds[0].record, data)
        if checkpoint is not None:
            save_checkpoint(checkpoint, state, fingerprint)
        record = state.rounds[-1].record
        bar.set_postfix(round=record.pruning_round, density=f"{record.density:.3f}",
                        test_acc=f"{record.early_stop_test_accuracy:.4f}")
        bar.update(1)
    bar.close()
    return state


def _check_learned(dense, data) -> None:
    """Refuse to prune a dense network that learned nothing: no ticket found from it would mean anything."""
    if not learned(dense.early_stop_val_accuracy, data.y_val):
        majority = np.bincount(np.asarray(data.y_val)).max() / len(data.y_val)
        raise DidNotLearnError(
            f"the dense network did not learn: validation accuracy {dense.early_stop_val_accuracy:.4f} at its early-"
            f"stopping iteration, no better than always guessing the most common class ({majority:.4f}); "
            "check the data and try a smaller learning_rate or a longer training")


def _run_round(work: MLP, data, seed: int, config: TrainingConfig, rewind: RewindStrategy, train_dense: bool,
               schedule: PruningSchedule, state: RunState, progress: bool) -> None:
    """Prune (after round 0), restart where ``rewind`` says, train with ``config``, and append the round to ``state``."""
    r = state.rounds_done
    if r == 0:
        masks = work.masks
        work.set_parameters(state.initial)
        snapshot_at = [] if rewind.snapshot_iteration is None else [rewind.snapshot_iteration]
        start_iteration = 0
    else:
        last = state.rounds[-1]
        masks = schedule.prune(state.initial.weights, last.trained.weights, last.masks, r)
        work.set_masks(masks)
        work.set_parameters(rewind.restart_point(state.initial, state.rewind_snapshot, last.trained))
        snapshot_at, start_iteration = [], rewind.start_iteration
    start = work.get_parameters()
    if r == 0 and not train_dense:
        result = evaluate_once(work, data)
    else:
        result = train(work, data, config, seed=seed, snapshot_at=snapshot_at, start_iteration=start_iteration,
                       progress=progress, description=f"round {r}")
    if snapshot_at:
        state.rewind_snapshot = result.snapshots[rewind.snapshot_iteration]
    state.rounds.append(FinishedRound(masks, start, work.get_parameters(), RoundRecord.from_training(r, work, result)))
