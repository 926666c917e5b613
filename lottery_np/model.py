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
are computed (dense BLAS, sparse kernels, whole-network calls, chunks of samples) is the
business of :mod:`lottery_np.engine`, not of the network.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import validation
from .data import rules
from .engine import kernels

LENET_300_100 = (784, 300, 100, 10)
"""The fully connected network of Frankle & Carbin (2019), Figure 2."""


@dataclass
class Parameters:
    """A snapshot of a network's weights and biases (copies, never views).

    Examples
    --------
    >>> from lottery_np import MLP
    >>> snapshot = MLP((4, 3, 2), seed=0).get_parameters()
    >>> [w.shape for w in snapshot.weights], [b.shape for b in snapshot.biases]
    ([(4, 3), (3, 2)], [(3,), (2,)])
    >>> copy = snapshot.copy(); copy.weights[0][:] = 0.0
    >>> bool(snapshot.weights[0].any())  # the copy shares no memory
    True
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def copy(self) -> "Parameters":
        """Return a deep copy."""
        return Parameters([w.copy() for w in self.weights], [b.copy() for b in self.biases])


def apply_mask(weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of ``weights`` with every entry where ``mask`` is 0 set to exactly +0.0.

    Examples
    --------
    >>> import numpy as np
    >>> apply_mask(np.array([[1.5, -2.0], [0.5, 3.0]]), np.array([[1, 0], [0, 1]]))
    array([[1.5, 0. ],
           [0. , 3. ]])
    """
    return np.where(mask != 0, weights, 0).astype(weights.dtype)


def glorot_normal(rng: np.random.Generator, fan_in: int, fan_out: int, dtype=np.float32) -> np.ndarray:
    """Draw a ``(fan_in, fan_out)`` matrix from N(0, 2 / (fan_in + fan_out)).

    This is the Gaussian Glorot initialization the paper uses (Glorot & Bengio, 2010).

    Examples
    --------
    >>> import numpy as np
    >>> W = glorot_normal(np.random.default_rng(0), 300, 100)
    >>> W.shape, W.dtype, bool(abs(W.std() - (2 / 400) ** 0.5) < 0.005)
    ((300, 100), dtype('float32'), True)
    """
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Column-wise ``log softmax`` of ``(n_classes, n_samples)`` logits, computed stably.

    ``log p_k = z_k - max(z) - log sum_j exp(z_j - max(z))``: subtracting the
    maximum keeps every exponent <= 0, so nothing overflows.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[0.0, 1000.0], [0.0, 0.0]])  # two classes, two samples
    >>> np.exp(log_softmax(logits)).round(3)  # no overflow at a logit of 1000
    array([[0.5, 1. ],
           [0.5, 0. ]])
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

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP((4, 3, 2), seed=0)
    >>> net.set_masks([np.triu(np.ones((4, 3))), np.ones((3, 2))])
    >>> net.weight_counts()
    [(6, 12), (6, 6)]
    >>> loss, grad_weights, grad_biases = net.backprop(np.ones((5, 4)), np.array([0, 1, 0, 1, 1]))
    >>> bool((grad_weights[0][np.tril_indices(4, -1, 3)] == 0).all())  # nothing flows to a pruned weight
    True
    """

    def __init__(self, layer_sizes: Sequence[int] = LENET_300_100, seed: int = 0, dtype=np.float32):
        try:
            sizes = tuple(layer_sizes)
        except TypeError:  # MLP(64): not a sequence at all
            sizes = ()
        if len(sizes) < 2:
            raise validation.SettingError("layer_sizes", "a sequence of at least two positive integers", layer_sizes)
        sizes = tuple(validation.integer(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))
        seed = validation.integer("seed", seed, minimum=0)
        try:
            checked = np.dtype(dtype)
        except TypeError:  # numpy: "data type 'bogus' not understood"
            checked = None
        if checked not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
        dtype = checked
        rng = np.random.default_rng(seed)
        self.layer_sizes = sizes
        self.seed = seed
        self.dtype = dtype
        self.weights = [glorot_normal(rng, i, o, dtype) for i, o in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros(o, dtype=dtype) for o in sizes[1:]]
        self._masks = [np.ones(w.shape, dtype=np.float32) for w in self.weights]
        self._patterns: Optional[list[kernels.SparsityPattern]] = None  # the engine's index of the masks

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
        """The engine's cache: the surviving connections of each mask, indexed for the kernels.

        Built on first use after the masks change (new objects each time), so that code
        holding them can tell that the masks changed.
        """
        if self._patterns is None:
            self._patterns = [kernels.SparsityPattern.from_mask(m) for m in self._masks]
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
        self._masks = [np.array(m, dtype=np.float32, order="C", copy=True) for m in masks]
        self._patterns = None
        self.weights = [apply_mask(w, m) for w, m in zip(self.weights, self._masks)]

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
            self.weights[layer] = apply_mask(w.astype(self.dtype), self._masks[layer])
            self.biases[layer] = b.astype(self.dtype, copy=True)

    def copy(self) -> "MLP":
        """Return an independent deep copy (weights, biases and masks)."""
        return copy.deepcopy(self)

    def weight_counts(self) -> list[tuple[int, int]]:
        """``(remaining, total)`` weights per layer; biases are never pruned and not counted."""
        return [(int(np.count_nonzero(m)), m.size) for m in self._masks]

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
        """``(X, y)`` checked by the rules every dataset obeys (:mod:`lottery_np.data.rules`), for this network.

        ``X`` must hold finite real numbers (within float32's range), shape ``(n_samples, n_inputs)``;
        ``y``, if given (else it stays None), integer class labels in ``[0, n_classes)``, one per row.
        ``X`` may also be a set the engine laid out once from checked data
        (:func:`lottery_np.engine.kernels.as_inputs`), which passes as it is.

        Raises
        ------
        ValueError
            Naming ``X`` or ``y``, the rule, and where the first bad value is.
        """
        return self.check_batch(kernels.as_inputs(X, functools.partial(rules.features_of, "X")), y)

    def check_batch(self, X, y: Optional[np.ndarray] = None) -> tuple:
        """``(X, y)`` for a batch drawn from a checked dataset (what training passes): the features' values unread.

        Raises
        ------
        ValueError
            Unless ``X`` is ``(n_samples, n_inputs)`` and ``y``, if given, integer class labels
            in ``[0, n_classes)``, one per row.
        """
        X = kernels.as_inputs(X)
        if len(X.shape) != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}")
        if y is None:
            return X, None
        y, n_samples, n_classes = rules.labels_of("y", y, len(X), "X"), len(X), self.layer_sizes[-1]
        if n_samples and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"y must hold class labels in [0, {n_classes}), got {y.min()}..{y.max()}")
        return X, y

    # ---------------------------------------------------------------- forward
    def forward(self, A: np.ndarray) -> list[np.ndarray]:
        """Feature-major forward pass of ``A``, shape ``(n_inputs, n_samples)``; every layer's output, logits last.

        ``Z_l = (W_l * M_l)^T A_{l-1} + b_l`` and ``A_l = relu(Z_l)`` for hidden layers.
        """
        activations = [A]
        for layer, (w, b, pattern) in enumerate(zip(self.weights, self.biases, self.patterns)):
            Z = kernels.masked_forward(activations[-1], w, pattern)
            Z += b[:, None]
            if layer < self.n_layers - 1:
                np.maximum(Z, 0, out=Z)
            activations.append(Z)
        return activations

    def _logits(self, X) -> np.ndarray:
        """``(n_classes, n_samples)`` logits of checked inputs: :meth:`forward`, as the engine runs it for many samples."""
        return kernels.network_logits(X, self.patterns, self.weights, self.biases, lambda A: self.forward(A)[-1])

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
    def backward(self, X: np.ndarray, y: np.ndarray) -> tuple:
        """Mean cross-entropy on a batch, and the errors backpropagation sends down the layers.

        With ``P = softmax(Z_L)`` and one-hot targets ``Y``, the output error is
        ``dZ_L = (P - Y) / n``; going down, ``dZ_{l-1} = ((W_l * M_l) dZ_l) * [Z_{l-1} > 0]``.
        Each layer's gradients are read off its error: ``db_l = sum_samples dZ_l``
        here, and ``dW_l = (A_{l-1} dZ_l^T) * M_l`` by :meth:`backprop` (or, at the surviving
        weights only, by the engine's training step).

        Returns
        -------
        loss : float
        grad_biases : list of ndarray, shape (fan_out,)
        inputs, errors : lists of ndarray, shapes (fan_in, n_samples) and (fan_out, n_samples)
            Each layer's input ``A_{l-1}`` and error ``dZ_l``, feature-major.
        """
        X, y = self.check_batch(X, y)  # the features' values: a NaN makes a NaN loss, which training refuses
        n = len(y)
        activations = self.forward(np.ascontiguousarray(X.T, dtype=self.dtype))
        log_probs = log_softmax(activations[-1])
        columns = np.arange(n)
        loss = -float(log_probs[y, columns].mean(dtype=np.float64))

        dZ = np.exp(log_probs)
        dZ[y, columns] -= 1.0
        dZ /= n
        errors: list[np.ndarray] = [None] * self.n_layers
        patterns = self.patterns
        for layer in reversed(range(self.n_layers)):
            errors[layer] = dZ
            if layer > 0:
                dA = kernels.masked_backward_input(dZ, self.weights[layer], patterns[layer])
                dZ = dA * (activations[layer] > 0)  # relu'(z) = 1 where the unit fired
        return loss, [dZ.sum(axis=1) for dZ in errors], activations[:-1], errors

    def backprop(self, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Mean cross-entropy on a batch and its gradients: :meth:`backward`, then ``dW_l = (A_{l-1} dZ_l^T) * M_l``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,), class labels

        Returns
        -------
        loss : float
        grad_weights : list of ndarray, shape (fan_in, fan_out)
            0.0 at pruned entries.
        grad_biases : list of ndarray, shape (fan_out,)
        """
        loss, grad_biases, inputs, errors = self.backward(X, y)
        grad_weights = [kernels.masked_backward_weights(A, dZ, pattern)
                        for A, dZ, pattern in zip(inputs, errors, self.patterns)]
        return loss, grad_weights, grad_biases

    loss_and_gradients = backprop  # the name scikit-learn's readers look for

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.layer_sizes)
        return f"MLP({sizes}, density={self.density:.4f}, dtype={self.dtype.name})"
