"""Inference of a whole sparse network in one compiled call, on inputs laid out once in sample blocks.

Evaluating LeNet-300-100 on MNIST's 15,000 validation and test images every 100
iterations, as the paper does, costs more than the training steps between two
evaluations. The layer-by-layer forward pass (:meth:`lottery_np.model.MLP.forward`)
gets little from sparsity there, for two reasons, both about memory:

* it multiplies chunks of 1,000 samples, so one layer's input chunk
  (784 x 1,000 floats, 3 MB) does not fit in a core's L2 cache, and the
  sparse product, which reads one input row per surviving weight, streams the
  whole chunk from L3 once per output unit;
* each chunk is transposed to feature-major order first, which costs as much
  as the sparse product itself.

Here the samples are cut into **blocks** of ``BLOCK_SAMPLES`` and laid out
feature-major once (:class:`SampleBlocks`, made once per evaluation set by the
training loop). One thread takes one block through *all* layers
(``prange`` over blocks): the block's input, 784 x 256 floats (800 KB), and its
hidden activations stay in that core's L2, and no thread ever waits for
another between layers (about twice as fast as layer by layer at 10 % density
on one thread: ``benchmarks/README.md``, "The measurements behind the engine").
Every sample's arithmetic is that of the
layer-by-layer sparse product, :func:`~.jitted._spmm_row` in the same order,
bias added after the sum, so the logits do not depend on the block size nor
on the number of threads.

The network comes *flattened*: every layer's by-output index arrays and packed
weights concatenated into one array each, with offsets per layer
(:func:`flatten_network`), because a ``prange`` body cannot index a tuple of
arrays by a loop variable.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from .dispatch import use_sparse_inference
from .fused import LANES
from .jitted import FASTMATH, _spmm_row
from .pattern import SparsityPattern

# Samples per block. One block of LeNet-300-100's input is 784 x 256 float32 = 800 KB, which fits in a
# 2 MB L2 cache: smaller blocks pay the per-row loop overhead, larger ones leave the L2 cache (the
# block sizes timed are in benchmarks/README.md, "The measurements behind the engine").
BLOCK_SAMPLES = 256


class SampleBlocks:
    """Samples ``X`` laid out feature-major in blocks, for repeated sparse inference.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Kept as it is (a reference, not a copy) for the dense path, and copied
        into float32 blocks the first time :attr:`blocks` is read.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    shape : tuple
        ``X.shape``.
    """

    def __init__(self, X):
        self.X = np.asarray(X)
        if self.X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, n_features), got {self.X.shape}")
        self.shape = self.X.shape
        self._blocks = None

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def blocks(self) -> np.ndarray:
        """``(n_blocks, n_features, B)`` float32; ``blocks[b, :, s]`` is sample ``b * B + s``.

        ``B`` is ``BLOCK_SAMPLES``, or for fewer samples their number rounded up
        to a multiple of ``LANES``. The last block is padded with zeros. Made
        once, on first use.
        """
        if self._blocks is None:
            n_samples, n_features = self.shape
            width = min(BLOCK_SAMPLES, -(-n_samples // LANES) * LANES) or LANES  # a small batch, a narrow block
            self._blocks = np.zeros((-(-n_samples // width), n_features, width), dtype=np.float32)
            fill = _fill_blocks_parallel if len(self._blocks) > 1 else _fill_blocks_serial
            fill(np.ascontiguousarray(self.X, dtype=np.float32), self._blocks)
        return self._blocks

    def __repr__(self) -> str:
        return f"SampleBlocks(n_samples={self.shape[0]}, n_features={self.shape[1]})"


def flatten_network(patterns: Sequence[SparsityPattern], weights: Sequence[np.ndarray],
                    biases: Sequence[np.ndarray]) -> tuple:
    """The arguments of :func:`sparse_logits` for one network, every layer's arrays end to end.

    Returns
    -------
    sizes : int64 array ``(n_inputs, hidden_1, ..., n_classes)``
    indptr, indices : int64 arrays, each layer's ``csc_indptr`` and ``csc_indices`` concatenated
    values : float32 array, each layer's weights packed by output (``pattern.gather_by_output``)
    biases : float32 array, every layer's biases
    starts : int64 array of shape (3, n_layers + 1), where each layer begins in
        ``indptr``, in ``indices``/``values`` and in ``biases``
    """
    sizes = np.array([patterns[0].shape[0]] + [p.shape[1] for p in patterns], dtype=np.int64)
    pieces = (
        [p.csc_indptr for p in patterns],
        [p.csc_indices for p in patterns],
        [p.gather_by_output(w) for p, w in zip(patterns, weights)],
        list(biases),
    )
    starts = np.array([np.cumsum([0] + [len(a) for a in arrays]) for arrays in (pieces[0], pieces[1], pieces[3])],
                      dtype=np.int64)
    indptr, indices = np.concatenate(pieces[0]), np.concatenate(pieces[1])
    values = np.concatenate(pieces[2]).astype(np.float32, copy=False)
    return sizes, indptr, indices, values, np.concatenate(pieces[3]).astype(np.float32, copy=False), starts


def sparse_logits(network: tuple, samples: SampleBlocks) -> np.ndarray:
    """The logits of a flattened network (:func:`flatten_network`) for every sample, ``(n_classes, n_samples)``."""
    sizes = network[0]
    if samples.shape[1] != sizes[0]:
        raise ValueError(f"samples must have {sizes[0]} features, got {samples.shape[1]}")
    logits = np.empty((sizes[-1], samples.shape[0]), dtype=np.float32)
    blocks = samples.blocks
    kernel = _network_logits_parallel if len(blocks) > 1 else _network_logits_serial  # no threads for one block
    kernel(blocks, *network, logits)
    return logits


@njit(cache=True)
def _fill_block(X, blocks, b):  # pragma: no cover - jitted
    """``blocks[b, i, s] = X[b * B + s, i]`` for the samples of block ``b``; the padding stays as it is.

    A transpose, in tiles of 16 features: each sample's 16 values are one cache
    line of ``X``, written to 16 rows of the block that stay in cache.
    """
    _, n_features, B = blocks.shape
    first, count = b * B, min(B, X.shape[0] - b * B)
    for start in range(0, n_features, 16):
        stop = min(start + 16, n_features)
        for s in range(count):
            for i in range(start, stop):
                blocks[b, i, s] = X[first + s, i]


@njit(cache=True)
def _fill_blocks_serial(X, blocks):  # pragma: no cover - jitted
    for b in range(blocks.shape[0]):
        _fill_block(X, blocks, b)


@njit(cache=True, parallel=True)
def _fill_blocks_parallel(X, blocks):  # pragma: no cover - jitted
    for b in prange(blocks.shape[0]):
        _fill_block(X, blocks, b)


@njit(fastmath=FASTMATH, cache=True)
def _block_logits(blocks, block, sizes, indptr, indices, values, biases, starts, logits):  # pragma: no cover
    """Block ``block`` through every layer: ``Z = (W * M).T @ A + b``, ReLU except at the output."""
    _, _, B = blocks.shape
    n_layers = sizes.size - 1
    width = sizes[1:].max()
    even, odd = np.empty((width, B), dtype=np.float32), np.empty((width, B), dtype=np.float32)
    for layer in range(n_layers):  # layer l reads the output of layer l - 1 and writes the other buffer
        A = blocks[block] if layer == 0 else (odd if layer % 2 == 0 else even)
        Z = even if layer % 2 == 0 else odd
        layer_indptr = indptr[starts[0, layer]:starts[0, layer + 1]]
        layer_indices = indices[starts[1, layer]:starts[1, layer + 1]]
        layer_values = values[starts[1, layer]:starts[1, layer + 1]]
        layer_biases = biases[starts[2, layer]:starts[2, layer + 1]]
        hidden = layer < n_layers - 1
        for j in range(sizes[layer + 1]):
            _spmm_row(j, layer_indptr, layer_indices, layer_values, A, Z)
            for s in range(B):
                z = Z[j, s] + layer_biases[j]
                Z[j, s] = max(z, np.float32(0.0)) if hidden else z
    out = even if (n_layers - 1) % 2 == 0 else odd
    first = block * B
    for k in range(sizes[-1]):
        for s in range(min(B, logits.shape[1] - first)):
            logits[k, first + s] = out[k, s]


@njit(fastmath=FASTMATH, cache=True)
def _network_logits_serial(blocks, sizes, indptr, indices, values, biases, starts, logits):  # pragma: no cover
    for block in range(blocks.shape[0]):
        _block_logits(blocks, block, sizes, indptr, indices, values, biases, starts, logits)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _network_logits_parallel(blocks, sizes, indptr, indices, values, biases, starts, logits):  # pragma: no cover
    for block in prange(blocks.shape[0]):
        _block_logits(blocks, block, sizes, indptr, indices, values, biases, starts, logits)


# Samples per layer-by-layer forward pass when evaluating: small chunks keep each pass's activations in
# cache and reuse freed memory instead of faulting in fresh pages (benchmarks/README.md has the times).
EVAL_CHUNK = 1_000


def as_inputs(X, check: Callable = np.asarray):
    """``X`` as the network's evaluation takes it: a :class:`SampleBlocks` as it is, anything else through ``check``.

    A :class:`SampleBlocks` is made from data checked already (the training loop's evaluation sets);
    ``check`` turns anything else into an array, applying whatever rules the caller's data obeys.
    """
    return X if isinstance(X, SampleBlocks) else check(X)


def network_logits(X, patterns: Sequence[SparsityPattern], weights: Sequence[np.ndarray],
                   biases: Sequence[np.ndarray], forward: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``(n_classes, n_samples)`` logits of a network for checked inputs ``X`` (an array or :class:`SampleBlocks`).

    A sparse float32 network (:func:`~.dispatch.use_sparse_inference`) takes all its layers in one
    call over sample blocks; otherwise ``forward``, the network's own layer-by-layer pass on
    feature-major inputs, takes chunks of ``EVAL_CHUNK`` samples.
    """
    kept, total = sum(p.active.size for p in patterns), sum(p.mask.size for p in patterns)
    dtype = weights[0].dtype
    if use_sparse_inference(kept / total, dtype, len(X)):
        samples = X if isinstance(X, SampleBlocks) else SampleBlocks(X)
        return sparse_logits(flatten_network(patterns, weights, biases), samples)
    X = X.X if isinstance(X, SampleBlocks) else X
    chunks = [forward(np.ascontiguousarray(X[s:s + EVAL_CHUNK].T, dtype=dtype)) for s in range(0, len(X), EVAL_CHUNK)]
    return np.concatenate(chunks, axis=1)
