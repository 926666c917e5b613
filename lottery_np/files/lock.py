"""One live process per output folder: a run holds its folder, and the kernel lets go when the process ends.

Two runs writing one folder would each believe the folder is theirs: the second rewrites the
first's settings, the two interleave their checkpoints or job files, and what is left is
neither run. So a run holds its output folder for as long as it writes there
(:func:`owned_folder`), with an advisory ``flock`` on the folder itself: no lock file to be
left behind, and a run killed by any signal, ``SIGKILL`` included, releases the folder as the
kernel closes its files. A second run is refused at once, naming the folder, before it
changes anything in it.

``flock`` is POSIX; where the platform has none (Windows), or the file system refuses it (some
network file systems), folders are not held and runs go on as before.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


class FolderInUseError(ValueError):
    """Another live process holds the folder."""


@contextlib.contextmanager
def owned_folder(folder: str | os.PathLike, name: str = "folder") -> Iterator[Path]:
    """Create ``folder`` if need be, and hold it for this process until the ``with`` block ends.

    ``name`` is how messages call it (``"--out"`` on the command line).

    Raises
    ------
    FolderInUseError
        If another process holds it (another run writing there now).
    ValueError
        If ``folder`` is a file, or cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch, owned_folder(scratch) as folder:
    ...     folder.is_dir()
    True
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"{name} {folder} cannot be created: {error.strerror or error}") from None
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FolderInUseError(f"{name} {folder} is in use by another run, which writes there now; wait for "
                                       "it to finish, or choose another folder") from None
            except OSError:  # a file system without locks (ENOLCK, EOPNOTSUPP): the folder is not held
                pass
        yield folder
    finally:
        os.close(descriptor)  # releases the lock
