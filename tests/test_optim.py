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
