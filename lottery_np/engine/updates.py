"""The optimizers' compiled update loops: Adam and SGD with momentum, entry by entry.

:mod:`lottery_np.optim` states the update rules and owns the state; this module
runs them. Each rule has one body, for one entry (``_adam_entry``,
``_momentum_entry``), inlined into two loops: one over every entry of a
parameter (a contiguous loop the compiler vectorises), one over the flat
entries ``active`` of a masked parameter, whose gradient and state are
*compact* (one value per updated entry, in the order of ``active``).

Float32 arithmetic. A loop receives its scalar constants in one array, laid out
as :data:`ADAM_CONSTANTS` or :data:`MOMENTUM_CONSTANTS` name them: a handful of
scalars cost the Numba dispatcher more to type and unbox than LeNet's smallest
layers cost to update. Each constant (``1 - beta1``, the bias-corrected step
size, ...) is formed in float64 and cast to the parameters' dtype once:
``float32(1) - float32(0.999)`` is ``0.0009999871``, 1.3e-5 off, and an error of
that size in every step compounds over a run. The loops compile with the
layer kernels' ``fastmath`` flags (:data:`lottery_np.engine.kernels.jitted.FASTMATH`),
which keep IEEE NaN and infinity semantics, so a diverging run's NaN stays a
NaN for the trainer to see.

**No subnormal numbers.** x86 cores compute with subnormal numbers (below
``finfo.tiny``, 1.2e-38 in float32) in microcode, tens to hundreds of times
slower, and a long training run makes plenty of them
(``benchmarks/README.md`` has the measurements):

* A weight whose gradient stays 0 (fed by a pixel that is blank in nearly
  every image, or by a unit that no longer fires) has its moment decay,
  ``m <- 0.9 m``, into the subnormal range, and there it stays: rounded to
  nearest, ``0.9 * k * 2**-149`` is ``k * 2**-149`` again for ``k <= 4``. So a
  moment or velocity below ``tiny`` is set to 0.
* Later, many gradients are tiny but normal (1e-20: ``g * g`` is subnormal), and
  moments pass through ``[tiny, tiny / step_size)``, where ``step_size * m`` is.
  So ``g`` below ``g_floor = sqrt(tiny / (1 - beta2))`` adds nothing to ``v``,
  and ``m`` below ``m_floor = tiny / step_size`` moves nothing.

The weights do not notice. Each guarded term would change ``v`` by less than
``tiny``, or a weight by at most ``tiny / epsilon``, about 1e-30, far below the
rounding unit of any weight in a network. The tests check that the weights are
bit-identical with and without the guards.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernels.jitted import FASTMATH

ADAM_CONSTANTS = ("step_size", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "epsilon", "tiny",
                  "g_floor", "m_floor")
"""The layout of Adam's constant array, as :func:`adam_constants` fills it and ``_adam_unpack`` reads it."""

MOMENTUM_CONSTANTS = ("learning_rate", "momentum", "tiny")
"""The layout of SGD's constant array, as :func:`momentum_constants` fills it and ``_momentum_unpack`` reads it."""


def smallest_normal(dtype: type) -> float:
    """``finfo(dtype).tiny``: state below it is set to 0, being subnormal (module docstring)."""
    return float(np.finfo(dtype).tiny)


def adam_constants(step_size: float, beta1: float, beta2: float, epsilon: float, dtype: type) -> np.ndarray:
    """Adam's constants for one step, formed in float64 and cast to ``dtype`` once, with the subnormal floors.

    >>> adam_constants(1e-3, 0.9, 0.999, 1e-8, np.float64)[:3]
    array([0.001, 0.9  , 0.1  ])
    """
    tiny = smallest_normal(dtype)
    named = {"step_size": step_size, "beta1": beta1, "one_minus_beta1": 1.0 - beta1, "beta2": beta2,
             "one_minus_beta2": 1.0 - beta2, "epsilon": epsilon, "tiny": tiny,
             "g_floor": math.sqrt(tiny / (1.0 - beta2)), "m_floor": tiny / step_size}
    return np.array([named[name] for name in ADAM_CONSTANTS], dtype=dtype)


def momentum_constants(learning_rate: float, momentum: float, dtype: type) -> np.ndarray:
    """SGD's constants, cast to ``dtype`` once.

    >>> momentum_constants(0.1, 0.9, np.float64)[:2]
    array([0.1, 0.9])
    """
    named = {"learning_rate": learning_rate, "momentum": momentum, "tiny": smallest_normal(dtype)}
    return np.array([named[name] for name in MOMENTUM_CONSTANTS], dtype=dtype)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _flushed(x, floor):  # pragma: no cover - jitted
    """``x``, or 0 if ``|x| < floor``: a subnormal number, or one whose use would make one (module docstring)."""
    return x if abs(x) >= floor else x - x


@njit(cache=True)
def _adam_unpack(constants):  # pragma: no cover - jitted
    """Adam's constant array as its scalars, in the order of :data:`ADAM_CONSTANTS`."""
    return (constants[0], constants[1], constants[2], constants[3], constants[4], constants[5], constants[6],
            constants[7], constants[8])


@njit(cache=True)
def _momentum_unpack(constants):  # pragma: no cover - jitted
    """SGD's constant array as its scalars, in the order of :data:`MOMENTUM_CONSTANTS`."""
    return constants[0], constants[1], constants[2]


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _adam_entry(m, v, g, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, epsilon, tiny, g_floor,
                m_floor):  # pragma: no cover - jitted
    """One entry's Adam update: the new ``(m, v)`` and the amount to subtract from the weight.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, ``step = step_size m / (sqrt(v) + eps)``.
    """
    m = _flushed(beta1 * m + one_minus_beta1 * g, tiny)
    g = _flushed(g, g_floor)  # g * g would be subnormal
    v = _flushed(beta2 * v + one_minus_beta2 * g * g, tiny)
    return m, v, step_size * _flushed(m, m_floor) / (np.sqrt(v) + epsilon)  # step_size * m too


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _momentum_entry(u, g, learning_rate, momentum, tiny):  # pragma: no cover - jitted
    """One entry's heavy-ball velocity, ``u <- mu u - lr g``, which is then added to the weight."""
    return _flushed(momentum * u - learning_rate * g, tiny)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def adam_all(param, grad, m, v, constants):  # pragma: no cover - jitted
    """In-place Adam on every entry (a contiguous loop the compiler vectorises)."""
    step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, epsilon, tiny, g_floor, m_floor = _adam_unpack(constants)
    for i in range(param.size):
        m[i], v[i], step = _adam_entry(m[i], v[i], grad[i], step_size, beta1, one_minus_beta1, beta2,
                                       one_minus_beta2, epsilon, tiny, g_floor, m_floor)
        param[i] -= step


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def adam_active(param, grad, m, v, update, active, constants):  # pragma: no cover - jitted
    """In-place Adam on the flat entries ``active`` of ``param``; ``grad``, ``m``, ``v`` and ``update`` are compact.

    Two loops: the first, over contiguous arrays only, vectorises (square roots
    and divisions sixteen at a time); the second scatters the updates. One loop
    doing both runs scalar.
    """
    step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, epsilon, tiny, g_floor, m_floor = _adam_unpack(constants)
    for k in range(active.size):
        m[k], v[k], update[k] = _adam_entry(m[k], v[k], grad[k], step_size, beta1, one_minus_beta1, beta2,
                                            one_minus_beta2, epsilon, tiny, g_floor, m_floor)
    for k in range(active.size):
        param[active[k]] -= update[k]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def momentum_all(param, grad, velocity, constants):  # pragma: no cover - jitted
    """In-place SGD with (heavy-ball) momentum on every entry."""
    learning_rate, momentum, tiny = _momentum_unpack(constants)
    for i in range(param.size):
        velocity[i] = _momentum_entry(velocity[i], grad[i], learning_rate, momentum, tiny)
        param[i] += velocity[i]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def momentum_active(param, grad, velocity, active, constants):  # pragma: no cover - jitted
    """In-place SGD with momentum on the flat entries ``active`` of ``param``; ``grad`` and ``velocity`` are compact."""
    learning_rate, momentum, tiny = _momentum_unpack(constants)
    for k in range(active.size):
        velocity[k] = _momentum_entry(velocity[k], grad[k], learning_rate, momentum, tiny)
        param[active[k]] += velocity[k]
