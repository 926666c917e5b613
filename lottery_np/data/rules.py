"""The rules every split of a :class:`~lottery_np.data.Dataset` obeys, each coded once.

``Dataset.__post_init__`` applies them to every split, so data from a loader,
from :func:`~lottery_np.data.as_dataset` or built by hand is refused by the
same rule with the same message. A message names the array the way the
dataset spells it (``X_train``, ``y_val``, ``X_test``) and, for a bad value,
where the first one is, so that one look at the data finds it:

    >>> features_of("X_val", [[0.0, float("nan")]])
    Traceback (most recent call last):
    ...
    ValueError: X_val holds nan at row 0, column 1; remove or impute non-finite values before training

Every refusal is a ``ValueError``, whether the dtype, the shape or a value is
wrong, as for the library's settings (:mod:`lottery_np.validation`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

# Feature dtypes kept as they are: float32 is what the Numba kernels compute in,
# float64 is what a float64 reference model trains on. Any other real dtype
# (uint8 pixels, int grey levels, float16) becomes float32.
KEPT_FEATURE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest feature a float32 network can hold; float64 data beyond it would become infinity."""


def as_array(name: str, values: ArrayLike) -> np.ndarray:
    """``np.asarray(values)``, with the array's name in the error when that fails (ragged lists)."""
    try:
        return np.asarray(values)
    except ValueError as err:
        raise ValueError(f"{name} could not be read as an array: {err}") from err


def features_of(name: str, X: ArrayLike) -> np.ndarray:
    """The features ``X`` as a 2-D float array, if they are finite real numbers.

    Parameters
    ----------
    name : str
        How the array is named in messages, e.g. ``"X_train"``.
    X : array_like of shape (n_samples, n_features)
        Real numbers: float32 and float64 are kept, any other real dtype
        (integers, uint8, float16) is converted to float32.

    Returns
    -------
    ndarray of shape (n_samples, n_features), float32 or float64
        ``X`` itself when its dtype is kept, else a float32 copy.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D with at least one feature, holds something other
        than real numbers (bool, complex, strings, objects), or holds NaN or
        infinity; the message names the first such position and value.
    """
    X = as_array(name, X)
    # kind "f" is a float, "i"/"u" a signed/unsigned integer; bool ("b") is refused
    # with the rest, since True/False pixels are almost always a mistake upstream.
    if X.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features) with n_features >= 1, "
                         f"got shape {X.shape}")
    if X.dtype not in KEPT_FEATURE_DTYPES:
        X = X.astype(np.float32)
    # min and max propagate NaN and reach any infinity, so they find a non-finite
    # value without allocating a boolean array as large as X; only a bad X pays for
    # the search of its first bad position.
    lowest, highest = (X.min(), X.max()) if X.size else (0.0, 0.0)
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        row, column = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name} holds {X[row, column]} at row {row}, column {column}; "
                         "remove or impute non-finite values before training")
    if max(-lowest, highest) > FLOAT32_MAX:  # float64 values that become inf in float32
        row, column = np.argwhere(np.abs(X) > FLOAT32_MAX)[0]
        raise ValueError(f"{name} holds {X[row, column]} at row {row}, column {column}, beyond float32's range "
                         f"(+-{FLOAT32_MAX:.4g}), in which the network computes; rescale the features")
    return X


def labels_of(name: str, y: ArrayLike, n_samples: int, features_name: str) -> np.ndarray:
    """The labels ``y`` as int64 class indices, one per row of the features.

    Parameters
    ----------
    name : str
        How the labels are named in messages, e.g. ``"y_val"``.
    y : array_like of shape (n_samples,)
        Integer class labels >= 0. Float labels that hold whole numbers
        (``3.0``, as a CSV reader or ``np.loadtxt`` produces) are converted to
        int64; any other float label is refused.
    n_samples : int
        Rows of the matching features.
    features_name : str
        Name of the matching features, e.g. ``"X_val"``.

    Returns
    -------
    ndarray of shape (n_samples,), int64

    Raises
    ------
    ValueError
        If ``y`` is not of shape ``(n_samples,)``, holds bools, strings,
        objects or complex numbers, holds floats that are not whole numbers
        (NaN included), or holds a negative label.
    """
    y = as_array(name, y)
    if y.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), one class label per row of "
                         f"{features_name}, got shape {y.shape}")
    if y.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        # A float label is whole exactly when it survives the round trip through
        # int64; NaN, infinity and floats beyond the int64 range fail it too. The
        # cast of those is undefined, hence the silenced warning.
        with np.errstate(invalid="ignore"):
            whole = y.astype(np.int64)
        lost = np.flatnonzero(whole != y)
        if lost.size:
            raise ValueError(f"{name} must hold integer class labels, got {y.dtype} with "
                             f"non-integral values (first at position {lost[0]}: {y[lost[0]]})")
        y = whole
    if y.dtype.kind == "u" and y.size and y.max() > np.iinfo(np.int64).max:  # would wrap to a negative int64
        position = int(np.argmax(y > np.iinfo(np.int64).max))
        raise ValueError(f"{name} must hold class labels below 2**63, got {y[position]} at position {position}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        position = int(np.argmax(y < 0))
        raise ValueError(f"{name} must hold class labels >= 0, got {y[position]} at position {position}")
    return y


def require_samples(name: str, X: np.ndarray, role: str) -> None:
    """Raise ``ValueError`` if ``X`` (named ``name``, the ``role`` split) has no rows."""
    if len(X) == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); the {role} split needs at least 1 sample")


def image_shape_of(image_shape: ArrayLike | None, n_features: int) -> tuple[int, ...]:
    """``image_shape`` as a tuple of Python ints with product ``n_features``; None gives ``(n_features,)``."""
    if image_shape is None:
        return (n_features,)
    dims = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if dims is None or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                               for d in dims):
        raise ValueError(f"image_shape must be a tuple of ints >= 1, got {image_shape!r}")
    dims = tuple(int(d) for d in dims)
    if math.prod(dims) != n_features:
        raise ValueError(f"image_shape {dims} holds {math.prod(dims)} pixels, "
                         f"but X_train has {n_features} features")
    return dims
