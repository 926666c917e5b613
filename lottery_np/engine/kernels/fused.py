"""A whole forward and backward pass of a sparse network in one compiled call.

:meth:`lottery_np.model.MLP.loss_and_gradients` walks the layers in Python and
calls one kernel per product, with NumPy calls between them (bias, ReLU,
softmax, the ReLU derivative, bias gradients). :func:`sparse_backprop` does the
same arithmetic in a single Numba function, reusing the row kernels of
:mod:`.jitted`, and is faster than the layer-by-layer pass even when it packs
the weights on every call, which the training step (:mod:`lottery_np.engine.step`)
does only once. :class:`FusedBackprop` assembles its
arguments; the training step takes this path when
:func:`~.dispatch.use_fused_step` says so, and the tests check it against the
layer-by-layer pass.

Everything is walked by output (the pattern's ``csc_*`` arrays), with the
weights packed in that order: the forward product and the weight gradient read
and write packed arrays front to back, and no by-input index arrays are needed.
The input gradient ``dA = (W * M) dZ`` is then a scatter (each output adds its
weighted error to its inputs' rows); it is needed only above the first layer,
where the layers are small.

The sample dimension is **padded to a multiple of** ``LANES``: the buffers hold
``n_lanes = ceil(n / LANES) * LANES`` columns, the padding columns of the input
are zero, and so are those of every error ``dZ`` (the softmax writes zeros
there), so that they add exactly nothing to any gradient. LLVM vectorises the
sample loops 16 floats at a time and leaves a remainder to a slower loop, so 64
samples take less time than 60.

The products of each layer are spread over Numba's threads by output
(``prange``); on one thread this runs as fast as a serial build. The loops that
scatter (``dA``) stay serial. The arrays come in tuples,
one entry per layer, so that one compiled function serves any depth; every
``prange`` body sees plain arrays only, as Numba's parallel loops cannot take
tuples of arrays.
"""
import numpy as np
from numba import njit, prange

from .jitted import FASTMATH, _sddmm_row, _spmm_row

# The sample dimension of every buffer is padded to a multiple of this (one AVX-512 vector of float32).
LANES = 16


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def sparse_backprop(activations, labels, values, biases, by_output,
                    errors, grad_weights, grad_biases):  # pragma: no cover - jitted
    """Mean cross-entropy of a batch and its gradients, in place; returns the loss.

    Parameters
    ----------
    activations : tuple of n_layers + 1 float32 arrays, shapes (size_l, n_lanes)
        ``activations[0]`` holds the input batch, feature-major, in its first
        ``n_samples`` columns; the others are overwritten with each layer's
        output (ReLU applied, logits last). ``n_lanes >= n_samples``.
    labels : int64 array of shape (n_samples,)
        Class indices, trusted: the caller checks they lie in range.
    values : tuple of float32 arrays, shapes (n_active_l,)
        Each layer's surviving weights, packed by output: ``pattern.gather_by_output(W)``.
    biases : tuple of float32 arrays, shapes (fan_out_l,)
    by_output : tuple of ``(csc_indptr, csc_indices)`` pairs
        Each layer's :class:`~lottery_np.engine.kernels.pattern.SparsityPattern` grouped by output.
    errors : tuple of n_layers float32 arrays, shapes (fan_out_l, n_lanes)
        Overwritten with ``dZ_l``, the loss gradient at each layer's pre-activation
        (0 in the padding columns).
    grad_weights : tuple of float32 arrays, shapes (n_active_l,)
        Overwritten with the weight gradients, packed by output like ``values``.
    grad_biases : tuple of float32 arrays, shapes (fan_out_l,)
    """
    n_layers = len(values)
    n = labels.size
    lanes = activations[0].shape[1]  # every loop but the softmax's runs over the padded width
    for layer in range(n_layers):  # Z = (W * M).T @ A + b, then ReLU except at the output
        indptr, indices = by_output[layer]
        A, Z, b, W = activations[layer], activations[layer + 1], biases[layer], values[layer]
        hidden = layer < n_layers - 1
        for j in prange(Z.shape[0]):
            _spmm_row(j, indptr, indices, W, A, Z)
            for s in range(lanes):
                z = Z[j, s] + b[j]
                Z[j, s] = max(z, np.float32(0.0)) if hidden else z

    # Softmax cross-entropy, one sample (column) at a time, and its gradient (P - Y) / n.
    logits, dZ = activations[n_layers], errors[n_layers - 1]
    inv_n = np.float32(1.0 / n)
    loss = 0.0
    for s in range(n):
        top = logits[0, s]
        for k in range(1, logits.shape[0]):
            top = max(top, logits[k, s])
        total = np.float32(0.0)
        for k in range(logits.shape[0]):
            dZ[k, s] = np.exp(logits[k, s] - top)
            total += dZ[k, s]
        loss += np.log(total) - (logits[labels[s], s] - top)
        scale = inv_n / total
        for k in range(logits.shape[0]):
            dZ[k, s] *= scale
        dZ[labels[s], s] -= inv_n
    for k in range(logits.shape[0]):  # the padding columns add nothing to any gradient
        for s in range(n, lanes):
            dZ[k, s] = 0.0

    for layer in range(n_layers - 1, -1, -1):  # dW = (A dZ^T) * M, db = sum dZ, dA = (W * M) dZ
        A, dZ, W, dW = activations[layer], errors[layer], values[layer], grad_weights[layer]
        indptr, indices = by_output[layer]
        for j in prange(dZ.shape[0]):  # dW[i, j] = dZ[j, :] . A[i, :] for the inputs i of output j
            _sddmm_row(j, indptr, indices, dZ, A, dW)
        db = grad_biases[layer]
        for j in range(dZ.shape[0]):
            total = np.float32(0.0)
            for s in range(lanes):
                total += dZ[j, s]
            db[j] = total
        if layer > 0:  # dZ below = dA * relu'(Z below), relu' = 1 where the unit fired
            dA = errors[layer - 1]
            dA[:] = 0.0
            for j in range(dZ.shape[0]):  # each output j adds W[i, j] dZ[j, :] to its inputs' rows
                for k in range(indptr[j], indptr[j + 1]):
                    i, w = indices[k], W[k]
                    for s in range(lanes):
                        dA[i, s] += w * dZ[j, s]
            for i in range(dA.shape[0]):
                for s in range(lanes):
                    if A[i, s] <= 0.0:
                        dA[i, s] = 0.0
    return loss / n


class FusedBackprop:
    """:func:`sparse_backprop` for the masks of one network: its arguments assembled in one place.

    The index arrays are collected once, and the activation and gradient
    buffers once per batch size (allocated afresh at every step, their page
    faults cost about half as much as the arithmetic at a batch of 1000).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_inputs, hidden_1, ..., n_classes)``.
    patterns : sequence of SparsityPattern
        One per layer, shape ``(layer_sizes[l], layer_sizes[l + 1])``.
    """

    def __init__(self, layer_sizes, patterns):
        self.layer_sizes = tuple(layer_sizes)
        self.patterns = tuple(patterns)
        assert [p.shape for p in self.patterns] == list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        self._by_output = tuple((p.csc_indptr, p.csc_indices) for p in self.patterns)
        self._buffers: dict[int, tuple] = {}

    def __call__(self, X, y, values, biases) -> tuple[float, tuple, tuple]:
        """Mean cross-entropy of the batch ``(X, y)`` and its gradients.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_inputs), real
        y : ndarray of shape (n_samples,)
            Class labels, trusted as indices: the caller checks them.
        values : sequence of float32 arrays, shapes (n_active_l,)
            Each layer's surviving weights packed by output, ``pattern.gather_by_output(W)``.
        biases : sequence of float32 arrays, shapes (fan_out_l,)

        Returns
        -------
        loss : float
        grad_weights : tuple of float32 arrays, shapes (n_active_l,), packed by output like ``values``
        grad_biases : tuple of float32 arrays, shapes (fan_out_l,)
            Both are this object's buffers, overwritten by its next call with a batch of the same size.
        """
        activations, errors, grad_weights, grad_biases = self._workspace(len(X))
        activations[0][:, :len(X)] = X.T  # the padding columns stay 0
        loss = sparse_backprop(activations, np.ascontiguousarray(y, dtype=np.int64), tuple(values), tuple(biases),
                               self._by_output, errors, grad_weights, grad_biases)
        return float(loss), grad_weights, grad_biases

    def _workspace(self, n_samples: int) -> tuple:
        """``(activations, errors, grad_weights, grad_biases)`` float32 buffers for ``n_samples`` (made once).

        Activations and errors have ``n_samples`` rounded up to ``LANES`` columns, zeros to start with.
        """
        if n_samples not in self._buffers:
            sizes, lanes = self.layer_sizes, -(-n_samples // LANES) * LANES
            self._buffers[n_samples] = (
                tuple(np.zeros((size, lanes), np.float32) for size in sizes),
                tuple(np.zeros((size, lanes), np.float32) for size in sizes[1:]),
                tuple(np.empty(p.active.size, np.float32) for p in self.patterns),
                tuple(np.empty(size, np.float32) for size in sizes[1:]),
            )
        return self._buffers[n_samples]
