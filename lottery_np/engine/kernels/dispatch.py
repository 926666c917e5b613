"""Which kernel computes what: the three products of a masked layer, and the crossovers between paths.

With activations feature-major (``A`` of shape ``(fan_in, n_samples)``, one
sample per column), weights ``W`` and a 0/1 mask ``M`` of shape
``(fan_in, fan_out)``, a masked layer needs::

    forward           Z  = (W * M).T @ A      (fan_out, n_samples)
    backward, input   dA = (W * M) @ dZ       (fan_in, n_samples)
    backward, weights dW = (A @ dZ.T) * M     (fan_in, fan_out), exactly 0 where M == 0

The weight gradient also comes as :func:`surviving_weight_gradients`, its values
at the surviving weights only (what the optimizers update). Each function takes
a :class:`~.pattern.SparsityPattern` (built once per mask) and a ``path``:

* ``"dense"``: NumPy's BLAS on the full matrices (fastest while most weights survive);
* ``"sparse"``: the Numba kernels of :mod:`.jitted`, whose work is proportional
  to the number of surviving weights;
* ``"reference"``: the plain NumPy definitions of :mod:`~lottery_np.engine.kernels.reference`;
* ``None``: the path :func:`forced_path` set for the calls within it, if any; otherwise
  ``"dense"`` or ``"sparse"`` by :func:`choose_path` on the pattern's density.

The network (:mod:`lottery_np.model`) never names a path: its maths is the same on
all of them. Whoever needs one path for a whole network's products (a training step
forced dense, a test comparing paths) says so around the call, ``with forced_path("dense"):``.

**Precondition of the first two products: ``W`` is exactly 0 where ``M == 0``.**
The model keeps its weights so (pruned weights are 0.0, always), and then
``W * M == W``: the dense path computes ``W.T @ A`` and ``W @ dZ`` without
forming ``W * M``, the sparse path reads only the surviving weights, and the
reference path forms ``W * M`` as the definition says. For weights that break
the precondition the dense path would count the pruned entries and the others
would not. The weight gradient needs no precondition; its dense path applies
``* M`` unless every weight survives.

float64 inputs (the model's gradient-checking mode) take the reference path, in
float64; forcing them onto the dense or sparse path, which compute in float32, is
refused. Anything else is converted to float32, C order, once, here,
so that each kernel is compiled for a single set of types. The sparse path
packs the surviving weights (``pattern.gather``, ``gather_by_output``) on every
call; training avoids that by keeping them packed and running a whole sparse
network in one call (:mod:`.fused`, :mod:`lottery_np.engine.step`), which
:func:`use_fused_step` decides.
"""
import contextlib
import contextvars
from typing import Iterator, Optional

import numpy as np

from . import jitted, reference
from .pattern import SparsityPattern

# The crossovers below are break-even points measured on LeNet-300-100 (benchmarks/README.md, "The
# measurements behind the engine", has the tables, the machines and the commands).

# Below this density a layer's products are faster on the sparse path: the break-even of the eight
# products of a training step at batch 60, the batch training runs at (it is higher at batch 1000).
CROSSOVER_DENSITY = 0.25

# Below this overall density a whole float32 network trains faster as one fused call with packed
# weights (lottery_np.engine.step.PackedSparseStep) than layer by layer: the break-even of a full
# training step (forward, backward, Adam; one thread) at batch 60.
FUSED_CROSSOVER_DENSITY = 0.35

# Below this overall density a float32 network infers faster in sample blocks, all layers in one sparse
# call (.inference), than layer by layer with BLAS: the break-even of one evaluation of MNIST's 15,000
# validation and test images on one thread, the default (lottery_np.engine.threads).
INFERENCE_CROSSOVER_DENSITY = 0.22

# Multiply-adds (surviving weights x samples) from which the parallel builds are used; below that the
# few microseconds of starting the threads are not won back.
PARALLEL_MIN_WORK = 30_000

PATHS = ("dense", "sparse", "reference")

_FORCED_PATH: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("forced_path", default=None)


@contextlib.contextmanager
def forced_path(path: Optional[str]) -> Iterator[None]:
    """Within the ``with`` block, every product called without a ``path`` takes ``path`` (None: the density decides).

    >>> import numpy as np
    >>> pattern = SparsityPattern.from_mask(np.eye(3))
    >>> with forced_path("sparse"):
    ...     masked_forward(np.ones((3, 2), np.float32), np.eye(3, dtype=np.float32), pattern).tolist()
    [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    check_path(path)
    token = _FORCED_PATH.set(path)
    try:
        yield
    finally:
        _FORCED_PATH.reset(token)


def choose_path(density: float) -> str:
    """The path of one layer's products: ``"sparse"`` when ``density < CROSSOVER_DENSITY``, else ``"dense"``."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density!r}")
    return "sparse" if density < CROSSOVER_DENSITY else "dense"


def use_fused_step(density: float, dtype) -> bool:
    """Whether a network of overall ``density`` trains as one fused sparse call (:mod:`.fused`).

    True for float32 below ``FUSED_CROSSOVER_DENSITY``; float64 networks always
    go layer by layer, on the reference path. The overall density decides, not
    each layer's: the paper prunes the small output layer at half the rate, and
    it should not keep a whole sparse network off the fused path.
    """
    return _below(density, FUSED_CROSSOVER_DENSITY, dtype)


def _below(density: float, crossover: float, dtype) -> bool:
    """Whether a ``dtype`` network of ``density`` takes a whole-network sparse kernel that starts below ``crossover``."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density!r}")
    return np.dtype(dtype) == np.float32 and density < crossover


# Fewer samples than this infer layer by layer whatever the density: for one sample the blocked kernel's
# fixed costs (packing the weights) exceed BLAS's whole dense product.
INFERENCE_MIN_SAMPLES = 16


def use_sparse_inference(density: float, dtype, n_samples: int) -> bool:
    """Whether ``n_samples`` go through a network of ``density`` in sample blocks, all layers in one call.

    True for float32 below ``INFERENCE_CROSSOVER_DENSITY`` and at least
    ``INFERENCE_MIN_SAMPLES`` samples (:mod:`.inference`); float64 networks
    always go layer by layer, on the reference path.
    """
    return n_samples >= INFERENCE_MIN_SAMPLES and _below(density, INFERENCE_CROSSOVER_DENSITY, dtype)


def masked_forward(A, weights, pattern: SparsityPattern, path: Optional[str] = None) -> np.ndarray:
    """``Z = (W * M).T @ A``, for ``W`` exactly 0 where ``M == 0`` (see the module's precondition).

    Parameters
    ----------
    A : array_like of shape (fan_in, n_samples)
    weights : array_like of shape (fan_in, fan_out)
    pattern : SparsityPattern of the mask ``M``
    path : {None, "dense", "sparse", "reference"}

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
        return weights.T @ A
    Z = np.empty((fan_out, A.shape[1]), dtype=np.float32)
    _spmm(pattern, A.shape[1])(pattern.csc_indptr, pattern.csc_indices, pattern.gather_by_output(weights), A, Z)
    return Z


def masked_backward_input(dZ, weights, pattern: SparsityPattern, path: Optional[str] = None) -> np.ndarray:
    """``dA = (W * M) @ dZ``, for ``W`` exactly 0 where ``M == 0`` (see the module's precondition).

    Parameters
    ----------
    dZ : array_like of shape (fan_out, n_samples)
    weights : array_like of shape (fan_in, fan_out)
    pattern, path : as in :func:`masked_forward`

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
        return weights @ dZ
    dA = np.empty((fan_in, dZ.shape[1]), dtype=np.float32)
    _spmm(pattern, dZ.shape[1])(pattern.csr_indptr, pattern.csr_indices, pattern.gather(weights), dZ, dA)
    return dA


def masked_backward_weights(A, dZ, pattern: SparsityPattern, path: Optional[str] = None) -> np.ndarray:
    """``dW = (A @ dZ.T) * M``, the whole matrix; the sparse path computes only the surviving entries.

    Parameters
    ----------
    A : array_like of shape (fan_in, n_samples)
    dZ : array_like of shape (fan_out, n_samples)
    pattern, path : as in :func:`masked_forward`

    Returns
    -------
    dW : ndarray of shape (fan_in, fan_out), float32 (float64 for float64 input)
        0 where ``M == 0``: +0.0 on the sparse path, which never writes there;
        ``-0.0`` can occur on the dense and reference paths.
    """
    path, A, dZ = _resolve_gradient(A, dZ, pattern, path)
    if path == "reference":
        return reference.masked_backward_weights(A, dZ, pattern.mask.astype(A.dtype, copy=False))
    if path == "dense":
        dW = A @ dZ.T
        if not pattern.is_dense:  # times an all-ones mask would change nothing
            dW *= pattern.mask
        return dW
    return pattern.scatter(_sddmm(A, dZ, pattern))


def surviving_weight_gradients(A, dZ, pattern: SparsityPattern, path: Optional[str] = None) -> np.ndarray:
    """``dW`` at the surviving weights only, ``dW.ravel()[pattern.active]``: what an optimizer updates.

    The same values as :func:`masked_backward_weights`, without the full matrix:
    the sparse path writes nothing else, and the dense path gathers the
    survivors of ``A @ dZ.T`` without applying ``* M`` first.

    Parameters
    ----------
    A, dZ, pattern, path : as in :func:`masked_backward_weights`

    Returns
    -------
    values : ndarray of shape (n_active,), float32 (float64 for float64 input), in ``pattern.active`` order
    """
    path, A, dZ = _resolve_gradient(A, dZ, pattern, path)
    if path == "reference":
        return pattern.gather(reference.masked_backward_weights(A, dZ, pattern.mask.astype(A.dtype, copy=False)))
    if path == "dense":
        return pattern.gather(A @ dZ.T)
    return _sddmm(A, dZ, pattern)


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


def check_path(path: Optional[str]) -> None:
    """Raise ``ValueError`` unless ``path`` is None (let the density choose) or one of ``PATHS``."""
    if path is not None and path not in PATHS:
        raise ValueError(f"path must be None or one of {PATHS}, got {path!r}")


def _resolve(path, pattern, *arrays):
    """The path to take, and the arrays converted for it.

    All float64 and the reference path if any array is float64; else ``path``
    (or the one :func:`forced_path` set, or :func:`choose_path`'s pick) and all float32 in C order.
    """
    check_path(path)
    path = path or _FORCED_PATH.get()
    if any(array.dtype == np.float64 for array in arrays):
        if path not in (None, "reference"):
            raise ValueError(f"the {path} path computes in float32; float64 arrays take the reference path")
        return "reference", [array.astype(np.float64, copy=False) for array in arrays]
    return path or choose_path(pattern.density), [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]


def _resolve_gradient(A, dZ, pattern, path) -> tuple:
    """``(path, A, dZ)`` for a weight gradient, checked and converted by :func:`_resolve`."""
    fan_in, fan_out = _check_pattern(pattern)
    A, dZ = _check("A", A, fan_in), _check("dZ", dZ, fan_out)
    path, (A, dZ) = _resolve(path, pattern, A, dZ)
    if A.shape[1] != dZ.shape[1]:
        raise ValueError(f"A and dZ must have the same n_samples, got {A.shape[1]} and {dZ.shape[1]}")
    return path, A, dZ


def _sddmm(A, dZ, pattern) -> np.ndarray:
    """The surviving entries of ``A @ dZ.T`` in ``active`` order, by the SDDMM build that suits the work."""
    values = np.empty(pattern.active.size, dtype=np.float32)
    kernel = jitted.sddmm_parallel if _parallel(pattern, A.shape[1]) else jitted.sddmm_serial
    kernel(pattern.csr_indptr, pattern.csr_indices, A, dZ, values)
    return values


def _parallel(pattern, n_samples) -> bool:
    """Whether the work is large enough for the parallel builds (see ``PARALLEL_MIN_WORK``)."""
    return pattern.active.size * n_samples >= PARALLEL_MIN_WORK


def _spmm(pattern, n_samples):
    """The SpMM build to use for this pattern and batch."""
    return jitted.spmm_parallel if _parallel(pattern, n_samples) else jitted.spmm_serial
