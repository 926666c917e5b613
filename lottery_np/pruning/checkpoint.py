"""Saving a pruning run after every round, so an interrupted run loses nothing.

A checkpoint holds everything the next round needs: every finished round's mask,
the weights it started from and the weights it ended with, the dense
initialization, the late-rewinding snapshot, and the history. Resuming reloads
it and continues; because every array is stored exactly and every round's data
order comes from the run's seed, the result is bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..model import Parameters
from ..storage import json_array, load_npz, read_json_array, save_npz_atomic
from .ticket import history_from_dicts


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


def _get(arrays: dict, prefix: str, n_layers: int) -> Parameters:
    return Parameters(
        [arrays[f"{prefix}_w{layer}"] for layer in range(n_layers)],
        [arrays[f"{prefix}_b{layer}"] for layer in range(n_layers)],
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
    """Read a checkpoint, refusing one written with other settings.

    Raises
    ------
    ValueError
        If the file is not a checkpoint, or its settings differ from ``fingerprint``.
    """
    arrays = load_npz(path, ["meta"], what="pruning checkpoint")
    meta = read_json_array(arrays["meta"])
    if meta.get("fingerprint") != fingerprint:
        raise ValueError(
            f"{path} was written by a run with other settings ({meta.get('fingerprint')}); "
            f"delete it or resume with the same settings ({fingerprint})"
        )
    n_layers = meta["n_layers"]
    try:
        state = RunState(initial=_get(arrays, "initial", n_layers))
        if meta["has_snapshot"]:
            state.rewind_snapshot = _get(arrays, "snapshot", n_layers)
        state.history = history_from_dicts(meta["history"])
        for r in range(len(state.history)):
            state.masks.append([arrays[f"round{r}_mask{layer}"].astype(np.float32) for layer in range(n_layers)])
            state.starts.append(_get(arrays, f"round{r}_start", n_layers))
            state.trained.append(_get(arrays, f"round{r}_trained", n_layers))
    except KeyError as error:
        raise ValueError(f"{path} is not a valid pruning checkpoint: missing {error}") from error
    return state


def checkpoint_exists(path: Optional[str | os.PathLike]) -> bool:
    """True when ``path`` names an existing file."""
    return path is not None and Path(path).is_file()

