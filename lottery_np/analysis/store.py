"""The instability grid's finished jobs on disk, saved as each arrives, read back by ``--resume``.

``OUT/jobs/`` holds one JSON file per finished job, named after its key, and beside each
``imp`` job's a ``.npz`` of every round's masks (``round_<r>_layer_<l>``, uint8)::

    OUT/jobs/imp-seed0.json, OUT/jobs/imp-seed0.npz
    OUT/jobs/dense-seed0-round0-k500.json
    OUT/jobs/random_reinit-seed0-round7-k0.json

A JSON file holds ``{"settings", "result"}``. Both files are written atomically, the
``.npz`` first, so a job is finished exactly when its JSON file exists. Reading checks
that the job ran under the same settings (naming each that differs), that it is a job of
the grid, that its path has the settings' number of points with finite errors in [0, 1],
and that an ``imp`` job's masks are 0/1 arrays of the layers' shapes, one set per round,
each round only losing entries. A file that fails is refused by name.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..experiment import mask_key, refuse_other_settings, save_round_masks
from ..files import load_npz, parse_json, write_text_atomic
from .grid import CONTROLS, InstabilitySettings, result_key, ticket_cells


def job_path(folder: Path, key: tuple) -> Path:
    """The JSON file of the job with key ``key``, e.g. ``ticket-seed0-round7-k0.json``."""
    method, seed, pruning_round, k = key
    suffix = "" if pruning_round is None else f"-round{pruning_round}-k{k}"
    return Path(folder) / f"{method}-seed{seed}{suffix}.json"


def save_result(folder: Path, settings: InstabilitySettings, result: dict) -> Path:
    """Save one finished job's ``result`` into ``folder``; return its JSON file."""
    path = job_path(folder, result_key(result))
    if "masks" in result:
        save_round_masks(path.with_suffix(".npz"), result["masks"])
    record = {"settings": settings.to_dict(), "result": {k: v for k, v in result.items() if k != "masks"}}
    return write_text_atomic(path, json.dumps(record))


def load_results(folder: Path, settings: InstabilitySettings) -> list[dict]:
    """Every finished job's result in ``folder`` (an ``imp`` job's with its masks), checked against ``settings``.

    Raises
    ------
    ValueError
        Naming the file, and every setting that differs or what is wrong with the result.
    """
    results = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = parse_json(path.read_text())
            saved, result = dict(record["settings"]), record["result"]
            key = result_key(result)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a finished job's file ({error})") from None
        refuse_other_settings(path, saved, settings)
        if key not in _grid_keys(settings) or path != job_path(path.parent, key):
            raise ValueError(f"{path} holds a job that is not one of the grid's: {key}")
        try:
            if key[0] == "imp":
                result["masks"] = _read_masks(path.with_suffix(".npz"), settings, len(result["records"]))
            else:
                _check_path(result["path"], settings)
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a finished job's file (missing {error})") from None
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        results.append(result)
    return results


def _grid_keys(settings: InstabilitySettings) -> set:
    keys = {("dense", seed, 0, k) for seed in settings.seeds for k in settings.rewind_iterations}
    if settings.pruning_rounds:
        for seed in settings.seeds:
            keys |= {("imp", seed, None, None)}
            keys |= {("ticket", seed, r, k) for r, k in ticket_cells(settings)}
            keys |= {(method, seed, r, 0) for r in settings.rounds for method in CONTROLS}
    return keys


def _check_path(path: dict, settings: InstabilitySettings) -> None:
    """Refuse a path of another length than the settings' points, or with errors outside [0, 1]."""
    for split in ("test", "train"):
        errors = np.asarray(path["errors"][split], dtype=np.float64)
        if errors.shape != (settings.points,) or not np.isfinite(errors).all() or (errors < 0).any() \
                or (errors > 1).any():
            raise ValueError(f"its {split} path must hold {settings.points} errors in [0, 1]")


def _read_masks(path: Path, settings: InstabilitySettings, n_rounds: int) -> list[list[np.ndarray]]:
    """The ``imp`` job's masks ``masks[r][l]``, each a 0/1 array of its layer's shape, only losing entries."""
    sizes = settings.layer_sizes
    shapes = list(zip(sizes[:-1], sizes[1:]))
    if n_rounds != settings.pruning_rounds + 1:
        raise ValueError(f"it holds {n_rounds} rounds, not the settings' {settings.pruning_rounds + 1}")
    keys = [mask_key(r, layer) for r in range(n_rounds) for layer in range(len(shapes))]
    try:
        arrays = load_npz(path, keys, what="imp job's masks file")
    except FileNotFoundError:
        raise ValueError(f"its masks file {path} is missing") from None
    masks = []
    for r in range(n_rounds):
        layers = [arrays[mask_key(r, layer)] for layer in range(len(shapes))]
        for layer, (mask, shape) in enumerate(zip(layers, shapes)):
            if mask.shape != shape or not np.isin(mask, (0, 1)).all():
                raise ValueError(f"{mask_key(r, layer)} must be a 0/1 mask of shape {shape}")
            if r and (mask > masks[-1][layer]).any():
                raise ValueError(f"{mask_key(r, layer)} keeps weights that round {r - 1} pruned")
        masks.append(layers)
    return masks
