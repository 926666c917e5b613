"""A multilayer perceptron whose every weight matrix carries a pruning mask.

The network maps ``x -> softmax(W_L^T relu(... relu(W_1^T x + b_1) ...) + b_L)``.
Weights follow scikit-learn's convention: ``weights[l]`` has shape
``(fan_in, fan_out)``. Internally activations are *feature-major*, shape
``(n_features, n_samples)``, so that the sparse kernels' inner loops run over
contiguous samples; every public method takes the usual ``X`` of shape
``(n_samples, n_features)``.

Pruned weights are exactly ``0.0`` and stay so: :meth:`MLP.set_masks` and
:meth:`MLP.set_parameters` zero them, the backward pass returns ``dW * M``, and
training updates only the surviving entries (:mod:`lottery_np.engine.step`). The layer
products rely on it (with ``W * M == W`` they need not form ``W * M``); how they
are computed is the business of :mod:`lottery_np.engine.kernels`, not of the network.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import validation
from .engine import kernels

LENET_300_100 = (784, 300, 100, 10)
"""The fully connected network of Frankle & Carbin (2019), Figure 2."""

# Samples per forward pass when evaluating. Small chunks keep each pass's activations in cache and
# reuse freed memory instead of faulting in fresh pages: on MNIST's 10,000 test images LeNet-300-100
# evaluated in 63 ms dense / 58 ms at 16.5 % density with chunks of 10,000, in 50 / 37 ms with 1,000.
_EVAL_CHUNK = 1_000


@dataclass
class Parameters:
    """A snapshot of a network's weights and biases (copies, never views)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def copy(self) -> "Parameters":
        """Return a deep copy."""
        return Parameters([w.copy() for w in self.weights], [b.copy() for b in self.biases])


def apply_mask(weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of ``weights`` with every entry where ``mask`` is 0 set to exactly +0.0."""
    return np.where(mask != 0, weights, 0).astype(weights.dtype)


def glorot_normal(rng: np.random.Generator, fan_in: int, fan_out: int, dtype=np.float32) -> np.ndarray:
    """Draw a ``(fan_in, fan_out)`` matrix from N(0, 2 / (fan_in + fan_out)).

    This is the Gaussian Glorot initialization the paper uses (Glorot & Bengio, 2010).
    """
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Column-wise ``log softmax`` of ``(n_classes, n_samples)`` logits, computed stably.

    ``log p_k = z_k - max(z) - log sum_j exp(z_j - max(z))``: subtracting the
    maximum keeps every exponent <= 0, so nothing overflows.
    """
    shifted = logits - logits.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


class MLP:
    """Fully connected ReLU network with masked weights and manual backprop.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_inputs, hidden_1, ..., n_classes)``; LeNet-300-100 by default.
    seed : int
        Seed of the Glorot-normal initialization. Biases start at zero.
    dtype : numpy dtype
        ``float32`` (the fast, jitted path) or ``float64`` (the NumPy reference
        path, used to check gradients by finite differences).

    Attributes
    ----------
    weights : list of ndarray, shape (fan_in, fan_out)
        Exactly 0.0 at every pruned entry; code that writes into them must keep
        it so (the layer products assume it).
    biases : list of ndarray, shape (fan_out,)
    """

    def __init__(self, layer_sizes: Sequence[int] = LENET_300_100, seed: int = 0, dtype=np.float32):
        sizes = tuple(layer_sizes)
        if len(sizes) < 2:
            raise validation.SettingError("layer_sizes", "at least two positive integers", layer_sizes)
        sizes = tuple(validation.integer(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))
        seed = validation.integer("seed", seed, minimum=0)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        rng = np.random.default_rng(seed)
        self.layer_sizes = sizes
        self.seed = seed
        self.dtype = dtype
        self.weights = [glorot_normal(rng, i, o, dtype) for i, o in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros(o, dtype=dtype) for o in sizes[1:]]
        self._patterns = [kernels.SparsityPattern.from_mask(np.ones(w.shape)) for w in self.weights]

    # ------------------------------------------------------------------ masks
    @property
    def n_layers(self) -> int:
        """Number of weight matrices."""
        return len(self.weights)

    @property
    def masks(self) -> list[np.ndarray]:
        """Copies of the 0/1 masks (float32, one per weight matrix); change them with :meth:`set_masks`."""
        return [p.mask.copy() for p in self._patterns]

    @property
    def patterns(self) -> list[kernels.SparsityPattern]:
        """The surviving connections of each mask, indexed for the kernels (new objects whenever the masks change)."""
        return list(self._patterns)

    def set_masks(self, masks: Sequence[np.ndarray]) -> None:
        """Install new masks and zero every weight they prune.

        Raises
        ------
        ValueError
            If the number of masks, a shape, or a value (anything but 0 and 1) is wrong.
        """
        if len(masks) != self.n_layers:
            raise ValueError(f"masks must hold {self.n_layers} arrays, got {len(masks)}")
        for layer, (mask, w) in enumerate(zip(masks, self.weights)):
            mask = np.asarray(mask)
            if mask.shape != w.shape:
                raise ValueError(f"masks[{layer}] must have shape {w.shape}, got {mask.shape}")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError(f"masks[{layer}] must contain only 0 and 1")
        self._patterns = [kernels.SparsityPattern.from_mask(m) for m in masks]
        self.weights = [apply_mask(w, p.mask) for w, p in zip(self.weights, self._patterns)]

    # ------------------------------------------------------------- parameters
    def get_parameters(self) -> Parameters:
        """Return a copy of the current weights and biases."""
        return Parameters(self.weights, self.biases).copy()

    def set_parameters(self, params: Parameters) -> None:
        """Copy ``params`` into the network; weights at pruned positions become 0.0."""
        if len(params.weights) != self.n_layers or len(params.biases) != self.n_layers:
            raise ValueError(f"params must hold {self.n_layers} weights and biases")
        for layer in range(self.n_layers):
            w, b = params.weights[layer], params.biases[layer]
            if w.shape != self.weights[layer].shape or b.shape != self.biases[layer].shape:
                raise ValueError(f"layer {layer}: expected weights {self.weights[layer].shape} and biases "
                                 f"{self.biases[layer].shape}, got {w.shape} and {b.shape}")
            self.weights[layer] = apply_mask(w.astype(self.dtype), self._patterns[layer].mask)
            self.biases[layer] = b.astype(self.dtype, copy=True)

    def copy(self) -> "MLP":
        """Return an independent deep copy (weights, biases and masks)."""
        return copy.deepcopy(self)

    def weight_counts(self) -> list[tuple[int, int]]:
        """``(remaining, total)`` weights per layer; biases are never pruned and not counted."""
        return [(p.active.size, p.mask.size) for p in self._patterns]

    @property
    def n_weights(self) -> int:
        """Total number of (prunable) weights."""
        return sum(total for _, total in self.weight_counts())

    @property
    def n_remaining(self) -> int:
        """Number of weights that survive the masks."""
        return sum(kept for kept, _ in self.weight_counts())

    @property
    def n_parameters(self) -> int:
        """Weights plus biases."""
        return self.n_weights + sum(b.size for b in self.biases)

    @property
    def density(self) -> float:
        """Fraction of weights remaining (1 - sparsity)."""
        return self.n_remaining / self.n_weights

    def layer_densities(self) -> list[float]:
        """Fraction of weights remaining in each layer."""
        return [kept / total for kept, total in self.weight_counts()]

    # ----------------------------------------------------------------- inputs
    def check_inputs(self, X, y: Optional[np.ndarray] = None) -> tuple:
        """``(X, y)`` as arrays; ``ValueError`` unless ``X`` is ``(n_samples, n_inputs)`` and ``y``,
        if given (else it stays None), is ``(n_samples,)`` with labels in ``[0, n_classes)``.

        ``X`` may also be a :class:`~lottery_np.engine.kernels.SampleBlocks`, returned as it is.
        """
        X = X if isinstance(X, kernels.SampleBlocks) else np.asarray(X)
        if len(X.shape) != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}")
        if y is None:
            return X, None
        y, n_samples, n_classes = np.asarray(y), len(X), self.layer_sizes[-1]
        if y.shape != (n_samples,):
            raise ValueError(f"y must have shape ({n_samples},), got {y.shape}")
        if n_samples and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"y must hold class labels in [0, {n_classes}), got {y.min()}..{y.max()}")
        return X, y

    # ---------------------------------------------------------------- forward
    def _forward(self, A: np.ndarray, path: Optional[str] = None) -> list[np.ndarray]:
        """Feature-major forward pass; returns every layer's output, the logits last.

        ``Z_l = (W_l * M_l)^T A_{l-1} + b_l`` and ``A_l = relu(Z_l)`` for hidden layers.
        """
        activations = [A]
        for layer, (w, b, pattern) in enumerate(zip(self.weights, self.biases, self._patterns)):
            Z = kernels.masked_forward(activations[-1], w, pattern, path)
            Z += b[:, None]
            if layer < self.n_layers - 1:
                np.maximum(Z, 0, out=Z)
            activations.append(Z)
        return activations

    def _logits(self, X) -> np.ndarray:
        """``(n_classes, n_samples)`` logits of checked inputs (an array or :class:`~lottery_np.engine.kernels.SampleBlocks`).

        A sparse float32 network (:func:`~lottery_np.engine.kernels.use_sparse_inference`)
        takes all its layers in one call over sample blocks; otherwise the layers
        go one by one over chunks of samples.
        """
        if kernels.use_sparse_inference(self.density, self.dtype, len(X)):
            samples = X if isinstance(X, kernels.SampleBlocks) else kernels.SampleBlocks(X)
            return kernels.sparse_logits(kernels.flatten_network(self._patterns, self.weights, self.biases), samples)
        X = X.X if isinstance(X, kernels.SampleBlocks) else X
        chunks = [
            self._forward(np.ascontiguousarray(X[s : s + _EVAL_CHUNK].T, dtype=self.dtype))[-1]
            for s in range(0, len(X), _EVAL_CHUNK)
        ]
        return np.concatenate(chunks, axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        return np.exp(log_softmax(self._logits(self.check_inputs(X)[0]))).T

    def predict(self, X) -> np.ndarray:
        """Predicted class of each sample, shape ``(n_samples,)``."""
        return self._logits(self.check_inputs(X)[0]).argmax(axis=0)

    def evaluate(self, X, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy loss and accuracy on ``(X, y)``.

        ``X`` is an ``(n_samples, n_inputs)`` array, or the same wrapped once in
        :class:`~lottery_np.engine.kernels.SampleBlocks` for a set evaluated many times
        (the training loop does so): a sparse network then reads it laid out for
        its kernel without laying it out again at every call.
        """
        X, y = self.check_inputs(X, y)
        log_probs = log_softmax(self._logits(X))
        loss = -float(log_probs[y, np.arange(len(y))].mean(dtype=np.float64))
        accuracy = float((log_probs.argmax(axis=0) == y).mean())
        return loss, accuracy

    def loss(self, X, y: np.ndarray) -> float:
        """Mean cross-entropy loss on ``(X, y)``."""
        return self.evaluate(X, y)[0]

    def accuracy(self, X, y: np.ndarray) -> float:
        """Fraction of samples classified correctly."""
        return self.evaluate(X, y)[1]

    # --------------------------------------------------------------- backward
    def backprop(self, X: np.ndarray, y: np.ndarray, *, path: Optional[str] = None) -> tuple:
        """Mean cross-entropy on a batch, and the errors backpropagation sends down the layers.

        With ``P = softmax(Z_L)`` and one-hot targets ``Y``, the output error is
        ``dZ_L = (P - Y) / n``; going down, ``dZ_{l-1} = ((W_l * M_l) dZ_l) * [Z_{l-1} > 0]``.
        Each layer's gradients are read off its error: ``db_l = sum_samples dZ_l``
        and ``dW_l = (A_{l-1} dZ_l^T) * M_l`` (:meth:`loss_and_gradients`).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,), class labels
        path : {None, "dense", "sparse", "reference"}
            Passed to every layer product (:mod:`lottery_np.engine.kernels`); None lets
            each layer's density choose. All paths agree up to float32 rounding.

        Returns
        -------
        loss : float
        grad_biases : list of ndarray, shape (fan_out,)
        inputs, errors : lists of ndarray, shapes (fan_in, n_samples) and (fan_out, n_samples)
            Each layer's input ``A_{l-1}`` and error ``dZ_l``, feature-major.
        """
        X, y = self.check_inputs(X, y)
        n = len(y)
        activations = self._forward(np.ascontiguousarray(X.T, dtype=self.dtype), path)
        log_probs = log_softmax(activations[-1])
        columns = np.arange(n)
        loss = -float(log_probs[y, columns].mean(dtype=np.float64))

        dZ = np.exp(log_probs)
        dZ[y, columns] -= 1.0
        dZ /= n
        errors: list[np.ndarray] = [None] * self.n_layers
        for layer in reversed(range(self.n_layers)):
            errors[layer] = dZ
            if layer > 0:
                dA = kernels.masked_backward_input(dZ, self.weights[layer], self._patterns[layer], path)
                dZ = dA * (activations[layer] > 0)  # relu'(z) = 1 where the unit fired
        return loss, [dZ.sum(axis=1) for dZ in errors], activations[:-1], errors

    def loss_and_gradients(
        self, X: np.ndarray, y: np.ndarray, *, path: Optional[str] = None
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Mean cross-entropy on a batch and its gradients: :meth:`backprop`, then ``dW_l = (A_{l-1} dZ_l^T) * M_l``.

        Returns ``(loss, grad_weights, grad_biases)``: a float, the ``(fan_in, fan_out)``
        weight gradients (0.0 at pruned entries) and the ``(fan_out,)`` bias gradients.
        """
        loss, grad_biases, inputs, errors = self.backprop(X, y, path=path)
        grad_weights = [kernels.masked_backward_weights(A, dZ, pattern, path)
                        for A, dZ, pattern in zip(inputs, errors, self._patterns)]
        return loss, grad_weights, grad_biases

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.layer_sizes)
        return f"MLP({sizes}, density={self.density:.4f}, dtype={self.dtype.name})"
