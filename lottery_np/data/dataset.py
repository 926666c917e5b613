"""The ``Dataset`` container, and :func:`as_dataset`, the one way data enters the library.

A dataset is a training, a validation and, optionally, a test split, one
sample per row: features ``X`` of shape ``(n_samples, n_features)`` (float32,
or float64 for a float64 reference model) and int64 labels ``y`` in
``0 .. n_classes - 1``. Loaders build one directly; anything else (a pair
``(X, y)``, an object with ``X_train, y_train, X_val, y_val``) goes through
:func:`as_dataset`. Either way ``Dataset.__post_init__`` applies the rules of
:mod:`lottery_np.data.rules`, so bad data is refused before any training, by
one rule with one message. The arrays are read-only views, so a model cannot
change data that another experiment shares.

>>> import numpy as np
>>> X, y = np.zeros((20, 3)), np.arange(20) % 2
>>> as_dataset((X, y))
Dataset(name='arrays', image_shape=(3,), train=18, val=2, no test set)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

from .rules import as_array, features_of, image_shape_of, labels_of, require_samples

PAPER_VALIDATION_SIZE = 5_000
"""Samples held out for validation (early stopping) in the paper: the last 5,000 of MNIST's 60,000."""

ARRAYS_NAME = "arrays"
"""The ``name`` of a dataset built from arrays rather than by a loader."""

_ROLES = {"train": "training", "val": "validation", "test": "test"}
_REQUIRED = ("X_train", "y_train", "X_val", "y_val")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and (optionally) test splits of one classification dataset.

    Every argument is checked by :mod:`lottery_np.data.rules`, and a
    ``ValueError`` naming the array (``X_val``, ``y_train``...) refuses data that
    breaks a rule: features that are not 2-D real numbers with the same number
    of columns in every split, or that hold NaN or infinity; labels that are not
    one integer >= 0 per row; an empty split.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (n_samples, n_features)
        float32 or float64 features, kept as given; any other real dtype
        (uint8, integers, float16) is converted to float32. The loaders give
        float32 images scaled to [0, 1]. ``X_test`` is None when there is no
        test set.
    y_train, y_val, y_test : ndarray of shape (n_samples,), int64
        Class labels. Integer labels of any width are converted to int64, and
        so are float labels holding whole numbers (``3.0``); other floats are
        refused. ``y_test`` is None exactly when ``X_test`` is.
    name : str, default "arrays"
        ``"mnist"``, ``"fashion-mnist"`` or ``"digits"`` from a loader.
    image_shape : tuple of int, optional
        Shape of one image, e.g. ``(28, 28)``, so ``X[i].reshape(image_shape)``;
        by default ``(n_features,)``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    name: str = ARRAYS_NAME
    image_shape: Optional[tuple[int, ...]] = None

    def __post_init__(self) -> None:
        if (self.X_test is None) != (self.y_test is None):
            given, missing = ("X_test", "y_test") if self.y_test is None else ("y_test", "X_test")
            raise ValueError(f"X_test and y_test must both be given or both be None, got {given} "
                             f"without {missing}")
        n_features = None
        for split in self.splits:
            X = features_of(f"X_{split}", getattr(self, f"X_{split}"))
            y = labels_of(f"y_{split}", getattr(self, f"y_{split}"), len(X), f"X_{split}")
            require_samples(f"X_{split}", X, _ROLES[split])
            n_features = X.shape[1] if n_features is None else n_features
            if X.shape[1] != n_features:
                raise ValueError(f"X_{split} must have {n_features} features like X_train, "
                                 f"got shape {X.shape}")
            for key, array in ((f"X_{split}", X), (f"y_{split}", y)):
                view = array.view()
                view.flags.writeable = False
                object.__setattr__(self, key, view)
        object.__setattr__(self, "image_shape", image_shape_of(self.image_shape, n_features))

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits this dataset has: ``("train", "val", "test")``, or ``("train", "val")``."""
        return ("train", "val") if self.X_test is None else ("train", "val", "test")

    @property
    def n_features(self) -> int:
        """Number of features (pixels) per sample, ``prod(image_shape)``."""
        return math.prod(self.image_shape)

    @property
    def n_classes(self) -> int:
        """One more than the largest label in any split (10 for MNIST)."""
        return 1 + max(int(getattr(self, f"y_{split}").max()) for split in self.splits)

    @property
    def sizes(self) -> dict[str, int]:
        """Samples per split, e.g. ``{"train": 55000, "val": 5000, "test": 10000}``.

        There is no ``"test"`` key without a test set.
        """
        return {split: len(getattr(self, f"y_{split}")) for split in self.splits}

    def subset(self, n_train: int | None = None, n_val: int | None = None,
               n_test: int | None = None) -> Dataset:
        """Keep the first ``n`` samples of each split, for quick runs.

        Parameters
        ----------
        n_train, n_val, n_test : int, optional
            How many samples to keep, in ``[1, size of the split]``; None keeps
            the whole split. ``n_test`` must be None without a test set.

        Returns
        -------
        Dataset
            Views of this dataset's arrays, no copies.
        """
        if n_test is not None and self.X_test is None:
            raise ValueError(f"n_test must be None for a dataset without a test set, got {n_test!r}")
        kept = {}
        for split, n in zip(self.splits, (n_train, n_val, n_test)):
            size = self.sizes[split]
            if n is None:
                n = size
            elif isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= size:
                raise ValueError(f"n_{split} must be an int in [1, {size}] or None, got {n!r}")
            kept[f"X_{split}"] = getattr(self, f"X_{split}")[:n]
            kept[f"y_{split}"] = getattr(self, f"y_{split}")[:n]
        return dataclasses.replace(self, **kept)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={n}" for split, n in self.sizes.items())
        test = "" if self.X_test is not None else ", no test set"
        return f"Dataset(name={self.name!r}, image_shape={self.image_shape}, {sizes}{test})"


def as_dataset(data: Any, *, validation: Optional[tuple[ArrayLike, ArrayLike]] = None,
               test: Optional[tuple[ArrayLike, ArrayLike]] = None) -> Dataset:
    """The validated :class:`Dataset` of ``data``, however it is given.

    Parameters
    ----------
    data : Dataset, dataset-like object or pair (X, y)
        A :class:`Dataset` (returned as it is unless a split is overridden); any
        object with attributes ``X_train, y_train, X_val, y_val`` and optionally
        ``X_test, y_test`` (None for no test set), ``name`` and ``image_shape``;
        or a tuple or list ``(X, y)`` of all the training samples. Without
        ``validation``, the last rows of a pair are held out for validation: the
        paper's 5,000 when there are at least 50,000, else the last tenth (at
        least 1 row).
    validation, test : pair (X, y), optional
        Replace the validation or test split of ``data``. A pair given as
        ``data`` together with ``validation`` is trained on whole.

    Returns
    -------
    Dataset
        Named ``data.name`` or ``"arrays"``; ``image_shape`` is
        ``data.image_shape`` or ``(n_features,)``.

    Raises
    ------
    TypeError
        If ``data`` is none of the above, lacks one of the four required
        attributes, or ``validation`` / ``test`` is not a pair.
    ValueError
        If a split breaks a rule of :class:`Dataset`. Positions in the message
        count from the start of the split; for a pair that was cut in two, a
        note on the exception says which of its rows each split holds.
    """
    if isinstance(data, Dataset) and validation is None and test is None:
        return data  # validated when it was built
    note = None
    if hasattr(data, "X_train"):
        missing = [key for key in _REQUIRED if not hasattr(data, key)]
        if missing:
            raise TypeError(f"data must have attributes {', '.join(_REQUIRED)}; "
                            f"{type(data).__name__} lacks {', '.join(missing)}")
        arrays = {key: getattr(data, key, None) for key in (*_REQUIRED, "X_test", "y_test")}
        name, image_shape = getattr(data, "name", ARRAYS_NAME), getattr(data, "image_shape", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        arrays, note = _split_pair(data, hold_out=validation is None)
        name, image_shape = ARRAYS_NAME, None
    else:
        raise TypeError("data must be a Dataset, an object with attributes X_train, y_train, X_val, "
                        f"y_val, or a pair (X, y), got {type(data).__name__}")
    for argument, split, pair in (("validation", "val", validation), ("test", "test", test)):
        if pair is None:
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{argument} must be a pair (X_{split}, y_{split}), got {type(pair).__name__}")
        arrays[f"X_{split}"], arrays[f"y_{split}"] = pair
    try:
        return Dataset(**arrays, name=name, image_shape=image_shape)
    except ValueError as err:
        if note is not None:
            err.add_note(note)
        raise


def _split_pair(pair: tuple[ArrayLike, ArrayLike], hold_out: bool) -> tuple[dict, Optional[str]]:
    """The arrays of a pair ``(X, y)``: all for training, or its last rows held out for validation.

    Returns the keyword arguments of :class:`Dataset` and, when the pair was cut,
    a note saying which rows each split holds.
    """
    X, y = as_array("X", pair[0]), as_array("y", pair[1])
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"data must be a pair (X, y) with one label in y per row of X, got X of shape "
                         f"{X.shape} and y of shape {y.shape}")
    if not hold_out:
        return {"X_train": X, "y_train": y}, None
    n = len(X)
    n_val = PAPER_VALIDATION_SIZE if n >= 10 * PAPER_VALIDATION_SIZE else max(1, n // 10)
    n_train = n - n_val
    arrays = {"X_train": X[:n_train], "y_train": y[:n_train], "X_val": X[n_train:], "y_val": y[n_train:]}
    note = (f"as_dataset cut the {n} rows of (X, y) in two: X_train holds the first {n_train}, "
            f"X_val the last {n_val} (its row 0 is row {n_train} of X)")
    return arrays, note
