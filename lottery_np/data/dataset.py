"""The ``Dataset`` container: three labelled splits of flattened images.

Every loader in :mod:`lottery_np.data` returns one. Features are float32 in
[0, 1], one image per row, shape ``(n_samples, n_features)`` with
``n_features = prod(image_shape)``; labels are int64 in ``0 .. n_classes - 1``.
The arrays are read-only views, so a model cannot change data that another
experiment shares.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

_SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits of one image-classification dataset.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (n_samples, n_features), float32
        Flattened images scaled to [0, 1].
    y_train, y_val, y_test : ndarray of shape (n_samples,), int64
        Class labels.
    name : str
        ``"mnist"``, ``"fashion-mnist"`` or ``"digits"``.
    image_shape : tuple of int
        Shape of one image, e.g. ``(28, 28)``; ``X[i].reshape(image_shape)``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    image_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(d) for d in self.image_shape))
        n_features = math.prod(self.image_shape)
        for split in _SPLITS:
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if X.dtype != np.float32 or X.ndim != 2 or X.shape[1] != n_features:
                raise ValueError(
                    f"X_{split} must be float32 of shape (n, {n_features}) for image_shape "
                    f"{self.image_shape}, got {X.dtype} of shape {X.shape}"
                )
            if y.dtype != np.int64 or y.shape != (X.shape[0],):
                raise ValueError(
                    f"y_{split} must be int64 of shape ({X.shape[0]},) to match X_{split}, "
                    f"got {y.dtype} of shape {y.shape}"
                )
            if y.size and y.min() < 0:
                raise ValueError(f"y_{split} must hold labels >= 0, got {y.min()}")
            for key, array in ((f"X_{split}", X), (f"y_{split}", y)):
                view = array.view()
                view.flags.writeable = False
                object.__setattr__(self, key, view)

    @property
    def n_features(self) -> int:
        """Number of pixels per image, ``prod(image_shape)``."""
        return math.prod(self.image_shape)

    @property
    def n_classes(self) -> int:
        """One more than the largest label in any split (10 for MNIST)."""
        maxima = [int(y.max()) for y in (self.y_train, self.y_val, self.y_test) if y.size]
        return 1 + max(maxima) if maxima else 0

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples per split, e.g. ``{"train": 55000, "val": 5000, "test": 10000}``."""
        return {split: len(getattr(self, f"y_{split}")) for split in _SPLITS}

    def subset(self, n_train: int | None = None, n_val: int | None = None,
               n_test: int | None = None) -> Dataset:
        """Keep the first ``n`` samples of each split, for quick runs.

        Parameters
        ----------
        n_train, n_val, n_test : int, optional
            How many samples to keep, in ``[0, size of the split]``; None keeps
            the whole split.

        Returns
        -------
        Dataset
            Views of this dataset's arrays, no copies.
        """
        kept = {}
        for split, n in zip(_SPLITS, (n_train, n_val, n_test)):
            size = self.sizes[split]
            if n is None:
                n = size
            elif isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= size:
                raise ValueError(f"n_{split} must be an int in [0, {size}] or None, got {n!r}")
            kept[f"X_{split}"] = getattr(self, f"X_{split}")[:n]
            kept[f"y_{split}"] = getattr(self, f"y_{split}")[:n]
        return dataclasses.replace(self, **kept)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={n}" for split, n in self.sizes.items())
        return f"Dataset(name={self.name!r}, image_shape={self.image_shape}, {sizes})"
