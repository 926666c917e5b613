"""Optimizers: updates match their equations, only the given entries move, the state is compact and checked."""
import ast
from pathlib import Path

import numpy as np
import pytest

from lottery_np import optim
from lottery_np.model import MLP
from lottery_np.optim import SGD, Adam, make_optimizer
from lottery_np.engine.step import training_step


def random_masks(model, density, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random(w.shape) < density).astype(np.float32) for w in model.weights]


@pytest.mark.parametrize("form", [{"path": "dense"}, {"path": "sparse"}, {"packed": True}], ids=str)
@pytest.mark.parametrize("make", [lambda: Adam(1e-2), lambda: SGD(0.05, momentum=0.9)], ids=["adam", "sgd-momentum"])
def test_pruned_weights_stay_exactly_zero_after_1000_steps(make, form):
    rng = np.random.default_rng(0)
    model = MLP((20, 16, 8, 4), seed=0)
    masks = random_masks(model, 0.3, seed=1)
    model.set_masks(masks)
    X, y = rng.random((60, 20), dtype=np.float32), rng.integers(0, 4, 60)
    start = model.get_parameters()
    step = training_step(model, make(), **form)
    for _ in range(1000):
        loss = step(X, y)
    step.sync()
    for w, m, w0 in zip(model.weights, masks, start.weights):
        assert (w[m == 0] == 0.0).all() and not np.signbit(w[m == 0]).any()
        assert (w[m == 1] != w0[m == 1]).mean() > 0.5  # the survivors did train (a few ReLUs die)
    assert loss < 0.5


def test_adam_first_step_moves_each_entry_by_learning_rate():
    # After one step m / sqrt(v) = g / |g| once bias-corrected: every entry moves by lr * sign(g).
    w, b = np.array([[0.5, -1.0], [2.0, 0.0]]), np.zeros(2)
    g_w, g_b = np.array([[0.3, -2.0], [1e-3, 4.0]]), np.array([-1.0, 1.0])
    w0, b0 = w.copy(), b.copy()
    Adam(learning_rate=0.01, epsilon=1e-12).step([w, b], [g_w, g_b])
    np.testing.assert_allclose(w, w0 - 0.01 * np.sign(g_w), rtol=1e-9)
    np.testing.assert_allclose(b, b0 - 0.01 * np.sign(g_b), rtol=1e-9)


def test_sgd_momentum_follows_its_recursion():
    w = np.ones(6)
    g = np.arange(6.0)
    opt = SGD(learning_rate=0.1, momentum=0.5)
    opt.step([w], [g])
    opt.step([w], [g])
    # u1 = -0.1 g, u2 = 0.5 u1 - 0.1 g = -0.15 g
    np.testing.assert_allclose(w, 1 - 0.25 * g, atol=1e-15)


@pytest.mark.parametrize("make", [lambda: Adam(0.1), lambda: SGD(0.1, momentum=0.5)], ids=["adam", "sgd"])
def test_only_the_active_entries_move_and_their_state_is_compact(make):
    w = np.arange(10.0)
    active = np.array([1, 4, 5, 9])
    opt = make()
    for _ in range(3):
        opt.step([w], [np.ones(4)], [active])
    moved = np.flatnonzero(w != np.arange(10.0))
    np.testing.assert_array_equal(moved, active)
    assert set(opt.state[0]) == set(opt.STATE) and all(s.size == 4 for s in opt.state[0].values())


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: SGD(0.1, momentum=0.5)], ids=["adam", "sgd"])
def test_updating_at_indices_equals_updating_a_packed_copy(make):
    rng = np.random.default_rng(1)
    full = rng.standard_normal((7, 6)).astype(np.float32)
    active = np.flatnonzero(rng.random(full.size) < 0.5)
    packed = full.reshape(-1)[active].copy()
    by_index, whole = make(), make()
    for _ in range(5):
        g = rng.standard_normal(active.size).astype(np.float32)
        by_index.step([full], [g], [active])
        whole.step([packed], [g])
    np.testing.assert_allclose(full.reshape(-1)[active], packed, rtol=1e-6, atol=1e-7)


def test_reset_forgets_the_moments_and_the_sizes():
    w = np.zeros(6)
    opt = Adam(0.1)
    opt.step([w], [np.ones(6)])
    with pytest.raises(ValueError, match="reset"):
        opt.step([w], [np.ones(3)], [np.arange(3)])
    with pytest.raises(ValueError, match="reset"):
        opt.step([w, w], [np.ones(6), np.ones(6)])
    opt.reset()
    assert opt.iterations == 0 and opt.state is None
    before = w.copy()
    opt.step([w], [np.ones(3)], [np.arange(3)])
    np.testing.assert_allclose(w[:3], before[:3] - 0.1, atol=1e-7)  # a first step again


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Adam(learning_rate=0), "learning_rate"),
        (lambda: Adam(learning_rate=float("nan")), "learning_rate"),
        (lambda: Adam(beta1=1.0), "beta1"),
        (lambda: SGD(momentum=-0.1), "momentum"),
        (lambda: make_optimizer("rmsprop", 0.1), "optimizer must be one of"),
    ],
)
def test_bad_hyperparameters_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "params, grads, active, message",
    [
        ([np.zeros(4)], [np.zeros(3)], None, r"grads\[0\] must hold 4 values"),
        ([np.zeros(4)], [np.zeros(2)], [np.array([0, 1, 2])], r"grads\[0\] must hold 3 values"),
        ([np.zeros(4)], [np.zeros(2)], [np.array([0, 4])], r"active\[0\] must index params\[0\]"),
        ([np.zeros(4)], [np.zeros(2)], [np.array([-1, 0])], r"active\[0\] must index params\[0\]"),
        ([np.zeros(4)], [np.zeros(2)], [np.array([0.0, 1.0])], r"active\[0\] must be a 1-D array"),
        ([np.zeros((4, 4)).T], [np.zeros(16)], None, r"params\[0\] must be a C-contiguous"),
        ([[0.0, 1.0]], [np.zeros(2)], None, r"params\[0\] must be a C-contiguous"),
        ([np.zeros(4, int)], [np.zeros(4)], None, r"params\[0\] must be a C-contiguous float"),
        ([np.zeros(4)], [np.zeros(4), np.zeros(1)], None, "one entry per parameter"),
        ([], [], None, "at least one"),
    ],
)
def test_bad_arrays_are_refused_naming_the_culprit(params, grads, active, message):
    with pytest.raises(ValueError, match=message):
        Adam().step(params, grads, active)


def test_the_optimizers_know_no_model():
    tree = ast.parse(Path(optim.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any("model" in name or "step" in name for name in imported if name), imported
