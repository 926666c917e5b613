"""Optimizers that move only the surviving weights.

Each update runs over ``pattern.active``, the flat indices of the weights a mask
keeps, so a pruned weight is never read or written: it stays exactly ``0.0``
however many steps are taken, and the cost of a step is proportional to the
number of surviving weights. The optimizer's own state (Adam's moments, SGD's
velocity) is *compact*: one entry per surviving weight, stored contiguously in
``active`` order, so a step streams through it instead of hopping over the
pruned entries of a full-size array.

Two ways in: :meth:`Optimizer.step` updates a model's dense weight matrices at
their surviving entries, from gradients in either layout of
:meth:`lottery_np.model.MLP.loss_and_gradients` (full matrices, or only the
values at the surviving weights); :meth:`Optimizer.step_packed` updates weights
that a training step keeps packed in contiguous arrays
(:class:`lottery_np.step.PackedSparseStep`), with the plain contiguous loops.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from numba import njit

from .kernels import SparsityPattern
from .model import MLP


@njit(cache=True, fastmath=True, error_model="numpy")
def _adam_all(param, grad, m, v, step_size, beta1, beta2, epsilon):  # pragma: no cover - jitted
    """In-place Adam on every entry (a contiguous loop the compiler vectorises)."""
    for i in range(param.size):
        m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
        v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i]
        param[i] -= step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@njit(cache=True, fastmath=True, error_model="numpy")
def _adam_active(param, grad, m, v, update, active, step_size, beta1, beta2, epsilon):  # pragma: no cover - jitted
    """In-place Adam on the flat entries ``active`` of ``param``; ``grad``, ``m``, ``v`` and ``update`` are compact.

    Two loops: the first, over contiguous arrays only, vectorises (square roots
    and divisions sixteen at a time); the second scatters the updates. One loop
    doing both ran scalar and took 2.8x as long for LeNet's first layer at 10 %
    density (80 us against 29 us).
    """
    for k in range(active.size):
        m[k] = beta1 * m[k] + (1 - beta1) * grad[k]
        v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k]
        update[k] = step_size * m[k] / (np.sqrt(v[k]) + epsilon)
    for k in range(active.size):
        param[active[k]] -= update[k]


@njit(cache=True, fastmath=True, error_model="numpy")
def _momentum_all(param, grad, velocity, learning_rate, momentum):  # pragma: no cover - jitted
    """In-place SGD with (heavy-ball) momentum on every entry."""
    for i in range(param.size):
        velocity[i] = momentum * velocity[i] - learning_rate * grad[i]
        param[i] += velocity[i]


@njit(cache=True, fastmath=True, error_model="numpy")
def _momentum_active(param, grad, velocity, active, learning_rate, momentum):  # pragma: no cover - jitted
    """In-place SGD with momentum on the flat entries ``active`` of ``param``; ``grad`` and ``velocity`` are compact."""
    for k in range(active.size):
        velocity[k] = momentum * velocity[k] - learning_rate * grad[k]
        param[active[k]] += velocity[k]


class Optimizer:
    """Base class: holds compact per-parameter state, created at the first step.

    The state belongs to the masks in force at that first step. A model whose
    masks change afterwards (a new pruning round) needs :meth:`reset` first, as
    the paper's rewinding does anyway; :meth:`step` refuses otherwise.
    """

    def __init__(self, learning_rate: float):
        if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.reset()

    def reset(self) -> None:
        """Forget all state (moments, step count), as after rewinding."""
        self.iterations = 0
        self._state: Optional[list[list[np.ndarray]]] = None
        self._patterns: Optional[list[SparsityPattern]] = None
        self._packed = False

    def _new_state(self, size: int, dtype: np.dtype) -> list[np.ndarray]:
        raise NotImplementedError

    def _hyperparameters(self, dtype: type) -> tuple:
        """This step's scalar constants for the kernels, as ``dtype`` (float32 keeps a float32 model SIMD-wide)."""
        raise NotImplementedError

    def _update(self, param: np.ndarray, grad: np.ndarray, state: list[np.ndarray],
                active: Optional[np.ndarray], hyper: tuple) -> None:
        raise NotImplementedError

    def step(self, model: MLP, grad_weights: list[np.ndarray], grad_biases: list[np.ndarray]) -> None:
        """Apply one update to ``model`` in place, touching only surviving weights.

        Parameters
        ----------
        model : MLP
        grad_weights : list of ndarray
            Per layer, either the full ``(fan_in, fan_out)`` gradient or its values
            at the surviving weights (shape ``(n_active,)``, in ``active`` order).
        grad_biases : list of ndarray, shape (fan_out,)

        Raises
        ------
        ValueError
            If a gradient has neither shape, or the model's masks changed since
            the first step without a :meth:`reset`.
        """
        patterns = model.patterns
        self._bind(patterns, model.biases, packed=False)
        flat_grads = [_at_survivors(g, w, p, layer) for layer, (g, w, p) in
                      enumerate(zip(grad_weights, model.weights, patterns))]
        for w in model.weights + model.biases:
            assert w.flags.c_contiguous, "parameters must be C-contiguous to be updated in place"
        # None marks a fully dense tensor (every bias vector, every unpruned layer): a contiguous loop.
        actives = [None if p.is_dense else p.active for p in patterns] + [None] * len(model.biases)
        self._apply([w.reshape(-1) for w in model.weights] + model.biases, flat_grads + list(grad_biases), actives)

    def step_packed(self, patterns: list[SparsityPattern], values: list[np.ndarray], biases: list[np.ndarray],
                    grad_values: list[np.ndarray], grad_biases: list[np.ndarray]) -> None:
        """Apply one update to weights kept *packed*, one contiguous array per layer.

        ``values[l]`` holds layer ``l``'s surviving weights in any fixed order
        (:class:`lottery_np.step.PackedSparseStep` packs them by output) and
        ``grad_values[l]`` their gradients in the same order. Every array is
        updated in place with contiguous loops only. The state follows that
        order, so an optimizer used here cannot switch to :meth:`step`.

        Raises
        ------
        ValueError
            If ``patterns`` are not those of the first step (masks changed without a
            :meth:`reset`), or the optimizer's state belongs to :meth:`step`.
        """
        self._bind(patterns, biases, packed=True)
        self._apply(list(values) + list(biases), list(grad_values) + list(grad_biases), [None] * len(self._state))

    def _bind(self, patterns: list[SparsityPattern], biases: list[np.ndarray], packed: bool) -> None:
        """Create the state for these masks at the first step; refuse other masks (or layouts) later."""
        if self._state is None:
            self._patterns, self._packed = list(patterns), packed
            self._state = [self._new_state(p.active.size, b.dtype) for p, b in zip(patterns, biases)]
            self._state += [self._new_state(b.size, b.dtype) for b in biases]
        elif len(patterns) != len(self._patterns) or any(p is not q for p, q in zip(patterns, self._patterns)):
            raise ValueError("the model's masks changed since this optimizer's first step; call reset() first")
        elif packed != self._packed:
            raise ValueError("this optimizer's state is ordered for "
                             f"{'step_packed' if self._packed else 'step'}; call reset() before switching")

    def _apply(self, params: list[np.ndarray], grads: list[np.ndarray], actives: list[Optional[np.ndarray]]) -> None:
        """One update of every flat parameter array (in place) from its compact gradient."""
        self.iterations += 1
        hyper = self._hyperparameters(params[0].dtype.type)
        for param, grad, state, active in zip(params, grads, self._state, actives):
            self._update(param, np.ascontiguousarray(grad, dtype=param.dtype).reshape(-1), state, active, hyper)


def _at_survivors(grad, weights: np.ndarray, pattern: SparsityPattern, layer: int) -> np.ndarray:
    """``grad`` as its values at the surviving weights (``active`` order), from either layout."""
    grad = np.asarray(grad)
    if grad.shape == weights.shape:
        return pattern.gather(grad)
    if grad.shape == (pattern.active.size,):
        return grad
    raise ValueError(f"grad_weights[{layer}] must have shape {weights.shape} or ({pattern.active.size},) "
                     f"(the surviving weights), got {grad.shape}")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` and
    ``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.
    The paper trains LeNet-300-100 with Adam at ``lr = 1.2e-3``.
    """

    def __init__(self, learning_rate: float = 1.2e-3, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        super().__init__(learning_rate)

    def _new_state(self, size, dtype):
        return [np.zeros(size, dtype=dtype), np.zeros(size, dtype=dtype), np.empty(size, dtype=dtype)]  # m, v, scratch

    def _hyperparameters(self, dtype):
        t = self.iterations
        step_size = self.learning_rate * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        return tuple(dtype(x) for x in (step_size, self.beta1, self.beta2, self.epsilon))

    def _update(self, param, grad, state, active, hyper):
        if active is None:
            _adam_all(param, grad, *state[:2], *hyper)
        else:
            _adam_active(param, grad, *state, active, *hyper)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``u <- mu u - lr g``, ``w <- w + u``."""

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        super().__init__(learning_rate)

    def _new_state(self, size, dtype):
        return [np.zeros(size, dtype=dtype)]

    def _hyperparameters(self, dtype):
        return dtype(self.learning_rate), dtype(self.momentum)

    def _update(self, param, grad, state, active, hyper):
        if active is None:
            _momentum_all(param, grad, state[0], *hyper)
        else:
            _momentum_active(param, grad, state[0], active, *hyper)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name: str, learning_rate: float, **options) -> Optimizer:
    """Build an optimizer by name: ``"adam"`` or ``"sgd"``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](learning_rate, **options)
