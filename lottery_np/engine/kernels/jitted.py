"""Numba kernels of the sparse path: work proportional to the surviving weights.

A masked layer needs two kinds of product, both over the compressed index
arrays of a :class:`~lottery_np.engine.kernels.pattern.SparsityPattern`:

* **SpMM** (sparse times dense), ``out = S @ X`` where only the entries of ``S``
  listed by ``indptr``/``indices`` count. Row ``r`` of the result is a sum of
  rows of ``X``::

      out[r, :] = sum_k values[k] * X[c_k, :]    over k in indptr[r]:indptr[r + 1], c_k = indices[k]

  The weights come *packed*: ``values[k]`` is the weight of entry ``k`` of the
  index arrays. The forward product is ``Z = (W * M).T @ A`` (rows = outputs:
  the pattern's by-output arrays, ``values = pattern.gather_by_output(W)``);
  the backward one is ``dA = (W * M) @ dZ`` (rows = inputs: the by-input
  arrays, ``values = pattern.gather(W)``). Reading 95 KB of packed weights
  front to back, rather than picking them out of LeNet's 0.9 MB first-layer
  matrix, makes the forward product faster, the more so with cold caches.
* **SDDMM** (sampled dense-dense), the weight gradient ``dW = (A @ dZ.T) * M``
  at the surviving entries only: one dot product over the samples each::

      out[k] = sum_s R[r, s] * C[c_k, s]    for k in indptr[r]:indptr[r + 1]

  With the by-input arrays, ``R = A`` and ``C = dZ``; with the by-output
  arrays, ``R = dZ`` and ``C = A``. Either way the result is *compact*: one
  value per surviving weight, in the order of the index arrays, and nothing of
  the dense ``(fan_in, fan_out)`` matrix is written, which takes about half the
  time of writing the same values into a dense matrix, zeros included.

Activations are feature-major (one sample per column), so every innermost loop
runs over contiguous samples and LLVM vectorises it. The row kernels handle
several surviving entries per pass over the samples: the SpMM eight, so that
it reads and writes its output row an eighth as often (and LLVM's vector loop
then takes 16 samples a step, which suits a batch of 60 better than the 32 or
64 it picks for fewer streams); the SDDMM four, reading ``A[r, :]`` once for
four dot products (eight was slower).

Every kernel has a serial and a ``parallel=True`` build (``prange`` over the
rows, which are independent). They are separate Python functions on purpose:
under ``cache=True`` two builds of *one* function share a cache entry, and a
parallel build can silently load the serial machine code. Caching the parallel
builds is safe here and was checked (numba 0.68.1, 2 cores, OpenMP layer): in a
fresh process they load from the cache (``kernel.stats.cache_hits``) and still
run twice as fast on two threads as after ``numba.set_num_threads(1)``. The
bodies are plain Python, callable undecorated (``.py_func``) for debugging.

:func:`take` picks entries by index, ``values[indices]``, for the patterns'
gathers (:meth:`~lottery_np.engine.kernels.pattern.SparsityPattern.gather`), which the
dense path of a masked layer runs on every weight gradient.

``fastmath={"reassoc", "contract"}`` lets LLVM reorder the dot-product sums
(needed to vectorise them) and fuse multiply-adds; it keeps IEEE inf/NaN
semantics. All arithmetic stays in float32. LLVM uses that freedom in the SpMM
too: the machine code of :func:`_spmm_row` (as compiled for an AVX-512 CPU) does
not add the eight products as the bracketed tree of the source but as one chain
of eight fused multiply-adds into the output row, eight samples per 256-bit
vector. The order is fixed by the compiled code, so the numbers are the same
on every run and thread count; a change to these loops can change them.
"""
import numpy as np
from numba import njit, prange

FASTMATH = {"reassoc", "contract"}


@njit(fastmath=FASTMATH, cache=True)
def _spmm_row(r, indptr, indices, values, X, out):  # pragma: no cover - jitted
    """``out[r, :] = sum_k values[k] * X[c_k, :]`` over row ``r``'s surviving entries."""
    n = X.shape[1]
    for s in range(n):
        out[r, s] = 0.0
    k, end = indptr[r], indptr[r + 1]
    while k + 8 <= end:
        c0, c1, c2, c3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
        c4, c5, c6, c7 = indices[k + 4], indices[k + 5], indices[k + 6], indices[k + 7]
        w0, w1, w2, w3 = values[k], values[k + 1], values[k + 2], values[k + 3]
        w4, w5, w6, w7 = values[k + 4], values[k + 5], values[k + 6], values[k + 7]
        for s in range(n):
            out[r, s] += ((w0 * X[c0, s] + w1 * X[c1, s]) + (w2 * X[c2, s] + w3 * X[c3, s])) + (
                (w4 * X[c4, s] + w5 * X[c5, s]) + (w6 * X[c6, s] + w7 * X[c7, s])
            )
        k += 8
    while k < end:
        c = indices[k]
        w = values[k]
        for s in range(n):
            out[r, s] += w * X[c, s]
        k += 1


@njit(fastmath=FASTMATH, cache=True)
def _sddmm_row(r, indptr, indices, R, C, out):  # pragma: no cover - jitted
    """``out[k] = R[r, :] . C[c_k, :]`` for row ``r``'s surviving entries ``k``."""
    n = R.shape[1]
    k, end = indptr[r], indptr[r + 1]
    while k + 4 <= end:
        c0, c1, c2, c3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
        acc0 = acc1 = acc2 = acc3 = np.float32(0.0)
        for s in range(n):
            a = R[r, s]
            acc0 += a * C[c0, s]
            acc1 += a * C[c1, s]
            acc2 += a * C[c2, s]
            acc3 += a * C[c3, s]
        out[k], out[k + 1], out[k + 2], out[k + 3] = acc0, acc1, acc2, acc3
        k += 4
    while k < end:
        c = indices[k]
        acc = np.float32(0.0)
        for s in range(n):
            acc += R[r, s] * C[c, s]
        out[k] = acc
        k += 1


@njit(fastmath=FASTMATH, cache=True)
def spmm_serial(indptr, indices, values, X, out):  # pragma: no cover - jitted
    """SpMM on one thread; ``out`` of shape ``(len(indptr) - 1, X.shape[1])`` is overwritten."""
    for r in range(out.shape[0]):
        _spmm_row(r, indptr, indices, values, X, out)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def spmm_parallel(indptr, indices, values, X, out):  # pragma: no cover - jitted
    """SpMM with the rows of ``out`` spread over Numba's threads."""
    for r in prange(out.shape[0]):
        _spmm_row(r, indptr, indices, values, X, out)


@njit(fastmath=FASTMATH, cache=True)
def sddmm_serial(indptr, indices, R, C, out):  # pragma: no cover - jitted
    """SDDMM on one thread; ``out`` of shape ``(len(indices),)`` is overwritten."""
    for r in range(R.shape[0]):
        _sddmm_row(r, indptr, indices, R, C, out)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def sddmm_parallel(indptr, indices, R, C, out):  # pragma: no cover - jitted
    """SDDMM with the rows of ``R`` spread over Numba's threads."""
    for r in prange(R.shape[0]):
        _sddmm_row(r, indptr, indices, R, C, out)


@njit(cache=True)
def take(values, indices):  # pragma: no cover - jitted
    """``values[indices]``, a new array; the caller guarantees ``0 <= indices < values.size``.

    NumPy's fancy indexing does the same in nearly twice the time (``benchmarks/README.md``,
    "The measurements behind the engine").
    """
    out = np.empty(indices.size, dtype=values.dtype)
    for k in range(indices.size):
        out[k] = values[indices[k]]
    return out
