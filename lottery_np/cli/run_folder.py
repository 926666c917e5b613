"""The run folder of ``lottery-np find-ticket``: what it holds, and the checks before writing into it.

A finished run folder holds

* ``settings.json`` -- the command-line settings (and the library's ``numerics`` version),
  written when the search starts, so that ``--resume`` can name any setting that differs from
  the interrupted run's, or say that an older lottery_np started it;
* ``checkpoint.npz`` -- the search after every finished round, written atomically by the
  pruner, so that ``--resume`` continues an interrupted run to the identical result;
* ``ticket.npz`` -- the winning ticket (:meth:`~lottery_np.pruning.WinningTicket.save`);
* ``history.json`` -- ``{"settings", "ticket_round", "density", "image_shape", "history"}``:
  the settings again and every round's :meth:`~lottery_np.pruning.RoundRecord.to_dict`;
* the figures that :func:`lottery_np.plots.plot_run` draws from the last two.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Optional, Sequence

from .. import schema
from ..files import parse_json, write_text_atomic
from ..pruning import NUMERICS_VERSION, WinningTicket

SETTINGS, CHECKPOINT, TICKET, HISTORY = "settings.json", "checkpoint.npz", "ticket.npz", "history.json"

# Settings a resumed run may change: where files are and what is shown, or (the tolerance)
# only which finished round is picked, which the resumed run redoes from the full history.
MAY_CHANGE_ON_RESUME = ("data_dir", "download", "out", "resume", "progress", "accuracy_tolerance")


def check_run_folder(out: Path, settings: dict, resume: bool) -> None:
    """Refuse a fresh run over an earlier one, and a resumed run whose settings differ from its start.

    Raises
    ------
    ValueError
        If ``out`` is a file, holds a run and ``resume`` is False, or holds a run
        started with other settings (every such setting is named).
    """
    refuse_earlier_run(out, (CHECKPOINT, TICKET), resume)
    if any((out / name).exists() for name in (CHECKPOINT, TICKET)) and (out / SETTINGS).is_file():
        started_with = _read_json(out / SETTINGS)
        if started_with.get("numerics") != NUMERICS_VERSION:
            raise ValueError(f"the run in {out} was started by an older lottery_np, whose numbers differ from this "
                             "version's; it cannot be resumed: start it afresh with another --out")
        differ = [f"--{name.replace('_', '-')} {value!r} (the run has {_started(started_with, name)!r})"
                  for name, value in settings.items()
                  if name not in MAY_CHANGE_ON_RESUME and _started(started_with, name) != value]
        if differ:
            raise ValueError(f"the run in {out} was started with other settings: {', '.join(differ)}; "
                             "resume with its settings, or choose another --out")


def _started(started_with: dict, name: str):
    """The value a run was started with; an option newer than the run (absent from its file) had its default."""
    if name in started_with:
        return started_with[name]
    return _DEFAULTS.get(name)


_DEFAULTS = {setting.dest: setting.default for setting in schema.SETTINGS.values() if setting.flag}


def record_settings(out: Path, settings: dict) -> Path:
    """Write ``settings.json`` into ``out`` (created if needed)."""
    return write_text_atomic(out / SETTINGS, json.dumps(settings, indent=2) + "\n")


def save_run(out: Path, ticket: WinningTicket, image_shape: tuple, settings: dict) -> list[Path]:
    """Write ``ticket.npz``, ``history.json`` and the plots into ``out``; return every file of the run."""
    from ..plots import plot_run  # here: matplotlib is slow to import and only a finished run draws

    ticket.save(out / TICKET)
    history = {
        "settings": settings,
        "ticket_round": ticket.pruning_round,
        "density": ticket.density,
        "image_shape": list(image_shape),
        "history": [record.to_dict() for record in ticket.history],
    }
    write_text_atomic(out / HISTORY, json.dumps(history, indent=2) + "\n")
    return [out / SETTINGS, out / CHECKPOINT, out / TICKET, out / HISTORY, *plot_run(out)]


def _read_json(path: Path) -> dict:
    try:
        settings = parse_json(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not a settings file: {error}") from error
    if not isinstance(settings, dict):
        raise ValueError(f"{path} is not a settings file: it holds a {type(settings).__name__}, not an object")
    return settings


def refuse_earlier_run(out: Path, files: Sequence[str], resume: bool) -> None:
    """Refuse a file as ``--out``, and a fresh run (``resume`` False) in a folder holding any of ``files``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "state.npz").write_bytes(b"")
    >>> refuse_earlier_run(folder, ("state.npz",), resume=True)  # continuing it is fine
    >>> refuse_earlier_run(folder, ("state.npz",), resume=False)
    Traceback (most recent call last):
    ...
    ValueError: ... already holds a run (state.npz); pass --resume to continue it, or choose another --out folder
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the file {out}")
    earlier = [name for name in files if (out / name).exists()]
    if earlier and not resume:
        raise ValueError(f"{out} already holds a run ({', '.join(earlier)}); "
                         f"pass --resume to continue it, or choose another --out folder")


def interrupted_message(saved: Optional[str], argv: Sequence[str]) -> str:
    """One line: what an interrupted run kept (``saved``; None: nothing yet), and the command that continues it.

    Examples
    --------
    >>> interrupted_message("the finished rounds are saved in run/checkpoint.npz", ["find-ticket", "--out", "run"])
    'lottery-np: interrupted; the finished rounds are saved in run/checkpoint.npz; continue with: lottery-np find-ticket --out run --resume'
    >>> interrupted_message(None, ["find-ticket", "--out", "run", "--resume"])
    'lottery-np: interrupted before anything was saved; start again with: lottery-np find-ticket --out run --resume'
    """
    command = shlex.join(["lottery-np", *argv, *([] if "--resume" in argv else ["--resume"])])
    if saved is None:
        return f"lottery-np: interrupted before anything was saved; start again with: {command}"
    return f"lottery-np: interrupted; {saved}; continue with: {command}"
