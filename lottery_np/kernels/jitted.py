"""Numba kernels of the sparse path: work proportional to the surviving weights.

A masked layer needs two kinds of product, both over the compressed index
arrays of a :class:`~lottery_np.kernels.pattern.SparsityPattern`:

* **SpMM** (sparse times dense), ``out = S @ X`` where only the entries of ``S``
  listed by ``indptr``/``indices`` count. Row ``r`` of the result is a sum of
  rows of ``X``::

      out[r, :] = sum_k S[r, c_k] * X[c_k, :]    over k in indptr[r]:indptr[r + 1], c_k = indices[k]

  The forward product is ``Z = (W * M).T @ A`` (``S = W.T``, rows = outputs,
  the pattern's by-output arrays); the backward one is ``dA = (W * M) @ dZ``
  (``S = W``, rows = inputs, the by-input arrays). The weights are read from
  the dense ``W`` at the surviving positions, so nothing is gathered per step.
* **SDDMM** (sampled dense-dense), ``dW = (A @ dZ.T) * M`` at the surviving
  entries only: one dot product over the samples per surviving weight::

      out[r, c_k] = sum_s A[r, s] * dZ[c_k, s]

  and ``+0.0`` elsewhere. The kernel zeroes each row itself, on the thread that
  fills it: for LeNet's first layer (batch 60, density 0.1) the parallel build
  into ``np.empty`` took 91 us against 120 us into ``np.zeros``.

Activations are feature-major (one sample per column), so every innermost loop
runs over contiguous samples and LLVM vectorises it. The row kernels handle
several surviving entries per pass over the samples: the SpMM eight, so that
it reads and writes its output row an eighth as often (and LLVM's vector loop
then takes 16 samples a step, which suits a batch of 60 better than the 32 or
64 it picks for fewer streams: 10 % faster forward products here); the SDDMM
four, reading ``A[r, :]`` once for four dot products (eight was slower).

Every kernel has a serial and a ``parallel=True`` build (``prange`` over the
rows, which are independent). They are separate Python functions on purpose:
under ``cache=True`` two builds of *one* function share a cache entry, and a
parallel build can silently load the serial machine code. Caching the parallel
builds is safe here and was checked (numba 0.68.1, 2 cores, OpenMP layer): in a
fresh process they load from the cache (``kernel.stats.cache_hits``) and still
run twice as fast on two threads as after ``numba.set_num_threads(1)``. The
bodies are plain Python, callable undecorated (``.py_func``) for debugging.

``fastmath={"reassoc", "contract"}`` lets LLVM reorder the dot-product sums
(needed to vectorise them) and fuse multiply-adds; it keeps IEEE inf/NaN
semantics. All arithmetic stays in float32.
"""
import numpy as np
from numba import njit, prange

FASTMATH = {"reassoc", "contract"}


@njit(fastmath=FASTMATH, cache=True)
def _spmm_row(r, indptr, indices, S, X, out):  # pragma: no cover - jitted
    """``out[r, :] = sum_k S[r, c_k] * X[c_k, :]`` over row ``r``'s surviving entries."""
    n = X.shape[1]
    for s in range(n):
        out[r, s] = 0.0
    k, end = indptr[r], indptr[r + 1]
    while k + 8 <= end:
        c0, c1, c2, c3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
        c4, c5, c6, c7 = indices[k + 4], indices[k + 5], indices[k + 6], indices[k + 7]
        w0, w1, w2, w3 = S[r, c0], S[r, c1], S[r, c2], S[r, c3]
        w4, w5, w6, w7 = S[r, c4], S[r, c5], S[r, c6], S[r, c7]
        for s in range(n):
            out[r, s] += ((w0 * X[c0, s] + w1 * X[c1, s]) + (w2 * X[c2, s] + w3 * X[c3, s])) + (
                (w4 * X[c4, s] + w5 * X[c5, s]) + (w6 * X[c6, s] + w7 * X[c7, s])
            )
        k += 8
    while k < end:
        c = indices[k]
        w = S[r, c]
        for s in range(n):
            out[r, s] += w * X[c, s]
        k += 1


@njit(fastmath=FASTMATH, cache=True)
def _sddmm_row(r, indptr, indices, A, dZ, out):  # pragma: no cover - jitted
    """``out[r, c_k] = A[r, :] . dZ[c_k, :]`` for row ``r``'s surviving entries, 0.0 elsewhere in the row."""
    for c in range(out.shape[1]):
        out[r, c] = 0.0
    n = A.shape[1]
    k, end = indptr[r], indptr[r + 1]
    while k + 4 <= end:
        c0, c1, c2, c3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
        acc0 = acc1 = acc2 = acc3 = np.float32(0.0)
        for s in range(n):
            a = A[r, s]
            acc0 += a * dZ[c0, s]
            acc1 += a * dZ[c1, s]
            acc2 += a * dZ[c2, s]
            acc3 += a * dZ[c3, s]
        out[r, c0], out[r, c1], out[r, c2], out[r, c3] = acc0, acc1, acc2, acc3
        k += 4
    while k < end:
        c = indices[k]
        acc = np.float32(0.0)
        for s in range(n):
            acc += A[r, s] * dZ[c, s]
        out[r, c] = acc
        k += 1


@njit(fastmath=FASTMATH, cache=True)
def spmm_serial(indptr, indices, S, X, out):  # pragma: no cover - jitted
    """SpMM on one thread; ``out`` of shape ``(len(indptr) - 1, X.shape[1])`` is overwritten."""
    for r in range(out.shape[0]):
        _spmm_row(r, indptr, indices, S, X, out)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def spmm_parallel(indptr, indices, S, X, out):  # pragma: no cover - jitted
    """SpMM with the rows of ``out`` spread over Numba's threads."""
    for r in prange(out.shape[0]):
        _spmm_row(r, indptr, indices, S, X, out)


@njit(fastmath=FASTMATH, cache=True)
def sddmm_serial(indptr, indices, A, dZ, out):  # pragma: no cover - jitted
    """SDDMM on one thread; ``out`` of shape ``(len(indptr) - 1, dZ.shape[0])`` is overwritten."""
    for r in range(out.shape[0]):
        _sddmm_row(r, indptr, indices, A, dZ, out)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def sddmm_parallel(indptr, indices, A, dZ, out):  # pragma: no cover - jitted
    """SDDMM with the rows of ``out`` spread over Numba's threads."""
    for r in prange(out.shape[0]):
        _sddmm_row(r, indptr, indices, A, dZ, out)
