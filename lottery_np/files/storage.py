"""Saving arrays so that an interrupted write never leaves a half-written file.

Files are written next to their destination under a temporary name, flushed to the
disk (``fsync``), and moved into place with :func:`os.replace`, which is atomic on
POSIX and Windows: a reader sees the old file or the new one, never a mixture. The
folder is synced too, so that after a power cut the new name points at the new data.
A write killed half-way (``SIGKILL``, a crash) can leave only its temporary behind,
and the next successful write of the same file removes it. Loading goes through
:class:`~lottery_np.files.archive.NpzArchive`: it never unpickles, so a ``.npz`` from
elsewhere cannot run code, and a damaged file is a :class:`CorruptFileError`.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from .archive import CorruptFileError, NpzArchive, parse_json


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomic(path: str | os.PathLike, write, mode: str) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, sync it, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())  # the data reaches the disk before the name does
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes files private (0600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    _remove_stale_temporaries(path)
    return path


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; skipped where folders cannot be opened or synced (Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the temporaries that killed writes of ``path`` left behind.

    mkstemp's random part holds no dot, so the temporaries of ``a.npz`` and of
    ``a.npz.old`` never match each other's pattern. A concurrent writer of the same
    file would lose its temporary here, but two runs writing one file is refused
    earlier (:func:`~lottery_np.pruning.checkpoint.check_checkpoint_target`).
    """
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]+\.tmp")
    for name in os.listdir(path.parent):
        if pattern.fullmatch(name):
            Path(path.parent, name).unlink(missing_ok=True)


def save_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (a ``.npz`` file) atomically and return the path."""
    return _write_atomic(path, lambda stream: np.savez(stream, **arrays), "wb")


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    return _write_atomic(path, lambda stream: stream.write(text), "w")


def load_npz(path: str | os.PathLike, required: Iterable[str], what: str = "file") -> dict[str, np.ndarray]:
    """Read every array of a ``.npz`` file, checking that the ``required`` keys are present.

    Raises
    ------
    CorruptFileError
        Naming the file, if it is not a readable ``.npz`` or lacks a required key.
    """
    archive = NpzArchive(path, what)
    missing = sorted(set(required) - archive.keys)
    if missing:
        raise CorruptFileError(path, what, f"missing {', '.join(missing)}", missing[0])
    return {key: archive.array(key) for key in archive.keys}


def json_array(value) -> np.ndarray:
    """Store a JSON-serialisable value inside a ``.npz`` as a string array (no pickling)."""
    return np.array(json.dumps(value))


def read_json_array(array: np.ndarray):
    """Inverse of :func:`json_array`."""
    return parse_json(str(array))

