"""Masked dense-layer kernels (TEMPORARY STUB: reference path only; the jitted paths replace it)."""
import numpy as np

from . import reference


class SparsityPattern:
    """The surviving connections of one layer, built once per mask."""

    def __init__(self, mask: np.ndarray):
        self.mask = np.ascontiguousarray(mask, dtype=np.float32)
        self.active = np.flatnonzero(self.mask)
        self.density = self.active.size / self.mask.size

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> "SparsityPattern":
        return cls(mask)


def masked_forward(A, weights, pattern, path=None):
    return reference.masked_forward(A, weights, pattern.mask.astype(weights.dtype))


def masked_backward_input(dZ, weights, pattern, path=None):
    return reference.masked_backward_input(dZ, weights, pattern.mask.astype(weights.dtype))


def masked_backward_weights(A, dZ, pattern, path=None):
    return reference.masked_backward_weights(A, dZ, pattern.mask.astype(A.dtype))
