"""The one ``.npz`` layout of a network's arrays, shared by winning tickets and checkpoints.

A file holds its layer sizes under ``layer_sizes`` and each set of arrays under a key
prefix, one array per layer ``l``:

* parameters: ``{prefix}weights_{l}`` of shape ``(fan_in, fan_out)`` and ``{prefix}biases_{l}``
  of shape ``(fan_out,)``;
* masks: ``{prefix}mask_{l}``, 0/1 stored as ``uint8``.

A ticket stores its start weights and mask under the prefix ``""`` and its initialization
under ``"initial_"``; a checkpoint stores round ``r`` under ``"round{r}_start_"``,
``"round{r}_trained_"`` and ``"round{r}_"`` (its mask).
"""
from __future__ import annotations

import numpy as np

from ..files import NpzArchive
from ..model import Parameters

PARAMETER_KINDS = ("weights", "biases")


def array_key(prefix: str, kind: str, layer: int) -> str:
    """The key of layer ``layer``'s array of ``kind`` (``"weights"``, ``"biases"`` or ``"mask"``) under ``prefix``."""
    return f"{prefix}{kind}_{layer}"


def layer_sizes_array(layer_sizes) -> np.ndarray:
    """``layer_sizes`` (input first) as stored under the key ``layer_sizes``."""
    return np.asarray(layer_sizes, dtype=np.int64)


def layer_shapes(layer_sizes) -> list[tuple[int, int]]:
    """The ``(fan_in, fan_out)`` of every layer of a network of ``layer_sizes``."""
    return list(zip(layer_sizes[:-1], layer_sizes[1:]))


def parameter_keys(prefix: str, n_layers: int) -> list[str]:
    """Every key :func:`parameter_arrays` writes for a network of ``n_layers`` layers."""
    return [array_key(prefix, kind, layer) for kind in PARAMETER_KINDS for layer in range(n_layers)]


def mask_keys(prefix: str, n_layers: int) -> list[str]:
    """Every key :func:`mask_arrays` writes for a network of ``n_layers`` layers."""
    return [array_key(prefix, "mask", layer) for layer in range(n_layers)]


def parameter_arrays(prefix: str, params: Parameters) -> dict[str, np.ndarray]:
    """The arrays of ``params`` under ``prefix``, to be saved as they are."""
    arrays = {}
    for layer, (weights, biases) in enumerate(zip(params.weights, params.biases)):
        arrays[array_key(prefix, "weights", layer)] = weights
        arrays[array_key(prefix, "biases", layer)] = biases
    return arrays


def read_parameters(archive: NpzArchive, prefix: str, shapes: list[tuple[int, int]]) -> Parameters:
    """The :class:`Parameters` that :func:`parameter_arrays` wrote, every array checked for shape and finiteness.

    Raises
    ------
    CorruptFileError
        Naming the file and the first bad key.
    """
    return Parameters(
        [archive.floats(array_key(prefix, "weights", layer), shape) for layer, shape in enumerate(shapes)],
        [archive.floats(array_key(prefix, "biases", layer), shape[1:]) for layer, shape in enumerate(shapes)],
    )


def mask_arrays(prefix: str, masks: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The 0/1 ``masks`` under ``prefix``, as ``uint8``."""
    return {array_key(prefix, "mask", layer): mask.astype(np.uint8) for layer, mask in enumerate(masks)}


def read_masks(archive: NpzArchive, prefix: str, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
    """The masks that :func:`mask_arrays` wrote, as float32 0/1 arrays, each checked for shape and values.

    Raises
    ------
    CorruptFileError
        Naming the file and the first bad key.
    """
    return [archive.mask(array_key(prefix, "mask", layer), shape) for layer, shape in enumerate(shapes)]
