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

Float32 arithmetic. Every scalar a kernel receives (``1 - beta1``, the
bias-corrected step size, ...) is formed in float64 and cast to the parameters'
dtype once: ``float32(1) - float32(0.999)`` is ``0.0009999871``, 1.3e-5 off,
and an error of that size in every step compounds over a run. The kernels
compile with the same ``fastmath`` flags as the layer kernels
(:data:`lottery_np.kernels.jitted.FASTMATH`), which keep IEEE NaN and infinity
semantics, so a diverging run's NaN stays a NaN for the trainer to see.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from numba import njit

from . import validation
from .kernels import SparsityPattern
from .kernels.jitted import FASTMATH
from .model import MLP


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _adam_all(param, grad, m, v, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
              epsilon):  # pragma: no cover - jitted
    """In-place Adam on every entry (a contiguous loop the compiler vectorises)."""
    for i in range(param.size):
        m[i] = beta1 * m[i] + one_minus_beta1 * grad[i]
        v[i] = beta2 * v[i] + one_minus_beta2 * grad[i] * grad[i]
        param[i] -= step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _adam_active(param, grad, m, v, update, active, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                 epsilon):  # pragma: no cover - jitted
    """In-place Adam on the flat entries ``active`` of ``param``; ``grad``, ``m``, ``v`` and ``update`` are compact.

    Two loops: the first, over contiguous arrays only, vectorises (square roots
    and divisions sixteen at a time); the second scatters the updates. One loop
    doing both ran scalar and took 2.8x as long for LeNet's first layer at 10 %
    density (80 us against 29 us).
    """
    for k in range(active.size):
        m[k] = beta1 * m[k] + one_minus_beta1 * grad[k]
        v[k] = beta2 * v[k] + one_minus_beta2 * grad[k] * grad[k]
        update[k] = step_size * m[k] / (np.sqrt(v[k]) + epsilon)
    for k in range(active.size):
        param[active[k]] -= update[k]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _momentum_all(param, grad, velocity, learning_rate, momentum):  # pragma: no cover - jitted
    """In-place SGD with (heavy-ball) momentum on every entry."""
    for i in range(param.size):
        velocity[i] = momentum * velocity[i] - learning_rate * grad[i]
        param[i] += velocity[i]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
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
        self.learning_rate = validation.real("learning_rate", learning_rate, 0.0, low_open=True)
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
        """This step's scalar constants for the kernels: formed in float64, then cast to ``dtype`` once.

        (Float32 constants keep a float32 model's loops SIMD-wide.)
        """
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
    """Adam (Kingma & Ba, 2015), in either of its two published forms.

    Both keep ``m <- b1 m + (1 - b1) g`` and ``v <- b2 v + (1 - b2) g^2`` and
    differ only in where epsilon enters:

    * ``bias_correction="step_size"`` (the default): the bias corrections are
      folded into the step size, ``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``,
      the efficient form at the end of Kingma & Ba's Section 2, and what
      TensorFlow 1's ``tf.train.AdamOptimizer`` computes, the optimizer of
      Frankle & Carbin's LeNet experiments;
    * ``bias_correction="moments"``: the moments are corrected first,
      ``w <- w - lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)`` and
      ``v_hat = v / (1 - b2^t)``, Kingma & Ba's Algorithm 1 and PyTorch's
      ``torch.optim.Adam``.

    The second equals the first with ``eps`` replaced by ``eps sqrt(1 - b2^t)``,
    which is how it is computed here. The two agree while ``sqrt(v)`` is much larger than
    ``eps``, and differ by tens of percent for gradients of order ``eps``: early in
    training, ``sqrt(1 - b2^t)`` is about 0.03 at ``t = 1``.
    The paper trains LeNet-300-100 with Adam at ``lr = 1.2e-3``.
    """

    FORMS = ("step_size", "moments")

    def __init__(self, learning_rate: float = 1.2e-3, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, bias_correction: str = "step_size"):
        self.beta1 = validation.real("beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = validation.real("beta2", beta2, 0.0, 1.0, high_open=True)
        self.epsilon = validation.real("epsilon", epsilon, 0.0, low_open=True)
        self.bias_correction = validation.choice("bias_correction", bias_correction, self.FORMS)
        super().__init__(learning_rate)

    def _new_state(self, size, dtype):
        return [np.zeros(size, dtype=dtype), np.zeros(size, dtype=dtype), np.empty(size, dtype=dtype)]  # m, v, scratch

    def _hyperparameters(self, dtype):
        t = self.iterations
        correction2 = math.sqrt(1.0 - self.beta2**t)
        step_size = self.learning_rate * correction2 / (1.0 - self.beta1**t)
        epsilon = self.epsilon * correction2 if self.bias_correction == "moments" else self.epsilon
        return tuple(dtype(x) for x in (step_size, self.beta1, 1.0 - self.beta1, self.beta2, 1.0 - self.beta2, epsilon))

    def _update(self, param, grad, state, active, hyper):
        if active is None:
            _adam_all(param, grad, *state[:2], *hyper)
        else:
            _adam_active(param, grad, *state, active, *hyper)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``u <- mu u - lr g``, ``w <- w + u``."""

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9):
        self.momentum = validation.real("momentum", momentum, 0.0, 1.0, high_open=True)
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
    validation.choice("optimizer", name, sorted(OPTIMIZERS))
    return OPTIMIZERS[name](learning_rate, **options)
