"""Saving a pruning run after every round, so an interrupted run loses nothing.

A checkpoint holds everything the next round needs: every finished round's mask,
the weights it started from and the weights it ended with, the dense
initialization, the late-rewinding snapshot, and the history. Resuming reloads
it and continues; because every array is stored exactly and every round's data
order comes from the run's seed, the result is bit-identical to an uninterrupted run.

Reading a checkpoint checks everything a resumed run would trust: every array's shape,
dtype and finiteness, masks of 0/1 that only lose entries from one round to the next,
weights exactly 0 where their round's mask is 0, and the history. A damaged checkpoint
must stop the run, not quietly resume into another ticket.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..model import Parameters
from ..files import NpzArchive, json_array, save_npz_atomic
from .layout import (array_key, layer_shapes, layer_sizes_array, mask_arrays, mask_keys, parameter_arrays,
                     parameter_keys, read_masks, read_parameters)
from .masks import density as masks_density
from .record import RoundRecord, read_history


@dataclass
class FinishedRound:
    """One finished round: its masks, the weights it trained from and ended with, and what it measured.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)).astype(np.float32)
    >>> data = Dataset(X[:150], (X[:150, 0] > 0).astype(int), X[150:], (X[150:, 0] > 0).astype(int))
    >>> import os, tempfile
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(1).iterations(60)
    ...           .batch_size(10).eval_every(20).learning_rate(0.01).build())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "run.npz")
    ...     ticket = pruner.find_ticket(MLP((4, 8, 2), seed=0), data, checkpoint=path)
    ...     state = read_checkpoint(path)
    >>> finished = state.rounds[1]
    >>> finished.record.pruning_round, [int(m.sum()) for m in finished.masks] == [int(m.sum()) for m in ticket.masks]
    (1, True)
    """

    masks: list  # float32 0/1 arrays, one per layer
    start: Parameters
    trained: Parameters
    record: RoundRecord


@dataclass
class RunState:
    """A pruning run after some number of finished rounds.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)).astype(np.float32)
    >>> data = Dataset(X[:150], (X[:150, 0] > 0).astype(int), X[150:], (X[150:, 0] > 0).astype(int))
    >>> import os, tempfile
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(1).iterations(60)
    ...           .batch_size(10).eval_every(20).learning_rate(0.01).build())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "run.npz")
    ...     ticket = pruner.find_ticket(MLP((4, 8, 2), seed=0), data, checkpoint=path)
    ...     state = read_checkpoint(path)
    >>> len(state.rounds), [w.shape for w in state.initial.weights]
    (2, [(4, 8), (8, 2)])
    """

    initial: Parameters
    rewind_snapshot: Optional[Parameters] = None
    rounds: list[FinishedRound] = field(default_factory=list)

    @property
    def rounds_done(self) -> int:
        """Number of finished rounds (the dense round included)."""
        return len(self.rounds)

    @property
    def history(self) -> list[RoundRecord]:
        """Every finished round's record, round 0 first."""
        return [finished.record for finished in self.rounds]


def digest(*arrays: np.ndarray) -> str:
    """A short SHA-256 of the arrays' bytes, to recognise the same inputs when resuming."""
    sha = hashlib.sha256()
    for array in arrays:
        sha.update(np.ascontiguousarray(array))  # the array's own buffer: no copy of a 200 MB dataset
    return sha.hexdigest()[:16]


# An older lottery_np named a checkpoint's arrays {prefix}_w{l}, {prefix}_b{l} and round{r}_mask{l}.
_OLD_LAYOUT_KEY = "initial_w0"


def _round_prefix(r: int, part: str = "") -> str:
    """Key prefix of round ``r``'s mask (``part`` empty) or of its ``"start"`` or ``"trained"`` parameters."""
    return f"round{r}_{part}_" if part else f"round{r}_"


def save_checkpoint(path: str | os.PathLike, state: RunState, fingerprint: dict) -> None:
    """Write ``state`` atomically in the layout of :mod:`.layout`; ``fingerprint`` identifies the run's settings.

    Keys: ``layer_sizes``, ``meta`` (JSON: ``fingerprint``, ``history``, ``has_snapshot``), the
    parameters under the prefixes ``initial_``, ``snapshot_`` (late rewinding only),
    ``round{r}_start_`` and ``round{r}_trained_``, and the masks under ``round{r}_``.
    """
    meta = {"fingerprint": fingerprint, "history": [r.to_dict() for r in state.history],
            "has_snapshot": state.rewind_snapshot is not None}
    sizes = [state.initial.weights[0].shape[0], *(w.shape[1] for w in state.initial.weights)]
    arrays = {"layer_sizes": layer_sizes_array(sizes), "meta": json_array(meta),
              **parameter_arrays("initial_", state.initial)}
    if state.rewind_snapshot is not None:
        arrays.update(parameter_arrays("snapshot_", state.rewind_snapshot))
    for r, finished in enumerate(state.rounds):
        arrays.update(mask_arrays(_round_prefix(r), finished.masks))
        arrays.update(parameter_arrays(_round_prefix(r, "start"), finished.start))
        arrays.update(parameter_arrays(_round_prefix(r, "trained"), finished.trained))
    save_npz_atomic(path, arrays)


def load_checkpoint(path: str | os.PathLike, fingerprint: dict, also_accepted: Optional[dict] = None) -> RunState:
    """Read a checkpoint, refusing one written with other settings, by an older lottery_np, or damaged since.

    ``fingerprint`` is the run's (see :func:`save_checkpoint`); it names the run's ``layer_sizes``.
    ``also_accepted`` maps a setting to the value an older lottery_np recorded for the same run
    (the data's digest, once taken over a sample of the rows).

    Raises
    ------
    ValueError
        If the checkpoint's settings differ from ``fingerprint`` (each difference is named),
        or an older lottery_np wrote it in a layout this one does not resume from.
    CorruptFileError
        Naming the file and the key, if the file is not a checkpoint or any array or
        the history is not what a run writes.
    """
    archive = NpzArchive(path, "pruning checkpoint")
    if _OLD_LAYOUT_KEY in archive.keys:
        raise ValueError(f"{path} was written by an older lottery_np (its arrays are named like {_OLD_LAYOUT_KEY}) "
                         "and cannot be resumed by this version: start the run afresh, without --resume "
                         "(resume=True), after deleting it or choosing another checkpoint path")
    sizes = archive.layer_sizes("layer_sizes")
    meta = archive.json("meta", {"fingerprint": dict, "history": list, "has_snapshot": bool})
    recorded = meta["fingerprint"]
    older = {name: fingerprint[name] for name, value in (also_accepted or {}).items() if recorded.get(name) == value}
    differences = _differences(fingerprint, {**recorded, **older})
    if differences:
        raise ValueError(f"{path} was written by a run with other settings: {'; '.join(differences)}; "
                         f"resume with its settings, delete it, or choose another checkpoint path")
    history = read_history(archive, "meta", meta["history"])
    if list(sizes) != list(fingerprint["layer_sizes"]):
        archive.fail("layer_sizes", f"are {list(sizes)}, not the run's {list(fingerprint['layer_sizes'])}")
    if len(history) > fingerprint["pruning_rounds"] + 1:
        archive.fail("meta", f"holds {len(history)} rounds, more than the run's dense round and "
                             f"{fingerprint['pruning_rounds']} pruned ones")
    if history and fingerprint["rewind"].startswith("iteration:") and not meta["has_snapshot"]:
        archive.fail("meta", f"has no snapshot, which a finished dense round of a {fingerprint['rewind']} run "
                             "always saves")
    state = _read_state(archive, sizes, history, meta["has_snapshot"])
    if digest(*state.initial.weights, *state.initial.biases) != fingerprint["initial_weights"]:
        archive.fail(array_key("initial_", "weights", 0), "and the other initial arrays are not the initialization "
                                                          "the run's settings record (their digest differs)")
    return state


def read_checkpoint(path: str | os.PathLike) -> RunState:
    """Every finished round of the checkpoint at ``path``, whatever settings wrote it: to look at a run, not resume it.

    The arrays are checked as :func:`load_checkpoint` checks them (masks of 0/1 that only lose
    entries, pruned weights exactly 0, the history's densities); the settings are not.

    Raises
    ------
    ValueError
        If an older lottery_np wrote it in another layout.
    CorruptFileError
        Naming the file and the key, if the file is not a checkpoint or an array is not what a run writes.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)).astype(np.float32)
    >>> data = Dataset(X[:150], (X[:150, 0] > 0).astype(int), X[150:], (X[150:, 0] > 0).astype(int))
    >>> import os, tempfile
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(1).iterations(60)
    ...           .batch_size(10).eval_every(20).learning_rate(0.01).build())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "run.npz")
    ...     _ = pruner.find_ticket(MLP((4, 8, 2), seed=0), data, checkpoint=path)
    ...     [record.pruning_round for record in read_checkpoint(path).history]
    [0, 1]
    """
    archive = NpzArchive(path, "pruning checkpoint")
    if _OLD_LAYOUT_KEY in archive.keys:
        raise ValueError(f"{path} was written by an older lottery_np (its arrays are named like {_OLD_LAYOUT_KEY}), "
                         "whose layout this version does not read")
    meta = archive.json("meta", {"fingerprint": dict, "history": list, "has_snapshot": bool})
    history = read_history(archive, "meta", meta["history"])
    return _read_state(archive, archive.layer_sizes("layer_sizes"), history, meta["has_snapshot"])


def _read_state(archive: NpzArchive, sizes, history: list[RoundRecord], has_snapshot: bool) -> RunState:
    """The initialization, the snapshot (if ``has_snapshot``) and every round of ``history``, each checked."""
    archive.require(_keys(len(sizes) - 1, len(history), has_snapshot))
    shapes = layer_shapes(sizes)
    state = RunState(initial=read_parameters(archive, "initial_", shapes))
    if has_snapshot:
        state.rewind_snapshot = read_parameters(archive, "snapshot_", shapes)
    for r, record in enumerate(history):
        state.rounds.append(_read_round(archive, r, shapes, state.rounds[-1].masks if r else None, record))
    return state


def _keys(n_layers: int, rounds: int, has_snapshot: bool) -> list[str]:
    """Every key :func:`save_checkpoint` writes for a run of ``rounds`` finished rounds."""
    prefixes = ["initial_", *(["snapshot_"] if has_snapshot else []),
                *(_round_prefix(r, part) for r in range(rounds) for part in ("start", "trained"))]
    return ["layer_sizes", "meta", *(key for prefix in prefixes for key in parameter_keys(prefix, n_layers)),
            *(key for r in range(rounds) for key in mask_keys(_round_prefix(r), n_layers))]


def _read_round(archive: NpzArchive, r: int, shapes: list[tuple[int, int]], previous_masks: Optional[list],
                record: RoundRecord) -> FinishedRound:
    """Round ``r`` as the checkpoint holds it, checked: masks only shrink, pruned weights are 0."""
    masks = read_masks(archive, _round_prefix(r), shapes)
    density = masks_density(masks)
    if density != record.density:
        archive.fail(array_key(_round_prefix(r), "mask", 0), f"and the other masks of round {r} keep {density!r} of "
                                                             f"the weights, but its history row says {record.density!r}")
    for layer, mask in enumerate(masks):
        if previous_masks is not None and (mask > previous_masks[layer]).any():
            archive.fail(array_key(_round_prefix(r), "mask", layer),
                         f"keeps weights that round {r - 1} pruned (masks only lose entries)")
    parameters = {}
    for part in ("start", "trained"):
        parameters[part] = read_parameters(archive, _round_prefix(r, part), shapes)
        for layer, (weights, mask) in enumerate(zip(parameters[part].weights, masks)):
            if weights[mask == 0].any():
                archive.fail(array_key(_round_prefix(r, part), "weights", layer),
                             f"is nonzero where {array_key(_round_prefix(r), 'mask', layer)} prunes it")
    return FinishedRound(masks, parameters["start"], parameters["trained"], record)


_ABSENT = object()


def _differences(ours: dict, theirs: dict, prefix: str = "") -> list[str]:
    """Each setting whose value differs between ``ours`` and the checkpoint's ``theirs`` (nested ones dotted)."""
    def show(value) -> str:
        return "nothing" if value is _ABSENT else repr(value)

    differences = []
    for name in list(ours) + [name for name in theirs if name not in ours]:
        here, there = ours.get(name, _ABSENT), theirs.get(name, _ABSENT)
        if isinstance(here, dict) and isinstance(there, dict):
            differences += _differences(here, there, f"{prefix}{name}.")
        elif here != there:
            differences.append(f"{prefix}{name} {show(here)} here vs {show(there)} in the file")
    return differences


def check_checkpoint_target(path: str | os.PathLike, fingerprint: dict, resume: bool, overwrite: bool,
                            also_accepted: Optional[dict] = None) -> None:
    """Refuse to start a run whose checkpoints would overwrite another run's.

    Writing over ``path`` is fine when it does not exist, when the run resumes from it
    (:func:`load_checkpoint` then checks it), when the caller asked to overwrite it, or
    when it is a readable checkpoint of these very settings.

    Raises
    ------
    ValueError
        If ``path`` exists and is anything else: another run's checkpoint, or a file
        that is not a checkpoint at all.
    """
    if resume or overwrite or not Path(path).exists():
        return
    try:
        load_checkpoint(path, fingerprint, also_accepted)
    except (ValueError, OSError) as error:  # other settings, not a checkpoint, or not a readable file
        raise ValueError(f"{error} (a run never overwrites another run's checkpoint: delete it, choose another "
                         f"checkpoint path, or overwrite it on purpose)") from error


def checkpoint_exists(path: Optional[str | os.PathLike]) -> bool:
    """True when ``path`` names an existing file."""
    return path is not None and Path(path).is_file()

