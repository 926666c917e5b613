"""Optimizers: pruned weights never move; updates match their equations."""
import numpy as np
import pytest

from lottery_np.model import MLP
from lottery_np.optim import SGD, Adam, make_optimizer


def random_masks(model, density, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random(w.shape) < density).astype(np.float32) for w in model.weights]


@pytest.mark.parametrize("optimizer", [Adam(1e-2), SGD(0.05, momentum=0.9)], ids=["adam", "sgd-momentum"])
def test_pruned_weights_stay_exactly_zero_after_1000_steps(optimizer):
    rng = np.random.default_rng(0)
    model = MLP((20, 16, 8, 4), seed=0)
    masks = random_masks(model, 0.3, seed=1)
    model.set_masks(masks)
    X, y = rng.random((60, 20), dtype=np.float32), rng.integers(0, 4, 60)
    start = model.get_parameters()
    for _ in range(1000):
        loss, grad_w, grad_b = model.loss_and_gradients(X, y)
        optimizer.step(model, grad_w, grad_b)
    for w, m, w0 in zip(model.weights, masks, start.weights):
        assert (w[m == 0] == 0.0).all()
        assert (w[m == 1] != w0[m == 1]).mean() > 0.5  # the survivors did train (a few ReLUs die)
    assert loss < 0.5


def test_adam_first_step_moves_each_weight_by_learning_rate():
    # After one step m / sqrt(v) = g / |g| once bias-corrected: every weight moves by lr * sign(g).
    model = MLP((3, 2), seed=0, dtype=np.float64)
    before = model.get_parameters()
    X, y = np.array([[1.0, -2.0, 0.5]]), np.array([1])
    _, grad_w, grad_b = model.loss_and_gradients(X, y)
    Adam(learning_rate=0.01, epsilon=1e-12).step(model, grad_w, grad_b)
    np.testing.assert_allclose(model.weights[0], before.weights[0] - 0.01 * np.sign(grad_w[0]), rtol=1e-9)
    np.testing.assert_allclose(model.biases[0], before.biases[0] - 0.01 * np.sign(grad_b[0]), rtol=1e-9)


def test_sgd_momentum_follows_its_recursion():
    model = MLP((3, 2), seed=0, dtype=np.float64)
    w0 = model.weights[0].copy()
    g = np.arange(6.0).reshape(3, 2)
    opt = SGD(learning_rate=0.1, momentum=0.5)
    opt.step(model, [g], [np.zeros(2)])
    opt.step(model, [g], [np.zeros(2)])
    # u1 = -0.1 g, u2 = 0.5 u1 - 0.1 g = -0.15 g
    np.testing.assert_allclose(model.weights[0], w0 - 0.25 * g)


def test_reset_forgets_the_moments():
    model = MLP((3, 2), seed=0, dtype=np.float64)
    opt = Adam(0.1)
    g = [np.ones((3, 2))], [np.ones(2)]
    opt.step(model, *g)
    opt.reset()
    before = model.weights[0].copy()
    opt.step(model, *g)
    np.testing.assert_allclose(model.weights[0], before - 0.1, atol=1e-7)  # a first step again


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


def test_state_is_compact_and_tied_to_the_masks():
    model = MLP((6, 5, 3), seed=0)
    model.set_masks(random_masks(model, 0.4, seed=2))
    rng = np.random.default_rng(0)
    X, y = rng.random((8, 6), dtype=np.float32), rng.integers(0, 3, 8)
    opt = Adam(0.01)
    opt.step(model, *model.loss_and_gradients(X, y)[1:])
    assert [s[0].size for s in opt._state] == [p.active.size for p in model.patterns] + [5, 3]
    model.set_masks(model.masks)  # the same masks, installed anew: a new pruning round
    with pytest.raises(ValueError, match="reset"):
        opt.step(model, *model.loss_and_gradients(X, y)[1:])
    opt.reset()
    opt.step(model, *model.loss_and_gradients(X, y)[1:])


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: SGD(0.1, momentum=0.5)], ids=["adam", "sgd"])
def test_both_gradient_layouts_and_the_packed_update_agree(make):
    model = MLP((7, 6, 4), seed=1)
    model.set_masks(random_masks(model, 0.5, seed=3))
    rng = np.random.default_rng(1)
    X, y = rng.random((9, 7), dtype=np.float32), rng.integers(0, 4, 9)
    dense_layout, active_layout, packed = model.copy(), model.copy(), model.copy()
    opt_dense, opt_active, opt_packed = make(), make(), make()
    values = [p.gather_by_output(w) for p, w in zip(packed.patterns, packed.weights)]
    for _ in range(3):
        opt_dense.step(dense_layout, *dense_layout.loss_and_gradients(X, y, layout="dense")[1:])
        opt_active.step(active_layout, *active_layout.loss_and_gradients(X, y, layout="active")[1:])
        for w, p, v in zip(packed.weights, packed.patterns, values):
            w.reshape(-1)[p.csc_active] = v
        _, grad_w, grad_b = packed.loss_and_gradients(X, y, layout="dense")
        grad_values = [p.gather_by_output(g) for p, g in zip(packed.patterns, grad_w)]
        opt_packed.step_packed(packed.patterns, values, packed.biases, grad_values, grad_b)
    with pytest.raises(ValueError, match="step_packed"):
        opt_packed.step(packed, grad_w, grad_b)
    for w, p, v in zip(packed.weights, packed.patterns, values):
        w.reshape(-1)[p.csc_active] = v
    for a, b, c in zip(dense_layout.weights, active_layout.weights, packed.weights):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)


def test_a_gradient_of_the_wrong_shape_is_refused():
    model = MLP((3, 2), seed=0)
    with pytest.raises(ValueError, match=r"grad_weights\[0\]"):
        Adam().step(model, [np.zeros(5)], [np.zeros(2)])
