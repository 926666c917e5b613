"""The MLP: backprop against finite differences and a hand-worked example, masks, counts, I/O."""
import numpy as np
import pytest

from lottery_np.engine.kernels import forced_path
from lottery_np.model import LENET_300_100, MLP, Parameters, log_softmax


def numerical_gradient(model, X, y, param, eps=1e-6):
    grad = np.zeros_like(param)
    for index in np.ndindex(param.shape):
        saved = param[index]
        param[index] = saved + eps
        plus = model.loss_and_gradients(X, y)[0]
        param[index] = saved - eps
        minus = model.loss_and_gradients(X, y)[0]
        param[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("prune", [False, True])
def test_backprop_matches_central_differences(prune):
    rng = np.random.default_rng(1)
    model = MLP((5, 4, 3, 3), seed=2, dtype=np.float64)
    for b in model.biases:
        b[:] = rng.normal(size=b.shape) * 0.1
    if prune:
        model.set_masks([(rng.random(w.shape) > 0.4).astype(np.float32) for w in model.weights])
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    _, grad_w, grad_b = model.loss_and_gradients(X, y)
    for layer in range(model.n_layers):
        expected_w = numerical_gradient(model, X, y, model.weights[layer]) * model.masks[layer]
        np.testing.assert_allclose(grad_w[layer], expected_w, rtol=1e-5, atol=1e-8, err_msg=f"dW[{layer}]")
        expected_b = numerical_gradient(model, X, y, model.biases[layer])
        np.testing.assert_allclose(grad_b[layer], expected_b, rtol=1e-5, atol=1e-8, err_msg=f"db[{layer}]")


def test_one_step_worked_out_by_hand():
    # x = [1]; W1 = [[1, -1]] so z1 = [1, -1], a1 = [1, 0]; W2 = I so logits = [1, 0]; target class 1.
    model = MLP((1, 2, 2), dtype=np.float64)
    model.weights[0][:] = [[1.0, -1.0]]
    model.weights[1][:] = np.eye(2)
    loss, grad_w, grad_b = model.loss_and_gradients(np.array([[1.0]]), np.array([1]))
    s = np.e / (1 + np.e)  # softmax probability of class 0
    assert loss == pytest.approx(np.log(1 + np.e))
    np.testing.assert_allclose(grad_w[1], [[s, -s], [0, 0]])  # a1 dZ2^T, dZ2 = p - onehot = [s, -s]
    np.testing.assert_allclose(grad_b[1], [s, -s])
    np.testing.assert_allclose(grad_w[0], [[s, 0]])  # the second hidden unit is off: relu' = 0
    np.testing.assert_allclose(grad_b[0], [s, 0])


@pytest.mark.parametrize("path", ["dense", "sparse", "reference"])
def test_every_kernel_path_gives_the_same_gradients_zero_where_pruned(path):
    rng = np.random.default_rng(4)
    model = MLP((12, 9, 4), seed=1)
    model.set_masks([(rng.random(w.shape) < 0.4).astype(np.float32) for w in model.weights])
    X, y = rng.standard_normal((10, 12)).astype(np.float32), rng.integers(0, 4, 10)
    with forced_path(path):
        loss, grad_w, grad_b = model.backprop(X, y)
    exact = MLP((12, 9, 4), seed=1, dtype=np.float64)
    exact.set_masks(model.masks)
    exact_loss, exact_w, exact_b = exact.loss_and_gradients(X.astype(np.float64), y)
    assert loss == pytest.approx(exact_loss, rel=1e-5)
    for name, got, want in zip(["dW0", "dW1", "db0", "db1"], grad_w + grad_b, exact_w + exact_b):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=name)
    for g, m in zip(grad_w, model.masks):
        assert (g[m == 0] == 0).all()


def test_check_inputs_converts_and_leaves_a_missing_y_alone():
    model = MLP((3, 2), seed=0)
    X, y = model.check_inputs([[0, 1, 2]], [1])
    assert isinstance(X, np.ndarray) and X.shape == (1, 3) and y.tolist() == [1]
    assert model.check_inputs(X)[1] is None


def test_glorot_normal_initialisation_and_seed():
    model = MLP(LENET_300_100, seed=3)
    assert [w.shape for w in model.weights] == [(784, 300), (300, 100), (100, 10)]
    assert all(w.dtype == np.float32 for w in model.weights)
    assert np.std(model.weights[0]) == pytest.approx(np.sqrt(2 / (784 + 300)), rel=0.02)
    assert all((b == 0).all() for b in model.biases)
    again, other = MLP(LENET_300_100, seed=3), MLP(LENET_300_100, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(model.weights, again.weights))
    assert not np.array_equal(model.weights[0], other.weights[0])


def test_masks_zero_weights_and_counts():
    model = MLP((6, 5, 4), seed=0)
    masks = [np.ones((6, 5)), np.ones((5, 4))]
    masks[0][0, :] = 0
    masks[1][:, 1] = 0
    model.set_masks(masks)
    assert (model.weights[0][0] == 0).all() and (model.weights[1][:, 1] == 0).all()
    assert model.weight_counts() == [(25, 30), (15, 20)]
    assert (model.n_weights, model.n_remaining, model.n_parameters) == (50, 40, 59)
    assert model.density == pytest.approx(0.8)
    assert model.layer_densities() == pytest.approx([25 / 30, 15 / 20])


def test_predictions_and_probabilities():
    rng = np.random.default_rng(0)
    model = MLP((8, 6, 3), seed=1)
    X = rng.random((20, 8), dtype=np.float32)
    proba = model.predict_proba(X)
    assert proba.shape == (20, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    y = model.predict(X)
    assert model.accuracy(X, y) == 1.0
    assert model.loss(X, y) == pytest.approx(-np.log(proba[np.arange(20), y]).mean(), rel=1e-5)


def test_log_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    out = log_softmax(logits)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.exp(out).sum(axis=0), 1.0)


def test_parameters_roundtrip_and_copy_are_independent():
    model = MLP((4, 3, 2), seed=0)
    saved = model.get_parameters()
    model.weights[0] += 1.0
    model.set_parameters(saved)
    np.testing.assert_array_equal(model.weights[0], saved.weights[0])
    twin = model.copy()
    twin.weights[0][:] = 0
    twin.set_masks([np.zeros((4, 3)), np.ones((3, 2))])
    assert model.weights[0].any() and model.density == 1.0
    assert isinstance(saved.copy(), Parameters)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: MLP((784,)), "layer_sizes"),
        (lambda: MLP((3, 0, 2)), "layer_sizes"),
        (lambda: MLP((3, 2), dtype=np.int32), "dtype"),
        (lambda: MLP((3, 2)).predict(np.zeros((4, 5))), "X must have shape"),
        (lambda: MLP((3, 2)).accuracy(np.zeros((4, 3)), np.zeros(3, int)), "y must have shape"),
        (lambda: MLP((3, 2)).accuracy(np.zeros((1, 3)), np.array([2])), "class labels"),
        (lambda: MLP((3, 2)).set_masks([np.ones((2, 3))]), r"masks\[0\] must have shape"),
        (lambda: MLP((3, 2)).set_masks([np.full((3, 2), 0.5)]), "only 0 and 1"),
        (lambda: MLP((3, 2)).set_masks([]), "masks must hold 1"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def _nan_at(row, column):
    X = np.zeros((4, 3))
    X[row, column] = np.nan
    return X


INFERENCE_PROBES = [  # (name, X, y, words of the message): issue 24, class 6
    ("NaN feature", _nan_at(2, 1), None, "X holds nan at row 2, column 1"),
    ("infinite feature", np.full((4, 3), np.inf), None, "X holds inf at row 0, column 0"),
    ("string features", np.array([["a", "b", "c"]] * 4), None, "X must hold real numbers, got dtype <U1"),
    ("complex features", np.ones((4, 3), complex), None, "X must hold real numbers, got dtype complex128"),
    ("object features", np.array([[object()] * 3] * 4), None, "X must hold real numbers, got dtype object"),
    ("beyond float32", np.full((4, 3), 1e39), None, "beyond float32's range"),
    ("fractional labels", np.zeros((4, 3)), np.array([0.5, 1, 0, 1]), "y must hold integer class labels"),
    ("bool labels", np.zeros((4, 3)), np.array([True, False, True, False]), "y must hold integer class labels"),
    ("string labels", np.zeros((4, 3)), np.array(["a", "b", "a", "b"]), "y must hold integer class labels"),
    ("label past the classes", np.zeros((4, 3)), np.array([0, 1, 2, 0]), "y must hold class labels in [0, 2)"),
]


@pytest.mark.parametrize("name, X, y, words", INFERENCE_PROBES, ids=[p[0] for p in INFERENCE_PROBES])
def test_inference_applies_the_data_rules_at_every_entry_point(name, X, y, words):
    from lottery_np.export import compact

    model = MLP((3, 5, 2), seed=0)
    calls = [lambda: model.evaluate(X, y if y is not None else np.zeros(4, int)),
             lambda: model.accuracy(X, y if y is not None else np.zeros(4, int))]
    if y is None:
        calls += [lambda: model.predict(X), lambda: model.predict_proba(X), lambda: compact(model).predict(X)]
    for call in calls:
        with pytest.raises(ValueError) as caught:
            call()
        assert words in str(caught.value), str(caught.value)
