"""The three products of a masked dense layer, and the choice of how to compute them.

With activations feature-major (``A`` of shape ``(fan_in, n_samples)``, one
sample per column), weights ``W`` and a 0/1 mask ``M`` of shape
``(fan_in, fan_out)``, a masked layer needs::

    forward           Z  = (W * M).T @ A      (fan_out, n_samples)
    backward, input   dA = (W * M) @ dZ       (fan_in, n_samples)
    backward, weights dW = (A @ dZ.T) * M     (fan_in, fan_out), exactly 0 where M == 0

Each function takes a :class:`SparsityPattern` (built once per mask) and a
``path``:

* ``"dense"``: NumPy's BLAS on the full matrices (fastest while most weights survive);
* ``"sparse"``: the Numba kernels of :mod:`.jitted`, whose work is proportional
  to the number of surviving weights;
* ``"reference"``: the plain NumPy definitions of :mod:`.reference`;
* ``None``: ``"dense"`` or ``"sparse"`` by :func:`choose_path` on the pattern's density.

float64 inputs (the model's gradient-checking mode) always take the reference
path, in float64. Anything else is converted to float32, C order, once, here,
so that each kernel is compiled for a single set of types. The results equal
the definitions above for any ``W``, also one with non-zero entries where
``M == 0``; a caller that keeps ``W`` exactly 0 there (as the model does) may
pass ``weights_are_masked=True`` to spare the dense path its ``W * M``. The
sparse path packs the surviving weights (``pattern.gather``, ``gather_by_output``) on every call;
training avoids that by keeping them packed (:mod:`lottery_np.step`) and
running a whole sparse network in one call (:mod:`.fused`).
"""
import numpy as np

from . import jitted, reference
from .pattern import SparsityPattern

__all__ = [
    "CROSSOVER_DENSITY",
    "FUSED_CROSSOVER_DENSITY",
    "LAYOUTS",
    "SparsityPattern",
    "choose_path",
    "masked_backward_input",
    "masked_backward_weights",
    "masked_forward",
]

# Below this density the sparse path is faster. Measured with
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kernels.py --repeats 100
# on 2 vCPUs of an AMD EPYC (Zen 4, AVX-512), NumPy 2.4.6 with OpenBLAS 0.3.31 (SkylakeX kernels,
# 2 threads), numba 0.68.1 (OpenMP layer, 2 threads), load average below 1.2. Medians of the
# eight products of a LeNet-300-100 training step, dense (with W * M) / sparse:
#   batch   60: density 0.5 0.67/1.14 ms, 0.2 0.67/0.57 ms, 0.1 0.68/0.33 ms -> break-even 0.25
#   batch 1000: density 0.5 7.60/9.17 ms, 0.2 7.44/4.00 ms, 0.1 8.47/2.15 ms -> break-even 0.40
# (two runs agreed to 0.01). Training runs at batch 60, so its break-even is the one used.
CROSSOVER_DENSITY = 0.25

# Below this overall density a whole network trains faster on the sparse path, as one fused call
# with packed weights (lottery_np.step.PackedSparseStep), than on the dense path. Measured like
# CROSSOVER_DENSITY but for a full LeNet-300-100 training step (forward, backward, Adam; one thread),
# dense / sparse: batch 60: density 0.4 0.86x, 0.3 1.22x, 0.2 1.37x; batch 1000: 0.4 1.32x, 0.3 1.60x
# (benchmarks/bench_engine.py and single runs at 0.3 and 0.4). Break-even at batch 60: about 0.35.
FUSED_CROSSOVER_DENSITY = 0.35

# Multiply-adds (surviving weights x samples) from which the parallel builds are used. On the
# machine above, for a 300x100 layer and batch 60, SpMM/SDDMM took 5.7/10.3 us serial and 5.2/7.5 us
# on two threads at 17,760 multiply-adds, 8.2/13.5 and 6.7/9.2 us at 36,480 (medians); below that
# the few microseconds of starting the threads are not won back.
PARALLEL_MIN_WORK = 30_000

PATHS = ("dense", "sparse", "reference")
LAYOUTS = ("dense", "active")


def choose_path(density: float) -> str:
    """``"sparse"`` when ``density < CROSSOVER_DENSITY``, else ``"dense"``."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density!r}")
    return "sparse" if density < CROSSOVER_DENSITY else "dense"


def masked_forward(A, weights, pattern, path=None, *, weights_are_masked=False):
    """``Z = (W * M).T @ A``.

    Parameters
    ----------
    A : array_like of shape (fan_in, n_samples)
    weights : array_like of shape (fan_in, fan_out)
    pattern : SparsityPattern of the mask ``M``
    path : {None, "dense", "sparse", "reference"}
    weights_are_masked : bool
        Promise that ``weights`` is already exactly 0 where ``M == 0`` (the model
        keeps it so); the dense path then skips forming ``W * M``.

    Returns
    -------
    Z : ndarray of shape (fan_out, n_samples), float32 (float64 for float64 input)
    """
    fan_in, fan_out = _check_pattern(pattern)
    A, weights = _check("A", A, fan_in), _check("weights", weights, fan_in, fan_out)
    path, (A, weights) = _resolve(path, pattern, A, weights)
    if path == "reference":
        return reference.masked_forward(A, weights, pattern.mask.astype(A.dtype, copy=False))
    if path == "dense":
        return (weights if weights_are_masked else weights * pattern.mask).T @ A
    Z = np.empty((fan_out, A.shape[1]), dtype=np.float32)
    _spmm(pattern, A.shape[1])(pattern.csc_indptr, pattern.csc_indices, pattern.gather_by_output(weights), A, Z)
    return Z


def masked_backward_input(dZ, weights, pattern, path=None, *, weights_are_masked=False):
    """``dA = (W * M) @ dZ``.

    Parameters
    ----------
    dZ : array_like of shape (fan_out, n_samples)
    weights : array_like of shape (fan_in, fan_out)
    pattern, path, weights_are_masked : as in :func:`masked_forward`

    Returns
    -------
    dA : ndarray of shape (fan_in, n_samples), float32 (float64 for float64 input)
    """
    fan_in, fan_out = _check_pattern(pattern)
    dZ, weights = _check("dZ", dZ, fan_out), _check("weights", weights, fan_in, fan_out)
    path, (dZ, weights) = _resolve(path, pattern, dZ, weights)
    if path == "reference":
        return reference.masked_backward_input(dZ, weights, pattern.mask.astype(dZ.dtype, copy=False))
    if path == "dense":
        return (weights if weights_are_masked else weights * pattern.mask) @ dZ
    dA = np.empty((fan_in, dZ.shape[1]), dtype=np.float32)
    _spmm(pattern, dZ.shape[1])(pattern.csr_indptr, pattern.csr_indices, pattern.gather(weights), dZ, dA)
    return dA


def masked_backward_weights(A, dZ, pattern, path=None, *, layout="dense"):
    """``dW = (A @ dZ.T) * M``; the sparse path computes only the surviving entries.

    Parameters
    ----------
    A : array_like of shape (fan_in, n_samples)
    dZ : array_like of shape (fan_out, n_samples)
    pattern, path : as in :func:`masked_forward`
    layout : {"dense", "active"}
        ``"dense"``: the whole ``(fan_in, fan_out)`` matrix. ``"active"``: only
        the values at the surviving weights, ``dW.ravel()[pattern.active]``, as
        the optimizers take them; the sparse path then writes nothing else.

    Returns
    -------
    dW : ndarray of shape (fan_in, fan_out) or (n_active,), float32 (float64 for float64 input)
        In the dense layout, 0 where ``M == 0`` (``-0.0`` can occur on the dense
        and reference paths).
    """
    fan_in, fan_out = _check_pattern(pattern)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    A, dZ = _check("A", A, fan_in), _check("dZ", dZ, fan_out)
    path, (A, dZ) = _resolve(path, pattern, A, dZ)
    if A.shape[1] != dZ.shape[1]:
        raise ValueError(f"A and dZ must have the same n_samples, got {A.shape[1]} and {dZ.shape[1]}")
    if path == "sparse":
        values = np.empty(pattern.active.size, dtype=np.float32)
        kernel = jitted.sddmm_parallel if _parallel(pattern, A.shape[1]) else jitted.sddmm_serial
        kernel(pattern.csr_indptr, pattern.csr_indices, A, dZ, values)
        return values if layout == "active" else pattern.scatter(values)
    if path == "reference":
        dW = reference.masked_backward_weights(A, dZ, pattern.mask.astype(A.dtype, copy=False))
    else:
        dW = A @ dZ.T
        if layout == "dense":
            dW *= pattern.mask
    return dW if layout == "dense" else pattern.gather(dW)


# ----------------------------------------------------------------- helpers
def _check_pattern(pattern) -> tuple:
    """``(fan_in, fan_out)`` of ``pattern``, which must be a :class:`SparsityPattern`."""
    if not isinstance(pattern, SparsityPattern):
        raise TypeError(f"pattern must be a SparsityPattern, got {type(pattern).__name__}")
    return pattern.shape


def _check(name, array, rows, columns=None):
    """``array`` as a 2-D ndarray of real numbers with ``rows`` rows (and ``columns`` columns, if given)."""
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] != rows or (columns is not None and array.shape[1] != columns):
        expected = f"({rows}, {'n_samples' if columns is None else columns})"
        raise ValueError(f"{name} must have shape {expected} to match the pattern, got {array.shape}")
    if array.dtype.kind not in "iuf":  # signed, unsigned, floating
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def _resolve(path, pattern, *arrays):
    """The path to take, and the arrays converted for it.

    All float64 and the reference path if any array is float64; else ``path``
    (or :func:`choose_path`'s pick) and all float32 in C order.
    """
    if path is not None and path not in PATHS:
        raise ValueError(f"path must be None or one of {PATHS}, got {path!r}")
    if any(array.dtype == np.float64 for array in arrays):
        return "reference", [array.astype(np.float64, copy=False) for array in arrays]
    return path or choose_path(pattern.density), [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]


def _parallel(pattern, n_samples) -> bool:
    """Whether the work is large enough for the parallel builds (see ``PARALLEL_MIN_WORK``)."""
    return pattern.active.size * n_samples >= PARALLEL_MIN_WORK


def _spmm(pattern, n_samples):
    """The SpMM build to use for this pattern and batch."""
    return jitted.spmm_parallel if _parallel(pattern, n_samples) else jitted.spmm_serial
