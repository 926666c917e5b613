"""Loaders for MNIST, Fashion-MNIST and scikit-learn's 8x8 digits.

MNIST and Fashion-MNIST follow the paper's split: the first 55,000 training
images train, the last 5,000 validate (early stopping), and the 10,000 official
test images test. The files are found as :mod:`lottery_np.data.paths`
describes, and downloaded into the user cache when missing.

The digits set (1,797 images, bundled with scikit-learn) needs no files at all;
it is the instant offline demo. It is shuffled with a fixed seed and split into
1,257 train, 180 validation and 360 test images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import PAPER_VALIDATION_SIZE, Dataset
from .download import DownloadError, download_dataset
from .idx import read_idx
from .paths import DatasetNotFoundError, cache_root, candidate_folders, find_files, locate

IDX_CLASSES = 10
"""MNIST and Fashion-MNIST both have 10 classes, labelled 0..9."""
DIGITS_SIZES = {"train": 1257, "val": 180, "test": 360}


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load MNIST: 55,000 train, 5,000 validation and 10,000 test images of 28x28.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Folder holding the four IDX files, or a root with an ``mnist/``
        subfolder: then the only folder used (not ``$LOTTERY_NP_DATA``, the user
        cache or a download).
    download : bool, default True
        Without ``data_dir``: download the files into the user cache if no folder has them.

    Returns
    -------
    Dataset
        ``X`` of shape ``(n, 784)``, float32 in [0, 1]; ``y`` int64 in 0..9.

    Raises
    ------
    DatasetNotFoundError
        If the files are not found and cannot be (or may not be) downloaded.
    """
    return _load_idx_dataset("mnist", data_dir, download)


def load_fashion_mnist(data_dir: str | os.PathLike | None = None,
                       download: bool = True) -> Dataset:
    """Load Fashion-MNIST, split like :func:`load_mnist`.

    Also found in ``/usr/share/datasets/fashion-mnist``, where Debian's
    ``dataset-fashion-mnist`` package installs it.
    """
    return _load_idx_dataset("fashion-mnist", data_dir, download)


def load_digits(seed: int = 0) -> Dataset:
    """Load scikit-learn's 8x8 digits, shuffled by ``seed`` and split 1257/180/360.

    Parameters
    ----------
    seed : int, default 0
        Seed of the permutation that assigns images to splits; the same seed
        gives the same split on every machine.

    Returns
    -------
    Dataset
        ``X`` of shape ``(n, 64)``, the 0..16 grey levels divided by 16, float32;
        ``y`` int64 in 0..9.
    """
    # Imported here because importing scikit-learn takes about a second and
    # only this loader needs it.
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    X = (digits.data[order] / 16.0).astype(np.float32)
    y = digits.target[order].astype(np.int64)
    n_train, n_val = DIGITS_SIZES["train"], DIGITS_SIZES["val"]
    assert n_train + n_val + DIGITS_SIZES["test"] == len(y)
    return Dataset(X[:n_train], y[:n_train], X[n_train:n_train + n_val], y[n_train:n_train + n_val],
                   X[n_train + n_val:], y[n_train + n_val:], name="digits", image_shape=(8, 8))


LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist, "digits": load_digits}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None,
                 download: bool = True) -> Dataset:
    """Load a dataset by name: ``"mnist"``, ``"fashion-mnist"`` or ``"digits"``.

    ``data_dir`` and ``download`` are passed to the MNIST loaders; the digits
    are bundled with scikit-learn and ignore them (and use ``seed=0``).
    """
    if name not in LOADERS:
        raise ValueError(f"name must be one of {', '.join(map(repr, LOADERS))}, got {name!r}")
    if name == "digits":
        return load_digits()
    return LOADERS[name](data_dir, download)


def _load_idx_dataset(name: str, data_dir: str | os.PathLike | None, download: bool) -> Dataset:
    """Find (or download) the four IDX files of ``name`` and split them."""
    searched = candidate_folders(name, data_dir)
    if data_dir is not None:
        _check_data_dir(name, Path(data_dir).expanduser(), searched)
    files = locate(name, data_dir)
    if files is None:
        if data_dir is not None:
            raise DatasetNotFoundError(name, searched, f"data_dir names {data_dir}, the only folder used, and it "
                                                       "lacks them; nothing was downloaded.")
        if not download:
            raise DatasetNotFoundError(name, searched, "Downloading is off (download=False).")
        try:
            download_dataset(name, cache_root() / name)
        except DownloadError as err:
            raise DatasetNotFoundError(name, searched, str(err)) from err
        files = find_files(cache_root() / name)
    X_train, y_train, image_shape = _read_split(files["train-images-idx3-ubyte"],
                                                files["train-labels-idx1-ubyte"])
    X_test, y_test, test_shape = _read_split(files["t10k-images-idx3-ubyte"],
                                             files["t10k-labels-idx1-ubyte"])
    if test_shape != image_shape:
        raise ValueError(f"{files['t10k-images-idx3-ubyte']} holds images of {test_shape[0]}x{test_shape[1]} pixels, "
                         f"{files['train-images-idx3-ubyte']} of {image_shape[0]}x{image_shape[1]}: the two must match")
    if len(y_train) <= PAPER_VALIDATION_SIZE:
        raise ValueError(f"{files['train-labels-idx1-ubyte']}: {len(y_train)} training images, "
                         f"need more than the {PAPER_VALIDATION_SIZE} held out for validation")
    n_train = len(y_train) - PAPER_VALIDATION_SIZE
    return Dataset(X_train[:n_train], y_train[:n_train], X_train[n_train:], y_train[n_train:],
                   X_test, y_test, name=name, image_shape=image_shape)


def _check_data_dir(name: str, root: Path, searched: list) -> None:
    """Refuse a ``data_dir`` that is not an existing folder, naming it."""
    if not root.exists():
        raise DatasetNotFoundError(name, searched, f"data_dir names {root}, which does not exist.")
    if not root.is_dir():
        raise DatasetNotFoundError(name, searched, f"data_dir names {root}, which is a file, not a folder.")


def _read_split(images_path: os.PathLike,
                labels_path: os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Read one images/labels pair as flattened float32 ``X``, int64 ``y`` and the image shape."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{images_path}: expected uint8 images of shape (n, rows, cols), "
                         f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected uint8 labels of shape (n,), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.max() >= IDX_CLASSES:
        # Caught here, where the file can be named: a label of 200 would otherwise
        # pass every rule of Dataset and silently give a 201-class network.
        position = int(np.argmax(labels >= IDX_CLASSES))
        raise ValueError(f"{labels_path}: labels must lie in 0..{IDX_CLASSES - 1}, got "
                         f"{labels[position]} at position {position}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                         f"{len(labels)} labels")
    if len(images) == 0 or 0 in images.shape[1:]:
        raise ValueError(f"{images_path} holds no images (shape {images.shape})")
    X = np.divide(images.reshape(len(images), -1), np.float32(255.0), dtype=np.float32)
    return X, labels.astype(np.int64), images.shape[1:]
