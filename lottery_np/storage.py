"""Saving arrays so that an interrupted write never leaves a half-written file.

Files are written next to their destination under a temporary name and moved into
place with :func:`os.replace`, which is atomic on POSIX and Windows: a reader sees
the old file or the new one, never a mixture. Loading never unpickles
(``allow_pickle=False``), so a ``.npz`` from elsewhere cannot run code.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomic(path: str | os.PathLike, write, mode: str) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode) as stream:
            write(stream)
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes files private (0600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


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
    ValueError
        Naming the file, if it is not a readable ``.npz`` or lacks a required key.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path} is not a valid {what}: {error}") from error
    missing = sorted(set(required) - set(arrays))
    if missing:
        raise ValueError(f"{path} is not a valid {what}: missing {', '.join(missing)}")
    return arrays


def json_array(value) -> np.ndarray:
    """Store a JSON-serialisable value inside a ``.npz`` as a string array (no pickling)."""
    return np.array(json.dumps(value))


def read_json_array(array: np.ndarray):
    """Inverse of :func:`json_array`."""
    return json.loads(str(array))
