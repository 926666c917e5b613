"""One training update: forward, backward and the optimizer, as the training loop takes it.

``step = training_step(model, optimizer)`` returns a callable, ``loss = step(X, y)``.
The step owns the pairing of the two: which entries of which arrays the
optimizer updates, and that the optimizer's state still belongs to the model's
masks. It takes one of two forms, chosen by
:func:`lottery_np.engine.kernels.use_fused_step` from the model's density (or forced
with ``packed``):

* :class:`LayerwiseStep`, the textbook pair: backpropagation layer by layer
  (:meth:`MLP.backward`, each product on the path its layer's density picks, or on
  ``path``, in the kernels' sense),
  then the optimizer on the surviving weights only,
  ``optimizer.step(params, grads, active)`` with ``active[l] = pattern.active``
  and ``grads[l]`` the weight gradient read off at those entries alone
  (:func:`lottery_np.engine.kernels.surviving_weight_gradients`: no full matrix, no
  ``* M``);
* :class:`PackedSparseStep`, for a sparse network: the surviving weights stay
  *packed*, one contiguous array per layer in by-output order, for the whole
  run. The fused kernel (:class:`lottery_np.engine.kernels.fused.FusedBackprop`)
  reads 95 KB of weights packed in the order it walks them instead of picking
  them out of LeNet's 0.9 MB first-layer matrix, and the optimizer updates the
  packed arrays whole, with contiguous, vectorised loops.

Both are a :class:`TrainingStep`. The model's dense ``weights`` are brought up to date by
:meth:`TrainingStep.sync`,
which the training loop calls before it evaluates, snapshots or returns.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from .kernels import SparsityPattern, check_path, forced_path, surviving_weight_gradients, use_fused_step
from .kernels.fused import FusedBackprop

if TYPE_CHECKING:  # the engine serves the textbook's types and imports none of them
    from ..model import MLP
    from ..optim import Optimizer


class TrainingStep:
    """Training updates of ``model`` by ``optimizer``, one batch per call: what both forms share.

    Parameters
    ----------
    model : MLP
        Updated in place; its masks must not change while the step is in use.
    optimizer : Optimizer
        Fresh or reset: its state will follow this step's parameters (unless ``carried``).
    carried : bool
        The optimizer's state is carried over from another step by :func:`training_step`.

    Raises
    ------
    ValueError
        If the optimizer already holds state and is not ``carried``.
    """

    def __init__(self, model: MLP, optimizer: Optimizer, carried: bool = False):
        if optimizer.iterations and not carried:
            raise ValueError(f"the optimizer has taken {optimizer.iterations} steps already; a training step "
                             "needs a fresh one (or call optimizer.reset())")
        self.model = model
        self.optimizer = optimizer
        self._patterns = model.patterns

    def state_order(self) -> list[Optional[np.ndarray]]:
        """Per parameter the optimizer steps (weights, then biases): the flat indices its state entries
        belong to, in order; None for a parameter updated whole."""
        raise NotImplementedError

    def __call__(self, X: np.ndarray, y: np.ndarray) -> float:
        """Update the model on the batch ``(X, y)`` and return the batch's loss before the update.

        A NaN or infinite loss is returned without updating anything.

        Raises
        ------
        ValueError
            If the model's masks changed since the step was made, or the batch is malformed.
        """
        self._check_masks()
        return self._update(X, y)

    def sync(self) -> None:
        """Bring ``model.weights`` up to date (they always are, unless the step keeps them elsewhere)."""

    @property
    def synced(self) -> bool:
        """Whether ``model.weights`` holds every update taken."""
        return True

    def _update(self, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def _check_masks(self) -> None:
        """Refuse to go on once the model's masks are not those the step (and the optimizer's state) was made for."""
        if any(now is not then for now, then in zip(self.model.patterns, self._patterns)):
            raise ValueError("the model's masks changed since this training step was made; make a new step, "
                             "with a fresh or reset optimizer")


class LayerwiseStep(TrainingStep):
    """Backpropagation layer by layer, then the optimizer at the surviving weights only.

    Parameters
    ----------
    model, optimizer : as for :class:`TrainingStep`
    path : {None, "dense", "sparse", "reference"}
        The path of every layer product (see :mod:`lottery_np.engine.kernels`); None
        lets each layer's density choose.
    trainable : list of SparsityPattern, optional
        The weights the optimizer updates, a subset of the model's: the others the network computes
        with stay at their values (Zhou et al.'s pruned weights frozen at their initialization).
        Default: every weight the masks keep.
    """

    def __init__(self, model: MLP, optimizer: Optimizer, path: Optional[str] = None, carried: bool = False,
                 trainable: Optional[list] = None):
        check_path(path)
        super().__init__(model, optimizer, carried)
        self.path = path
        self._trainable = self._patterns if trainable is None else _check_trainable(trainable, self._patterns)
        # None marks a fully dense tensor (an unpruned layer, every bias): the optimizer's contiguous loop.
        self._active = [None if p.is_dense else p.active for p in self._trainable] + [None] * model.n_layers

    def state_order(self) -> list[Optional[np.ndarray]]:
        return list(self._active)

    def _update(self, X: np.ndarray, y: np.ndarray) -> float:
        model = self.model
        with forced_path(self.path):
            loss, grad_biases, inputs, errors = model.backward(X, y)
        if math.isfinite(loss):
            params = [w.reshape(-1) for w in model.weights] + model.biases
            survivors = [surviving_weight_gradients(A, dZ, pattern, self.path)
                         for A, dZ, pattern in zip(inputs, errors, self._trainable)]
            self.optimizer.step(params, survivors + grad_biases, self._active)
        return loss


def _check_trainable(trainable: list, patterns: list) -> list:
    """``trainable`` once each of its patterns is known to keep only weights the model's masks keep."""
    if len(trainable) != len(patterns):
        raise ValueError(f"trainable must give one pattern per layer, {len(patterns)}, got {len(trainable)}")
    for layer, (part, whole) in enumerate(zip(trainable, patterns)):
        if part.shape != whole.shape:
            raise ValueError(f"trainable[{layer}] must have the shape {whole.shape}, got {part.shape}")
        if not whole.mask.ravel()[part.active].all():
            raise ValueError(f"trainable[{layer}] keeps weights the model's mask prunes: it must be a subset of it")
    return list(trainable)


class PackedSparseStep(TrainingStep):
    """Training updates of a sparse float32 network whose surviving weights stay packed between steps.

    ``model.weights`` is stale between :meth:`sync` calls; ``model.biases`` is
    always current. Gives the same updates as :class:`LayerwiseStep` up to
    float32 rounding.
    """

    def __init__(self, model: MLP, optimizer: Optimizer, carried: bool = False):
        if model.dtype != np.float32:
            raise ValueError(f"the packed sparse step runs float32 networks only, got {model!r}")
        super().__init__(model, optimizer, carried)
        self._values = [p.gather_by_output(w) for p, w in zip(self._patterns, model.weights)]  # copies
        self._backprop = FusedBackprop(model.layer_sizes, self._patterns)
        self._stale = False

    def _update(self, X: np.ndarray, y: np.ndarray) -> float:
        model = self.model
        X, y = model.check_batch(X, y)  # the kernel trusts the labels as indices
        loss, grad_weights, grad_biases = self._backprop(X, y, self._values, model.biases)
        if math.isfinite(loss):
            self.optimizer.step(self._values + model.biases, list(grad_weights + grad_biases))
            self._stale = True
        return loss

    def state_order(self) -> list[Optional[np.ndarray]]:
        return [p.csc_active for p in self._patterns] + [None] * self.model.n_layers

    @property
    def synced(self) -> bool:
        return not self._stale

    def sync(self) -> None:
        """Write the packed weights back into ``model.weights``."""
        if self._stale:
            for weights, pattern, values in zip(self.model.weights, self._patterns, self._values):
                weights.reshape(-1)[pattern.csc_active] = values
            self._stale = False


def training_step(model: MLP, optimizer: Optimizer, path: Optional[str] = None, *,
                  packed: Optional[bool] = None, carry_from: Optional[TrainingStep] = None,
                  trainable: Optional[list] = None) -> TrainingStep:
    """The training step for ``model``: packed and fused when it is sparse enough, layer by layer otherwise.

    Parameters
    ----------
    model : MLP
    optimizer : Optimizer
        Fresh or reset, unless ``carry_from`` is given.
    path : {None, "dense", "sparse", "reference"}
        A :class:`LayerwiseStep` with every layer product on that path (the kernels' sense of the word).
    packed : bool, optional
        True: the :class:`PackedSparseStep` (float32 only); False: a :class:`LayerwiseStep`.
        None: :func:`lottery_np.engine.kernels.use_fused_step` decides from the model's density
        and dtype, unless ``path`` is given.
    carry_from : TrainingStep, optional
        The step of ``model`` and ``optimizer`` before its masks changed (a connectivity update of
        dynamic sparse training), synced before they changed: the optimizer's state moves to the
        new masks' entries (``optimizer.remap``): an entry kept keeps its state, a new entry
        starts from zero.
    trainable : list of ndarray, optional
        0/1 masks of the weights to train, inside the model's masks: the others stay as they are
        (a :class:`LayerwiseStep`; see there).

    Raises
    ------
    ValueError
        If ``path`` is unknown, or given with ``packed=True``, or ``carry_from`` steps another
        model or optimizer, or holds updates not synced into the model.
    """
    if packed and path is not None:
        raise ValueError(f"the packed step runs its own fused kernel: give no path, got path={path!r}")
    if carry_from is not None and (carry_from.model is not model or carry_from.optimizer is not optimizer):
        raise ValueError("carry_from must be a step of the same model and optimizer")
    if carry_from is not None and not carry_from.synced:
        raise ValueError("carry_from holds updates the model does not have: sync() it before changing the masks")
    if trainable is not None and (packed or carry_from is not None):
        raise ValueError("trainable weights are stepped layer by layer, from a fresh optimizer: give neither "
                         "packed=True nor carry_from with them")
    if packed is None:
        packed = path is None and trainable is None and use_fused_step(model.density, model.dtype)
    carried = carry_from is not None
    if trainable is not None:
        trainable = [SparsityPattern.from_mask(m) for m in trainable]
    step = (PackedSparseStep(model, optimizer, carried) if packed
            else LayerwiseStep(model, optimizer, path, carried, trainable))
    if carried:
        sizes = [w.size for w in model.weights] + [b.size for b in model.biases]
        optimizer.remap(carry_from.state_order(), step.state_order(), sizes)
    return step
