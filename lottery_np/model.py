"""A multilayer perceptron whose every weight matrix carries a pruning mask.

The network maps ``x -> softmax(W_L^T relu(... relu(W_1^T x + b_1) ...) + b_L)``.
Weights follow scikit-learn's convention: ``weights[l]`` has shape
``(fan_in, fan_out)``. Internally activations are *feature-major*, shape
``(n_features, n_samples)``, so that the sparse kernels' inner loops run over
contiguous samples; every public method takes the usual ``X`` of shape
``(n_samples, n_features)``.

Pruned weights are exactly ``0.0`` and stay so: the forward pass uses
``W * M``, the backward pass returns ``dW * M``, and the optimizers only ever
touch surviving entries (see :mod:`lottery_np.optim`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import kernels, validation
from .kernels import fused

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
    biases : list of ndarray, shape (fan_out,)
    kernel_path : {None, "dense", "sparse", "reference"}
        The kernels' path for every layer (see :mod:`lottery_np.kernels`);
        ``None``, the default, picks per layer by its density. When the network
        :attr:`runs_sparse`, :meth:`loss_and_gradients` runs as one fused call
        (:mod:`lottery_np.kernels.fused`).
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
        self._masks = [np.ones_like(w, dtype=np.float32) for w in self.weights]
        self._patterns = [kernels.SparsityPattern.from_mask(m) for m in self._masks]
        self.kernel_path: Optional[str] = None

    # ------------------------------------------------------------------ masks
    @property
    def n_layers(self) -> int:
        """Number of weight matrices."""
        return len(self.weights)

    @property
    def masks(self) -> list[np.ndarray]:
        """Copies of the 0/1 masks (float32, one per weight matrix); change them with :meth:`set_masks`."""
        return [m.copy() for m in self._masks]

    @property
    def patterns(self) -> list[kernels.SparsityPattern]:
        """The compressed index structure of each mask, as the kernels and optimizers use it."""
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
        new_masks = []
        for layer, (mask, w) in enumerate(zip(masks, self.weights)):
            mask = np.asarray(mask)
            if mask.shape != w.shape:
                raise ValueError(f"masks[{layer}] must have shape {w.shape}, got {mask.shape}")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError(f"masks[{layer}] must contain only 0 and 1")
            new_masks.append(np.ascontiguousarray(mask, dtype=np.float32))
        self._masks = new_masks
        self._patterns = [kernels.SparsityPattern.from_mask(m) for m in new_masks]
        self.weights = [apply_mask(w, m) for w, m in zip(self.weights, new_masks)]

    # ------------------------------------------------------------- parameters
    def get_parameters(self) -> Parameters:
        """Return a copy of the current weights and biases."""
        return Parameters([w.copy() for w in self.weights], [b.copy() for b in self.biases])

    def set_parameters(self, params: Parameters) -> None:
        """Copy ``params`` into the network; weights at pruned positions become 0.0."""
        if len(params.weights) != self.n_layers or len(params.biases) != self.n_layers:
            raise ValueError(f"params must hold {self.n_layers} weights and biases")
        for layer in range(self.n_layers):
            w, b = params.weights[layer], params.biases[layer]
            if w.shape != self.weights[layer].shape or b.shape != self.biases[layer].shape:
                raise ValueError(
                    f"layer {layer}: expected weights {self.weights[layer].shape} and biases "
                    f"{self.biases[layer].shape}, got {w.shape} and {b.shape}"
                )
            self.weights[layer] = apply_mask(w.astype(self.dtype), self._masks[layer])
            self.biases[layer] = b.astype(self.dtype, copy=True)

    def copy(self) -> "MLP":
        """Return an independent deep copy (weights, biases and masks)."""
        return copy.deepcopy(self)

    def weight_counts(self) -> list[tuple[int, int]]:
        """``(remaining, total)`` weights per layer; biases are never pruned and not counted."""
        return [(p.active.size, m.size) for p, m in zip(self._patterns, self._masks)]

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

    # ---------------------------------------------------------------- forward
    def _check_X(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}")
        return X

    def _forward(self, A: np.ndarray) -> list[np.ndarray]:
        """Feature-major forward pass; returns every layer's output, the logits last.

        ``Z_l = (W_l * M_l)^T A_{l-1} + b_l`` and ``A_l = relu(Z_l)`` for hidden layers.
        """
        activations = [A]
        for layer, (w, b, pattern) in enumerate(zip(self.weights, self.biases, self._patterns)):
            Z = kernels.masked_forward(activations[-1], w, pattern, self.kernel_path, weights_are_masked=True)
            Z += b[:, None]
            if layer < self.n_layers - 1:
                np.maximum(Z, 0, out=Z)
            activations.append(Z)
        return activations

    def _logits(self, X: np.ndarray) -> np.ndarray:
        """``(n_classes, n_samples)`` logits, computed in chunks."""
        X = self._check_X(X)
        chunks = [
            self._forward(np.ascontiguousarray(X[s : s + _EVAL_CHUNK].T, dtype=self.dtype))[-1]
            for s in range(0, len(X), _EVAL_CHUNK)
        ]
        return np.concatenate(chunks, axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        return np.exp(log_softmax(self._logits(X))).T

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class of each sample, shape ``(n_samples,)``."""
        return self._logits(X).argmax(axis=0)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy loss and accuracy on ``(X, y)``."""
        log_probs = log_softmax(self._logits(X))
        y = self._check_y(y, len(X))
        loss = -float(log_probs[y, np.arange(len(y))].mean(dtype=np.float64))
        accuracy = float((log_probs.argmax(axis=0) == y).mean())
        return loss, accuracy

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy loss on ``(X, y)``."""
        return self.evaluate(X, y)[0]

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of samples classified correctly."""
        return self.evaluate(X, y)[1]

    def _check_y(self, y: np.ndarray, n_samples: int) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != (n_samples,):
            raise ValueError(f"y must have shape ({n_samples},), got {y.shape}")
        if n_samples and (y.min() < 0 or y.max() >= self.layer_sizes[-1]):
            raise ValueError(f"y must hold class labels in [0, {self.layer_sizes[-1]}), got {y.min()}..{y.max()}")
        return y

    # --------------------------------------------------------------- backward
    def loss_and_gradients(
        self, X: np.ndarray, y: np.ndarray, *, layout: str = "dense"
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Mean cross-entropy on a batch and its gradients, by backpropagation.

        With ``P = softmax(Z_L)`` and one-hot targets ``Y``, the output error is
        ``dZ_L = (P - Y) / n``. Going down, ``dW_l = (A_{l-1} dZ_l^T) * M_l``,
        ``db_l = sum_samples dZ_l`` and ``dZ_{l-1} = ((W_l * M_l) dZ_l) * [Z_{l-1} > 0]``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,), class labels
        layout : {"dense", "active"}
            How each weight gradient is returned: the whole ``(fan_in, fan_out)``
            matrix, or only its values at the surviving weights, in the order of
            ``patterns[l].active``. The optimizers take either; ``"active"`` is
            what training uses, because the sparse kernels then never build a
            dense matrix.

        Returns
        -------
        loss : float
        grad_weights : list of ndarray, shape (fan_in, fan_out) (0.0 at pruned entries) or (n_active,)
        grad_biases : list of ndarray, shape (fan_out,)
        """
        if layout not in kernels.LAYOUTS:
            raise ValueError(f"layout must be one of {kernels.LAYOUTS}, got {layout!r}")
        X = self._check_X(X)
        y = self._check_y(y, len(X))
        inputs = np.ascontiguousarray(X.T, dtype=self.dtype)
        if self.runs_sparse:
            loss, grad_weights, grad_biases = self._backprop_fused(inputs, y)
            if layout == "dense":
                grad_weights = [p.scatter(g) for p, g in zip(self._patterns, grad_weights)]
            return loss, grad_weights, grad_biases
        return self._backprop_by_layer(inputs, y, layout)

    @property
    def runs_sparse(self) -> bool:
        """Whether backpropagation runs every layer on the sparse kernels, in one fused call.

        True for a float32 network whose ``kernel_path`` is ``"sparse"``, or
        ``None`` with an overall density below ``kernels.FUSED_CROSSOVER_DENSITY``.
        The overall density decides, not each layer's: the paper prunes the
        small output layer at half the rate, and it should not keep a whole
        sparse network off the fused path.
        """
        if self.dtype != np.float32:
            return False
        if self.kernel_path is None:
            return self.density < kernels.FUSED_CROSSOVER_DENSITY
        return self.kernel_path == "sparse"

    def _backprop_by_layer(self, inputs: np.ndarray, y: np.ndarray, layout: str):
        """:meth:`loss_and_gradients` one layer and one kernel call at a time (the readable version)."""
        n = len(y)
        activations = self._forward(inputs)
        log_probs = log_softmax(activations[-1])
        columns = np.arange(n)
        loss = -float(log_probs[y, columns].mean(dtype=np.float64))

        dZ = np.exp(log_probs)
        dZ[y, columns] -= 1.0
        dZ /= n
        grad_weights: list[np.ndarray] = [None] * self.n_layers
        grad_biases: list[np.ndarray] = [None] * self.n_layers
        for layer in reversed(range(self.n_layers)):
            pattern, A_in = self._patterns[layer], activations[layer]
            grad_weights[layer] = kernels.masked_backward_weights(A_in, dZ, pattern, self.kernel_path, layout=layout)
            grad_biases[layer] = dZ.sum(axis=1)
            if layer > 0:
                dA = kernels.masked_backward_input(dZ, self.weights[layer], pattern, self.kernel_path,
                                                   weights_are_masked=True)
                dZ = dA * (A_in > 0)  # relu'(z) = 1 where the unit fired
        return loss, grad_weights, grad_biases

    def _backprop_fused(self, inputs: np.ndarray, y: np.ndarray):
        """:meth:`loss_and_gradients` in one call of :func:`kernels.fused.sparse_backprop`.

        Weight gradients come back at the surviving weights only (``"active"`` layout).
        """
        activations, errors, grad_weights, grad_biases = fused.workspace(self.layer_sizes, self._patterns, len(y))
        activations = (inputs,) + activations[1:]
        loss = fused.sparse_backprop(
            activations, np.ascontiguousarray(y, dtype=np.int64),
            tuple(p.gather_by_output(w) for p, w in zip(self._patterns, self.weights)), tuple(self.biases),
            fused.index_tuples(self._patterns), errors, grad_weights, grad_biases,
        )
        in_active_order = []
        for pattern, packed in zip(self._patterns, grad_weights):  # by-output order -> active order
            grad = np.empty_like(packed)
            grad[pattern.csc_order] = packed
            in_active_order.append(grad)
        return float(loss), in_active_order, list(grad_biases)

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.layer_sizes)
        return f"MLP({sizes}, density={self.density:.4f}, dtype={self.dtype.name})"
