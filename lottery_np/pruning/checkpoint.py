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

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..archive import NpzArchive
from ..model import Parameters
from ..storage import json_array, save_npz_atomic
from .ticket import read_history


@dataclass
class RunState:
    """A pruning run after some number of finished rounds."""

    initial: Parameters
    rewind_snapshot: Optional[Parameters] = None
    masks: list = field(default_factory=list)  # per round: list of float32 0/1 arrays
    starts: list = field(default_factory=list)  # per round: Parameters each round trained from
    trained: list = field(default_factory=list)  # per round: Parameters at the end of training
    history: list = field(default_factory=list)  # per round: RoundRecord

    @property
    def rounds_done(self) -> int:
        """Number of finished rounds (the dense round included)."""
        return len(self.history)


def _put(arrays: dict, prefix: str, params: Parameters) -> None:
    for layer, (w, b) in enumerate(zip(params.weights, params.biases)):
        arrays[f"{prefix}_w{layer}"] = w
        arrays[f"{prefix}_b{layer}"] = b


def _get(archive: NpzArchive, prefix: str, shapes: list[tuple[int, int]]) -> Parameters:
    return Parameters(
        [archive.floats(f"{prefix}_w{layer}", shape) for layer, shape in enumerate(shapes)],
        [archive.floats(f"{prefix}_b{layer}", shape[1:]) for layer, shape in enumerate(shapes)],
    )


def save_checkpoint(path: str | os.PathLike, state: RunState, fingerprint: dict) -> None:
    """Write ``state`` atomically; ``fingerprint`` identifies the run's settings."""
    meta = {"fingerprint": fingerprint, "history": [r.to_dict() for r in state.history],
            "has_snapshot": state.rewind_snapshot is not None, "n_layers": len(state.initial.weights)}
    arrays = {"meta": json_array(meta)}
    _put(arrays, "initial", state.initial)
    if state.rewind_snapshot is not None:
        _put(arrays, "snapshot", state.rewind_snapshot)
    for r in range(state.rounds_done):
        for layer, mask in enumerate(state.masks[r]):
            arrays[f"round{r}_mask{layer}"] = mask.astype(np.uint8)
        _put(arrays, f"round{r}_start", state.starts[r])
        _put(arrays, f"round{r}_trained", state.trained[r])
    save_npz_atomic(path, arrays)


def load_checkpoint(path: str | os.PathLike, fingerprint: dict) -> RunState:
    """Read a checkpoint, refusing one written with other settings or damaged since.

    Raises
    ------
    ValueError
        If the checkpoint's settings differ from ``fingerprint`` (each difference is named).
    CorruptFileError
        Naming the file and the key, if the file is not a checkpoint or any array or
        the history is not what a run writes.
    """
    archive = NpzArchive(path, "pruning checkpoint")
    meta = archive.json("meta", {"fingerprint": dict, "history": list, "has_snapshot": bool, "n_layers": int})
    differences = _differences(fingerprint, meta["fingerprint"])
    if differences:
        raise ValueError(f"{path} was written by a run with other settings: {'; '.join(differences)}; "
                         f"resume with its settings, delete it, or choose another checkpoint path")
    history = read_history(archive, "meta", meta["history"])
    n_layers = meta["n_layers"]
    if not 1 <= n_layers <= len(archive.keys):  # bounded first: it sizes the list of keys
        archive.fail("meta", f"n_layers must be a layer count the file can hold, got {n_layers}")
    archive.require(_keys(n_layers, len(history), meta["has_snapshot"]))
    shapes = _layer_shapes(archive, n_layers, fingerprint.get("layer_sizes"))
    state = RunState(initial=_get(archive, "initial", shapes), history=history)
    if meta["has_snapshot"]:
        state.rewind_snapshot = _get(archive, "snapshot", shapes)
    for r in range(len(history)):
        _read_round(archive, r, shapes, state)
    return state


def _keys(n_layers: int, rounds: int, has_snapshot: bool) -> list[str]:
    """Every key :func:`save_checkpoint` writes for a run of ``rounds`` finished rounds."""
    prefixes = ["initial", *(["snapshot"] if has_snapshot else []),
                *(f"round{r}_{part}" for r in range(rounds) for part in ("start", "trained"))]
    parameters = [f"{prefix}_{kind}{layer}" for prefix in prefixes for kind in "wb" for layer in range(n_layers)]
    return ["meta", *parameters, *(f"round{r}_mask{layer}" for r in range(rounds) for layer in range(n_layers))]


def _read_round(archive: NpzArchive, r: int, shapes: list[tuple[int, int]], state: RunState) -> None:
    """Append round ``r``'s masks and parameters to ``state``: masks only shrink, pruned weights are 0."""
    masks = [archive.mask(f"round{r}_mask{layer}", shape) for layer, shape in enumerate(shapes)]
    for layer, mask in enumerate(masks):
        if r and (mask > state.masks[-1][layer]).any():
            archive.fail(f"round{r}_mask{layer}", f"keeps weights that round {r - 1} pruned (masks only lose entries)")
    state.masks.append(masks)
    for part, runs in (("start", state.starts), ("trained", state.trained)):
        runs.append(_get(archive, f"round{r}_{part}", shapes))
        for layer, (weights, mask) in enumerate(zip(runs[-1].weights, masks)):
            if weights[mask == 0].any():
                archive.fail(f"round{r}_{part}_w{layer}", f"is nonzero where round{r}_mask{layer} prunes it")


def _layer_shapes(archive: NpzArchive, n_layers: int, layer_sizes) -> list[tuple[int, int]]:
    """The ``(fan_in, fan_out)`` of every layer, read off the initial weights, which must chain."""
    shapes = []
    for layer in range(n_layers):
        shape = archive.array(f"initial_w{layer}").shape
        if len(shape) != 2 or min(shape) < 1 or (shapes and shape[0] != shapes[-1][1]):
            archive.fail(f"initial_w{layer}", f"has shape {shape}, not (fan_in, fan_out) following the layer before")
        shapes.append(shape)
    sizes = [shapes[0][0]] + [fan_out for _, fan_out in shapes]
    if layer_sizes is not None and sizes != list(layer_sizes):
        archive.fail("initial_w0", f"and the next initial weights make layer sizes {sizes}, "
                                   f"not the run's {list(layer_sizes)}")
    return shapes


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


def check_checkpoint_target(path: str | os.PathLike, fingerprint: dict, resume: bool, overwrite: bool) -> None:
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
        load_checkpoint(path, fingerprint)
    except (ValueError, OSError) as error:  # other settings, not a checkpoint, or not a readable file
        raise ValueError(f"{error} (a run never overwrites another run's checkpoint: delete it, choose another "
                         f"checkpoint path, or overwrite it on purpose)") from error


def checkpoint_exists(path: Optional[str | os.PathLike]) -> bool:
    """True when ``path`` names an existing file."""
    return path is not None and Path(path).is_file()

