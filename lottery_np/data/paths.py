"""Where the IDX datasets live on disk, and the error raised when they are nowhere.

A ``data_dir`` the user names is the only root searched: if it lacks the files, the
loader says so, naming it, rather than quietly reading another copy or downloading.
Without one, candidate roots are tried in this order, and the first folder that holds
all four files wins:

1. the ``LOTTERY_NP_DATA`` environment variable,
2. the user cache, ``$XDG_CACHE_HOME/lottery_np`` or ``~/.cache/lottery_np``
   (downloads land in ``<cache>/<dataset>/``),

and, last, folders where system packages install a dataset (Debian's
``dataset-fashion-mnist`` puts Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``).

For each root the dataset is looked up in ``<root>/<dataset>/`` and then in
``<root>/`` itself, so ``data_dir`` may point at the MNIST folder directly. A
root whose own name is another dataset's (``.../mnist`` when Fashion-MNIST is
wanted) is not used directly, so one dataset is never loaded as the other.
Each file may be gzip-compressed (``name.gz``) or not (``name``).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "LOTTERY_NP_DATA"

# Base names of the four IDX files, the same for MNIST and Fashion-MNIST.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
IDX_DATASETS = ("mnist", "fashion-mnist")

SYSTEM_FOLDERS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the searched folders and could not be downloaded.

    Attributes
    ----------
    dataset : str
        The dataset's name, e.g. ``"mnist"``.
    searched : list of Path
        The folders that were looked in, in order.
    """

    def __init__(self, dataset: str, searched: list[Path], reason: str):
        self.dataset = dataset
        self.searched = searched
        looked = "\n".join(f"  {folder}" for folder in searched)
        names = ", ".join(f"{name}.gz" for name in IDX_FILES)
        super().__init__(
            f"{dataset} was not found. Looked in:\n{looked}\n"
            f"Put the four files {names} (gzip-compressed or not) in "
            f"'{cache_root() / dataset}', or in a folder '<root>/{dataset}/' and pass "
            f"data_dir='<root>' or set the environment variable {ENV_VAR}='<root>'.\n{reason}"
        )


def cache_root() -> Path:
    """The user cache folder, ``$XDG_CACHE_HOME/lottery_np`` or ``~/.cache/lottery_np``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lottery_np"


def candidate_folders(dataset: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders to look in for ``dataset``, in order of precedence.

    Parameters
    ----------
    dataset : str
        ``"mnist"`` or ``"fashion-mnist"``; also the subfolder name.
    data_dir : str or path-like, optional
        An explicit root: then the only one.

    Returns
    -------
    list of Path
        Without duplicates.
    """
    roots = [data_dir] if data_dir is not None else [os.environ.get(ENV_VAR) or None, cache_root()]
    folders = []
    for root in (Path(r).expanduser() for r in roots if r is not None):
        folders.append(root / dataset)
        if root.name == dataset or root.name not in IDX_DATASETS:
            folders.append(root)
    if data_dir is None:
        folders.extend(SYSTEM_FOLDERS.get(dataset, ()))
    return list(dict.fromkeys(folders))


def find_files(folder: Path) -> dict[str, Path] | None:
    """Paths of the four IDX files in ``folder``, or None if any is missing.

    Returns
    -------
    dict or None
        Maps each name in :data:`IDX_FILES` to ``folder/name`` or ``folder/name.gz``,
        whichever exists (the uncompressed one if both do).
    """
    files = {}
    for name in IDX_FILES:
        found = [p for p in (folder / name, folder / f"{name}.gz") if p.is_file()]
        if not found:
            return None
        files[name] = found[0]
    return files


def locate(dataset: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The IDX files of ``dataset`` from the first candidate folder holding all four.

    Returns
    -------
    dict or None
        See :func:`find_files`; None if no candidate folder is complete.
    """
    for folder in candidate_folders(dataset, data_dir):
        files = find_files(folder)
        if files is not None:
            return files
    return None
