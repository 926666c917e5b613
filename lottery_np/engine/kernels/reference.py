"""Plain NumPy definitions of the three products of a masked dense layer.

These are the specification the jitted kernels are tested against, and the path
the float64 (gradient-checking) model uses. Activations are *feature-major*:
``A`` has shape ``(fan_in, n_samples)``, so that one sample is one column.

With weights ``W`` of shape ``(fan_in, fan_out)`` and a 0/1 mask ``M`` of the
same shape, a masked layer computes ``Z = (W * M).T @ A``. Its backward pass
needs ``dA = (W * M) @ dZ`` and ``dW = (A @ dZ.T) * M``.
"""
import numpy as np


def masked_forward(A: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``Z = (W * M).T @ A``, shape ``(fan_out, n_samples)``."""
    return (weights * mask).T @ A


def masked_backward_input(dZ: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dA = (W * M) @ dZ``, shape ``(fan_in, n_samples)``."""
    return (weights * mask) @ dZ


def masked_backward_weights(A: np.ndarray, dZ: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dW = (A @ dZ.T) * M``, shape ``(fan_in, fan_out)``; exactly 0.0 where ``M`` is 0."""
    return (A @ dZ.T) * mask
