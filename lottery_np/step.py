"""One training update: forward, backward and the optimizer, as the training loop takes it.

``step = training_step(model, optimizer)`` returns a callable, ``loss = step(X, y)``.
For most networks it is the textbook pair :meth:`MLP.loss_and_gradients` then
:meth:`Optimizer.step`. For a network that :attr:`MLP.runs_sparse`, it is a
:class:`PackedSparseStep`, which keeps the surviving weights *packed* (one
contiguous array per layer, in by-output order) for the whole run:

* the fused kernel (:mod:`lottery_np.kernels.fused`) reads 95 KB of weights,
  packed in the order it walks them (by output), instead of picking them out
  of LeNet's 0.9 MB first-layer matrix;
* the optimizer updates the packed arrays with contiguous, vectorised loops,
  instead of scattering into that matrix every step;
* the activation and gradient buffers are allocated once per batch size, not
  once per step (at a batch of 1000, allocating them afresh cost 1.6 ms a
  step, mostly page faults, next to 3.4 ms of arithmetic).

The model's dense ``weights`` are brought up to date by :meth:`TrainingStep.sync`,
which the training loop calls before it evaluates, snapshots or returns.
"""
from __future__ import annotations

import math

import numpy as np

from .kernels import fused
from .model import MLP
from .optim import Optimizer


class TrainingStep:
    """Training updates of ``model`` by ``optimizer``, one batch per call.

    Parameters
    ----------
    model : MLP
        Updated in place; its masks must not change while the step is in use.
    optimizer : Optimizer
    """

    def __init__(self, model: MLP, optimizer: Optimizer):
        self.model = model
        self.optimizer = optimizer

    def __call__(self, X: np.ndarray, y: np.ndarray) -> float:
        """Update the model on the batch ``(X, y)`` and return the batch's loss before the update.

        A NaN or infinite loss is returned without updating anything.
        """
        loss, grad_weights, grad_biases = self.model.loss_and_gradients(X, y, layout="active")
        if math.isfinite(loss):
            self.optimizer.step(self.model, grad_weights, grad_biases)
        return loss

    def sync(self) -> None:
        """Bring ``model.weights`` up to date (always the case here)."""


class PackedSparseStep(TrainingStep):
    """Training updates of a sparse network whose surviving weights stay packed between steps.

    ``model.weights`` is stale between :meth:`sync` calls; ``model.biases`` is
    always current. Gives the same updates as :class:`TrainingStep` up to
    float32 rounding.
    """

    def __init__(self, model: MLP, optimizer: Optimizer):
        if not model.runs_sparse:
            raise ValueError(f"{model!r} does not run on the sparse path; use TrainingStep")
        super().__init__(model, optimizer)
        self._patterns = model.patterns
        self._values = [p.gather_by_output(w) for p, w in zip(self._patterns, model.weights)]  # copies
        self._by_output = fused.index_tuples(self._patterns)
        self._buffers: dict[int, tuple] = {}
        self._stale = False

    def __call__(self, X: np.ndarray, y: np.ndarray) -> float:
        model = self.model
        X = model._check_X(X)
        y = model._check_y(y, len(X))  # the kernel trusts the labels as indices
        activations, errors, grad_weights, grad_biases = self._workspace(len(X))
        np.copyto(activations[0], X.T)
        loss = fused.sparse_backprop(
            activations, np.ascontiguousarray(y, dtype=np.int64), tuple(self._values),
            tuple(model.biases), self._by_output, errors, grad_weights, grad_biases,
        )
        if math.isfinite(loss):
            self.optimizer.step_packed(self._patterns, self._values, model.biases, grad_weights, grad_biases)
            self._stale = True
        return float(loss)

    def sync(self) -> None:
        """Write the packed weights back into ``model.weights``."""
        if self._stale:
            for weights, pattern, values in zip(self.model.weights, self._patterns, self._values):
                weights.reshape(-1)[pattern.csc_active] = values
            self._stale = False

    def _workspace(self, n_samples: int) -> tuple:
        """The buffers of :func:`fused.sparse_backprop` for a batch of ``n_samples`` (made once per size)."""
        if n_samples not in self._buffers:
            self._buffers[n_samples] = fused.workspace(self.model.layer_sizes, self._patterns, n_samples)
        return self._buffers[n_samples]


def training_step(model: MLP, optimizer: Optimizer) -> TrainingStep:
    """The fastest :class:`TrainingStep` for ``model``: packed when it runs sparse, plain otherwise."""
    return PackedSparseStep(model, optimizer) if model.runs_sparse else TrainingStep(model, optimizer)
