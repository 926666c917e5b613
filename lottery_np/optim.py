"""Optimizers that move only the surviving weights.

Each update runs over ``pattern.active``, the flat indices of the weights a mask
keeps, so a pruned weight (and its momentum) is never read or written: it stays
exactly ``0.0`` however many steps are taken, and the cost of a step is
proportional to the number of surviving weights.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .model import MLP


@njit(cache=True, fastmath=True, error_model="numpy")
def _adam_all(param, grad, m, v, step_size, beta1, beta2, epsilon):  # pragma: no cover - jitted
    """In-place Adam on every entry (a contiguous loop the compiler vectorises)."""
    for i in range(param.size):
        m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
        v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i]
        param[i] -= step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@njit(cache=True, fastmath=True, error_model="numpy")
def _adam_active(param, grad, m, v, active, step_size, beta1, beta2, epsilon):  # pragma: no cover - jitted
    """In-place Adam on the flat entries ``active`` only."""
    for k in range(active.size):
        i = active[k]
        m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
        v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i]
        param[i] -= step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@njit(cache=True, fastmath=True, error_model="numpy")
def _momentum_all(param, grad, velocity, learning_rate, momentum):  # pragma: no cover - jitted
    """In-place SGD with (heavy-ball) momentum on every entry."""
    for i in range(param.size):
        velocity[i] = momentum * velocity[i] - learning_rate * grad[i]
        param[i] += velocity[i]


@njit(cache=True, fastmath=True, error_model="numpy")
def _momentum_active(param, grad, velocity, active, learning_rate, momentum):  # pragma: no cover - jitted
    """In-place SGD with (heavy-ball) momentum on the flat entries ``active`` only."""
    for k in range(active.size):
        i = active[k]
        velocity[i] = momentum * velocity[i] - learning_rate * grad[i]
        param[i] += velocity[i]


class Optimizer:
    """Base class: holds per-parameter state, created lazily at the first step."""

    def __init__(self, learning_rate: float):
        if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.reset()

    def reset(self) -> None:
        """Forget all state (moments, step count), as after rewinding."""
        self.iterations = 0
        self._state: list[list[np.ndarray]] | None = None

    def _new_state(self, param: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def _update(self, param, grad, state, active) -> None:
        raise NotImplementedError

    def step(self, model: MLP, grad_weights: list[np.ndarray], grad_biases: list[np.ndarray]) -> None:
        """Apply one update to ``model`` in place, touching only surviving weights."""
        params = model.weights + model.biases
        if self._state is None:
            self._state = [self._new_state(p) for p in params]
        self.iterations += 1
        # None marks a fully dense tensor (every bias vector, every unpruned layer): a contiguous loop.
        actives = [p.active if p.active.size < p.mask.size else None for p in model.patterns]
        for param, grad, state, active in zip(params, grad_weights + grad_biases, self._state, actives + [None] * len(model.biases)):
            assert param.flags.c_contiguous, "parameters must be C-contiguous to be updated in place"
            self._update(param.reshape(-1), np.ascontiguousarray(grad, dtype=param.dtype).reshape(-1), state, active)


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

    def _new_state(self, param):
        return [np.zeros(param.size, dtype=param.dtype), np.zeros(param.size, dtype=param.dtype)]

    def _update(self, param, grad, state, active):
        t = self.iterations
        cast = param.dtype.type  # float32 scalars keep a float32 model in single precision (and SIMD-wide)
        step_size = cast(self.learning_rate * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t))
        hyper = (step_size, cast(self.beta1), cast(self.beta2), cast(self.epsilon))
        if active is None:
            _adam_all(param, grad, state[0], state[1], *hyper)
        else:
            _adam_active(param, grad, state[0], state[1], active, *hyper)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``u <- mu u - lr g``, ``w <- w + u``."""

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        super().__init__(learning_rate)

    def _new_state(self, param):
        return [np.zeros(param.size, dtype=param.dtype)]

    def _update(self, param, grad, state, active):
        cast = param.dtype.type
        hyper = (cast(self.learning_rate), cast(self.momentum))
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
