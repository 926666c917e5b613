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
first, so a job is finished exactly when its JSON file exists. Resuming loads every finished job after checking that it ran under the
same settings: a job of other settings would silently mix two experiments.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..files import load_npz, parse_json, save_npz_atomic, write_text_atomic
from .jobs import result_key
from .settings import BenchmarkSettings

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


def _mask_key(pruning_round: int, layer: int) -> str:
    return f"round_{pruning_round}_layer_{layer}"


def save_job(folder: Path, settings: BenchmarkSettings, result: dict) -> Path:
    """Save one finished job's ``result`` (run under ``settings``) into ``folder``; return its JSON file."""
    path = job_path(folder, result_key(result))
    masks = None
    if "masks" in result:
        masks = path.with_suffix(".npz").name
        save_npz_atomic(path.with_suffix(".npz"), {_mask_key(r, layer): mask for r, layers in enumerate(result["masks"])
                                                   for layer, mask in enumerate(layers)})
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
    expected = _flat(json.loads(json.dumps(settings.to_dict())))  # tuples become lists, as in the files
    results = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = parse_json(path.read_text())
            saved, result = _flat(record["settings"]), record["result"]
            result_key(result)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a finished job's file ({error})") from None
        differ = [f"{name}={saved.get(name)!r} (now {expected.get(name)!r})"
                  for name in dict.fromkeys([*expected, *saved]) if saved.get(name) != expected.get(name)]
        if differ:
            raise ValueError(f"{path} was made with other settings: {', '.join(differ)}; "
                             "resume with the same settings or choose another --out")
        if record.get("masks"):
            result["masks"] = _load_masks(path.parent / record["masks"], path)
        results.append(result)
    return results


def _flat(settings: dict, prefix: str = "") -> dict:
    """``{"training": {"iterations": 200}}`` as ``{"training.iterations": 200}``: a difference names one setting."""
    flat = {}
    for name, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def _load_masks(path: Path, owner: Path) -> list[list[np.ndarray]]:
    """The masks ``masks[r][l]`` of the ``.npz`` that ``owner``'s job saved."""
    try:
        arrays = load_npz(path, [], what="job's masks file")
    except FileNotFoundError:
        raise ValueError(f"{owner} needs its masks file {path}, which is missing") from None
    n_rounds, n_layers = (1 + max(int(key.split("_")[i]) for key in arrays) for i in (1, 3))
    return [[arrays[_mask_key(r, layer)] for layer in range(n_layers)] for r in range(n_rounds)]
