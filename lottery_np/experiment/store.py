"""Finished jobs on disk: each result is saved as it arrives, so that a killed benchmark can resume.

The output folder ``OUT`` gets a folder ``OUT/jobs/`` with one JSON file per finished
job, named after the job, and one ``.npz`` beside each ``lottery_ticket`` job's::

    OUT/jobs/dense-seed0.json
    OUT/jobs/lottery_ticket-seed0.json
    OUT/jobs/lottery_ticket-seed0.npz       # every round's masks, for the control jobs
    OUT/jobs/random_mask-seed0-round1.json

A JSON file holds ``{"settings", "result", "masks"}``: the settings the job ran under
(:meth:`~.settings.BenchmarkSettings.to_dict`), its result dict without the masks, and
the name of the masks' ``.npz`` (None if the job has none), whose arrays are
``round_<r>_layer_<l>`` (uint8). Both files are written atomically and the ``.npz``
first, so a job is finished exactly when its JSON file exists. Resuming loads every finished job after
checking that it ran under the same settings (a job of other settings would silently mix two
experiments) and that it is a job of this grid, with the results such a job returns: its seed one
of the settings', its file named after it, every record by the rules of a round's record, and its
masks every round of the grid at the density the schedule gives, only losing entries. A file that
fails is refused by name, as anything else would be averaged into the results.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..files import load_npz, parse_json, save_npz_atomic, write_text_atomic
from ..pruning import density as masks_density, history_from_dicts
from .jobs import METHOD_NAMES, result_key
from .runner import MASK_JOBS
from .settings import ABLATED, FROM_START, BenchmarkSettings

WITH_MASKS = "lottery_ticket"
"""The method whose jobs save every round's masks (the controls are planned from them)."""

JOBS = "jobs"
"""The folder of ``OUT`` that holds the finished jobs."""


def open_jobs_folder(out: Path, resume: bool) -> Path:
    """Create ``out/jobs`` and check that both folders take files, before any job runs; return ``out/jobs``.

    Raises
    ------
    ValueError
        Naming ``out``, if it is a file, cannot be created or written to, or (unless
        ``resume``) already holds finished jobs.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    folder = out / JOBS
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for place in (out, folder):  # an existing folder may be read-only: only writing a file tells
            with tempfile.TemporaryFile(dir=place):
                pass
    except OSError as error:
        raise ValueError(f"--out {out} cannot be written to: {error.strerror or error}") from None
    if not resume and any(folder.glob("*.json")):
        raise ValueError(f"--out {out} already holds finished jobs ({folder}): pass --resume or choose another --out")
    return folder


def job_path(folder: Path, key: tuple) -> Path:
    """The JSON file of the job with :attr:`~.jobs.Job.key` ``key``, e.g. ``random_mask-seed0-round1.json``."""
    method, seed, pruning_round = key
    suffix = "" if pruning_round is None else f"-round{pruning_round}"
    return Path(folder) / f"{method}-seed{seed}{suffix}.json"


def mask_key(pruning_round: int, layer: int) -> str:
    """The name of round ``pruning_round``'s mask of layer ``layer`` in a job's ``.npz``."""
    return f"round_{pruning_round}_layer_{layer}"


def save_round_masks(path: Path, masks: list) -> Path:
    """Write ``masks[r][l]`` (every round's, every layer's) to the ``.npz`` ``path``, atomically, as :func:`mask_key`
    names them."""
    save_npz_atomic(path, {mask_key(r, layer): mask for r, layers in enumerate(masks)
                           for layer, mask in enumerate(layers)})
    return Path(path)


def refuse_other_settings(path: Path, saved: dict, settings) -> None:
    """Raise ``ValueError`` naming ``path`` and every setting in which ``saved`` differs from ``settings``.

    Nested settings are compared one by one (``training.iterations``), tuples as the lists JSON makes them.
    """
    expected, saved = _flat(json.loads(json.dumps(settings.to_dict()))), _flat(saved)
    differ = [f"{name}={saved.get(name)!r} (now {expected.get(name)!r})"
              for name in dict.fromkeys([*expected, *saved]) if saved.get(name) != expected.get(name)]
    if differ:
        raise ValueError(f"{path} was made with other settings: {', '.join(differ)}; "
                         "resume with the same settings or choose another --out")


def save_job(folder: Path, settings: BenchmarkSettings, result: dict) -> Path:
    """Save one finished job's ``result`` (run under ``settings``) into ``folder``; return its JSON file."""
    path = job_path(folder, result_key(result))
    masks = None
    if "masks" in result:
        masks = save_round_masks(path.with_suffix(".npz"), result["masks"]).name
    record = {"settings": settings.to_dict(), "result": {k: v for k, v in result.items() if k != "masks"},
              "masks": masks}
    return write_text_atomic(path, json.dumps(record))


def load_jobs(folder: Path, settings: BenchmarkSettings) -> list[dict]:
    """The results of every finished job in ``folder``, masks included, once checked to have run under ``settings``.

    Raises
    ------
    ValueError
        Naming the file and every setting that differs, or a file that cannot be read.
    """
    results = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = parse_json(path.read_text())
            saved, result = dict(record["settings"]), record["result"]
            result_key(result)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a finished job's file ({error})") from None
        refuse_other_settings(path, saved, settings)
        _check_result(path, result, settings)
        if result["method"] == WITH_MASKS:
            if not isinstance(record.get("masks"), str):
                raise ValueError(f"{path} must name its masks file, got masks={record.get('masks')!r}")
            result["masks"] = _load_masks(path.parent / record["masks"], path, settings)
        elif record.get("masks") is not None:
            raise ValueError(f"{path} names a masks file, which a {result['method']} job never saves")
        results.append(result)
    return results


def _check_result(path: Path, result: dict, settings) -> None:
    """Refuse a result that no job of the grid of ``settings`` returns, naming the file and what is wrong."""
    method, seed, pruning_round = result_key(result)
    if method not in METHOD_NAMES:
        raise ValueError(f"{path} holds a result of an unknown method {method!r}")
    if seed not in settings.seeds:
        raise ValueError(f"{path} holds a result for seed {seed!r}, not one of the settings' seeds "
                         f"{list(settings.seeds)}")
    try:
        rounds = _rounds_of(method, pruning_round, settings)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if path != job_path(path.parent, (method, seed, pruning_round)):
        raise ValueError(f"{path} holds the result of another job ({method}, seed {seed}, round {pruning_round})")
    try:
        history_from_dicts(result["records"], rounds)
    except (ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a finished job's file: records: {error}") from None


def _rounds_of(method: str, pruning_round, settings) -> list:
    """The round of each record a ``method`` job returns (a control job: its own round alone)."""
    if method == "dense":
        return [0]
    if method in MASK_JOBS:
        if not isinstance(pruning_round, int) or not 1 <= pruning_round <= settings.rounds:
            raise ValueError(f"pruning_round must be a round 1..{settings.rounds} of the grid, got {pruning_round!r}")
        return [pruning_round]
    if method == "one_shot":
        return [0, *settings.control_rounds()]
    if method == "supermask_bernoulli":
        return [1]
    if method in FROM_START + ABLATED + ("supermask_top_k",):
        return list(range(1, settings.rounds + 1))
    return list(range(settings.rounds + 1))


def _flat(settings: dict, prefix: str = "") -> dict:
    """``{"training": {"iterations": 200}}`` as ``{"training.iterations": 200}``: a difference names one setting."""
    flat = {}
    for name, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def _load_masks(path: Path, owner: Path, settings) -> list[list[np.ndarray]]:
    """The masks ``masks[r][l]`` of the ``.npz`` that ``owner``'s job saved, every round of the grid's schedule.

    Raises
    ------
    ValueError
        Naming the file and key, unless it holds exactly one 0/1 mask per round and layer, of the
        layer's shape, at the round's density (:meth:`densities`), each only losing entries.
    """
    sizes = settings.layer_sizes
    shapes, densities = list(zip(sizes[:-1], sizes[1:])), settings.densities()
    keys = [mask_key(r, layer) for r in range(len(densities)) for layer in range(len(shapes))]
    try:
        arrays = load_npz(path, keys, what="job's masks file")
    except FileNotFoundError:
        raise ValueError(f"{owner} needs its masks file {path}, which is missing") from None
    extra = sorted(set(arrays) - set(keys))
    if extra:
        raise ValueError(f"{path} holds {extra[0]}, which no round and layer of the grid has")
    masks = []
    for r, density in enumerate(densities):
        layers = [arrays[mask_key(r, layer)] for layer in range(len(shapes))]
        for layer, (mask, shape) in enumerate(zip(layers, shapes)):
            key = mask_key(r, layer)
            if mask.shape != shape or mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
                raise ValueError(f"{path}: {key} must be a 0/1 mask of shape {shape}, got {mask.dtype} {mask.shape}")
            if r and (mask > masks[-1][layer]).any():
                raise ValueError(f"{path}: {key} keeps weights that round {r - 1} pruned (masks only lose entries)")
        kept = masks_density(layers)
        if kept != density:
            raise ValueError(f"{path}: round {r}'s masks keep {kept!r} of the weights, but the schedule of the "
                             f"settings gives {density!r}")
        masks.append(layers)
    return masks
