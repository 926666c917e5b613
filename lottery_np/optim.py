"""Optimizers that update arrays of parameters from arrays of gradients, and nothing else.

As in scikit-learn's ``_stochastic_optimizers``, an optimizer knows no network:
:meth:`Optimizer.step` takes a list of parameter arrays, updated in place, a
list of gradients, and optionally, per parameter, the flat indices of the
entries to update. A masked layer passes the indices of its surviving weights
(``pattern.active``) and their gradients only, so a pruned weight is never read
or written: it stays exactly ``0.0`` however many steps are taken, and the cost
of a step is proportional to the number of surviving weights. The state (Adam's
moments, SGD's velocity) is *compact*: one entry per updated entry, in the
order of the indices, so a step streams through it instead of hopping over the
pruned entries of a full-size array. Parameters that are updated whole (a bias,
a dense layer, weights kept packed) take a contiguous loop.

The state is made at the first step, sized by it, and belongs to the arrays of
that step. The optimizer can check the sizes of later steps, not what the
entries mean: that they are the same weights of the same masks is checked by
whoever owns both the network and the optimizer (:mod:`lottery_np.engine.step`).

The update loops are compiled (:mod:`lottery_np.engine.updates`, which also
says why they keep subnormal numbers out); this module states the rules and
owns the state.
"""
from __future__ import annotations

import copy
import math
from typing import Optional, Sequence

import numpy as np

from . import schema, validation
from .engine import updates


class Optimizer:
    """Base class: one entry point, :meth:`step`; compact state made at the first step.

    A later step must update as many entries of each parameter as the first;
    after anything that changes them (a new pruning round), call :meth:`reset`,
    as the paper's rewinding does anyway.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, 2.0], dtype=np.float32)
    >>> opt = SGD(learning_rate=0.5, momentum=0.0)  # any subclass: one step() for every parameter
    >>> opt.step([w], [np.array([1.0, -1.0], dtype=np.float32)])
    >>> w, opt.iterations
    (array([0.5, 2.5], dtype=float32), 1)
    """

    STATE: tuple = ()
    """The names of the state an optimizer keeps per updated entry (:attr:`state`)."""

    def __init__(self, learning_rate: float):
        self.learning_rate = schema.check("learning_rate", learning_rate)
        self.reset()

    def reset(self) -> None:
        """Forget all state (moments, step count), as after rewinding."""
        self.iterations = 0
        self._state: Optional[list[list[np.ndarray]]] = None
        self._sizes: list[int] = []  # entries updated per parameter, fixed by the first step
        self._checked: list[Optional[np.ndarray]] = []  # the index arrays already checked, per parameter

    @property
    def state(self) -> Optional[list[dict[str, np.ndarray]]]:
        """Per parameter, its state by name (:attr:`STATE`), one value per updated entry; None before a step.

        >>> import numpy as np
        >>> adam = Adam(0.1)
        >>> adam.step([np.zeros(3)], [np.ones(3)])
        >>> adam.state[0]["m"]
        array([0.1, 0.1, 0.1])
        """
        if self._state is None:
            return None
        return [dict(zip(self.STATE, arrays)) for arrays in self._state]

    def _new_state(self, size: int, dtype: np.dtype) -> list[np.ndarray]:
        raise NotImplementedError

    def constants(self, dtype: type) -> np.ndarray:
        """This step's scalar constants for the compiled loops, one array of ``dtype`` laid out as
        :mod:`lottery_np.engine.updates` names them (``ADAM_CONSTANTS``, ``MOMENTUM_CONSTANTS``)."""
        raise NotImplementedError

    def _update(self, param: np.ndarray, grad: np.ndarray, state: list[np.ndarray],
                active: Optional[np.ndarray], constants: np.ndarray) -> None:
        raise NotImplementedError

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             active: Optional[Sequence[Optional[np.ndarray]]] = None) -> None:
        """One update of every parameter array, in place.

        Parameters
        ----------
        params : sequence of ndarray
            C-contiguous float arrays of any shape, seen flat and updated in place.
        grads : sequence of array_like
            ``grads[i]`` holds one value per updated entry of ``params[i]``: all
            of them (any shape of that size), or ``active[i].size`` values in
            the order of ``active[i]``.
        active : sequence of (ndarray of int or None), optional
            ``active[i]``: the flat indices of ``params[i]`` to update, or None
            to update every entry. None (the default) updates everything.

        Raises
        ------
        ValueError
            If the three sequences differ in length, a parameter is not a
            C-contiguous float array, an index lies outside its parameter, a
            gradient has the wrong size, or the sizes differ from the first
            step's without a :meth:`reset` in between.
        """
        active = [None] * len(params) if active is None else list(active)
        if not len(params) == len(grads) == len(active) or not params:
            raise ValueError(f"params, grads and active must have one entry per parameter (at least one), "
                             f"got {len(params)}, {len(grads)} and {len(active)}")
        if self._state is None:
            self._checked = [None] * len(params)
        elif len(params) != len(self._state):
            raise ValueError(f"this step updates {len(params)} parameters, the optimizer's state was made for "
                             f"{len(self._state)}; call reset() before stepping other parameters")
        flat, sizes, compact = [], [], []
        for i, param in enumerate(params):
            flat.append(_flat_parameter(i, param))
            active[i] = self._indices(i, active[i], flat[i].size)
            sizes.append(flat[i].size if active[i] is None else active[i].size)
            compact.append(_compact_gradient(i, grads[i], flat[i].dtype, sizes[i]))
        if self._state is None:
            self._state, self._sizes = [self._new_state(n, p.dtype) for n, p in zip(sizes, flat)], sizes
        elif sizes != self._sizes:
            raise ValueError(f"this step updates {sizes} entries per parameter, the optimizer's state was made for "
                             f"{self._sizes}; call reset() before stepping other parameters")
        self.iterations += 1
        constants = self.constants(flat[0].dtype.type)
        for param, grad, state, indices in zip(flat, compact, self._state, active):
            self._update(param, grad, state, indices, constants)

    def remap(self, old_orders: Sequence[Optional[np.ndarray]], new_orders: Sequence[Optional[np.ndarray]],
              sizes: Sequence[int]) -> None:
        """Carry the state over to another set of entries of the same parameters (a connectivity update).

        ``old_orders[i]`` and ``new_orders[i]`` are the flat indices of parameter ``i`` (of ``sizes[i]``
        entries) that the state's entries belong to, before and after; None means every entry, in order.
        An entry in both keeps its state; an entry only in the new set starts from zero (a grown
        weight, as RigL grows it); the step count is kept. Nothing happens before the first step.
        Afterwards :attr:`state` is laid out in the new order: read it through the new step's
        ``state_order()``, not the old one's.

        Raises
        ------
        ValueError
            If the lists differ in length from the state, or an old order does not match the state's size.

        Examples
        --------
        >>> sgd = SGD(0.1)
        >>> sgd.step([np.zeros(4)], [np.arange(1.0, 3.0)], [np.array([0, 2])])   # entries 0 and 2
        >>> sgd.remap([np.array([0, 2])], [np.array([2, 3])], [4])               # 0 dropped, 3 grown
        >>> sgd.state[0]["velocity"]
        array([-0.2,  0. ])
        """
        if self._state is None:
            return
        if not len(old_orders) == len(new_orders) == len(sizes) == len(self._state):
            raise ValueError(f"remap needs one old order, new order and size per parameter ({len(self._state)}), "
                             f"got {len(old_orders)}, {len(new_orders)} and {len(sizes)}")
        state, counts = [], []
        for i, (arrays, old, new, size) in enumerate(zip(self._state, old_orders, new_orders, sizes)):
            old = np.arange(size) if old is None else np.asarray(old)
            new = np.arange(size) if new is None else np.asarray(new)
            if old.size != self._sizes[i]:
                raise ValueError(f"the old order of parameter {i} has {old.size} entries, its state {self._sizes[i]}")
            position = np.full(size, -1, dtype=np.int64)
            position[old] = np.arange(old.size)
            source = position[new]
            kept = source >= 0
            fresh = self._new_state(new.size, arrays[0].dtype)
            for k in range(len(self.STATE)):  # the named state; anything after it is scratch
                fresh[k][kept] = arrays[k][source[kept]]
            state.append(fresh)
            counts.append(new.size)
        self._state, self._sizes, self._checked = state, counts, [None] * len(state)

    def full_state(self, orders: Sequence[Optional[np.ndarray]], sizes: Sequence[int]) -> list[dict[str, np.ndarray]]:
        """The state spread over every entry of each parameter (0 where no state is kept), to save a run.

        ``orders`` is what :meth:`remap` takes: the flat indices the state's entries belong to
        (a training step's ``state_order()``). The optimizer is not changed.

        Examples
        --------
        >>> sgd = SGD(0.1)
        >>> sgd.step([np.zeros(4)], [np.array([1.0, 2.0])], [np.array([0, 2])])
        >>> sgd.full_state([np.array([0, 2])], [4])[0]["velocity"]
        array([-0.1,  0. , -0.2,  0. ])
        """
        spread = copy.deepcopy(self)
        spread.remap(orders, [None] * len(sizes), sizes)
        return spread.state

    def load_full_state(self, state: Sequence[dict], iterations: int, orders: Sequence[Optional[np.ndarray]],
                        sizes: Sequence[int]) -> None:
        """Take up a run where :meth:`full_state` left it: the entries at ``orders`` and the step count.

        Raises
        ------
        ValueError
            If ``state`` does not hold one array of each of :attr:`STATE` per parameter, of its size.
        """
        self.reset()
        if len(state) != len(sizes) or any(
                set(named) != set(self.STATE) or any(np.asarray(named[k]).size != size for k in self.STATE)
                for named, size in zip(state, sizes)):
            raise ValueError(f"the saved state must hold {list(self.STATE)} for {len(sizes)} parameters of "
                             f"{list(sizes)} entries")
        self._state = [[np.asarray(named[k]).reshape(-1) for k in self.STATE] for named in state]
        self._sizes, self._checked = list(sizes), [None] * len(sizes)
        self.remap([None] * len(sizes), orders, sizes)
        self.iterations = validation.integer("iterations", iterations, minimum=1)

    def _indices(self, i: int, indices, size: int) -> Optional[np.ndarray]:
        """``active[i]`` checked: flat integer indices within a parameter of ``size`` entries.

        Each index array is checked when first seen and remembered: checking
        100,000 indices at every step would cost a few percent of a dense step.
        Index arrays are not to be changed in place.
        """
        if indices is None or indices is self._checked[i]:
            return indices
        checked = np.asarray(indices)
        if checked.ndim != 1 or checked.dtype.kind not in "iu":
            raise ValueError(f"active[{i}] must be a 1-D array of integer indices, got {checked.dtype} "
                             f"of shape {checked.shape}")
        if checked.size and (checked.min() < 0 or checked.max() >= size):
            raise ValueError(f"active[{i}] must index params[{i}], of {size} entries, "
                             f"got {checked.min()}..{checked.max()}")
        self._checked[i] = checked
        return checked


def _flat_parameter(i: int, param) -> np.ndarray:
    """``params[i]`` as a flat view, refusing anything an in-place update could not reach."""
    if not isinstance(param, np.ndarray) or param.dtype.kind != "f" or not param.flags.c_contiguous:
        raise ValueError(f"params[{i}] must be a C-contiguous float ndarray (updated in place), got "
                         f"{type(param).__name__} {getattr(param, 'dtype', '')}")
    return param if param.ndim == 1 else param.reshape(-1)


def _compact_gradient(i: int, grad, dtype: np.dtype, size: int) -> np.ndarray:
    """``grads[i]`` flat, contiguous and in the parameter's dtype; it must hold ``size`` values."""
    grad = np.ascontiguousarray(grad, dtype=dtype).reshape(-1)
    if grad.size != size:
        raise ValueError(f"grads[{i}] must hold {size} values (one per updated entry), got {grad.size}")
    return grad


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

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, 0.0, -1.0], dtype=np.float32)  # the middle weight is pruned
    >>> opt = Adam(learning_rate=0.1)
    >>> for _ in range(3):  # only the surviving entries 0 and 2 are updated
    ...     opt.step([w], [np.array([0.5, -0.5], dtype=np.float32)], active=[np.array([0, 2])])
    >>> w.round(4)
    array([ 0.7,  0. , -0.7], dtype=float32)
    """

    FORMS = schema.ADAM_FORMS
    STATE = ("m", "v")  # the first and second moments

    def __init__(self, learning_rate: float = 1.2e-3, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, bias_correction: str = "step_size"):
        self.beta1 = validation.real("beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = validation.real("beta2", beta2, 0.0, 1.0, high_open=True)
        self.epsilon = validation.real("epsilon", epsilon, 0.0, low_open=True)
        self.bias_correction = validation.choice("bias_correction", bias_correction, self.FORMS)
        super().__init__(learning_rate)

    def _new_state(self, size, dtype):
        return [np.zeros(size, dtype=dtype), np.zeros(size, dtype=dtype), np.empty(size, dtype=dtype)]  # m, v, scratch

    def constants(self, dtype):
        t = self.iterations
        correction2 = math.sqrt(1.0 - self.beta2**t)
        step_size = self.learning_rate * correction2 / (1.0 - self.beta1**t)  # lr sqrt(1 - b2^t) / (1 - b1^t)
        epsilon = self.epsilon * correction2 if self.bias_correction == "moments" else self.epsilon
        return updates.adam_constants(step_size, self.beta1, self.beta2, epsilon, dtype)

    def _update(self, param, grad, state, active, constants):
        if active is None:
            updates.adam_all(param, grad, *state[:2], constants)
        else:
            updates.adam_active(param, grad, *state, active, constants)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``u <- mu u - lr g``, ``w <- w + u``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0], dtype=np.float32)
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):  # u = -0.1, then 0.9 * -0.1 - 0.1 = -0.19
    ...     opt.step([w], [np.array([1.0], dtype=np.float32)])
    >>> w.round(4)
    array([0.71], dtype=float32)
    """

    STATE = ("velocity",)

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9):
        self.momentum = schema.check("momentum", momentum)
        super().__init__(learning_rate)

    def _new_state(self, size, dtype):
        return [np.zeros(size, dtype=dtype)]

    def constants(self, dtype):
        return updates.momentum_constants(self.learning_rate, self.momentum, dtype)

    def _update(self, param, grad, state, active, constants):
        if active is None:
            updates.momentum_all(param, grad, state[0], constants)
        else:
            updates.momentum_active(param, grad, state[0], active, constants)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name: str, learning_rate: float, **options) -> Optimizer:
    """Build an optimizer by name: ``"adam"`` or ``"sgd"``.

    Examples
    --------
    >>> make_optimizer("sgd", 0.05, momentum=0.5).momentum
    0.5
    >>> type(make_optimizer("adam", 1.2e-3)).__name__
    'Adam'
    """
    validation.choice("optimizer", name, schema.OPTIMIZERS)
    return OPTIMIZERS[name](learning_rate, **options)
