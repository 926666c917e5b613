"""Supermasks: straight-through gradients against float64 central differences of the relaxed objective (computed
here in plain NumPy, not by the library), dynamic weight rescaling worked by hand, top_k's exact counts, replay from a
seed, frozen weights, and a learned supermask far above chance on digits.

Tolerances are relative errors ``max|a - b| / max(|a| + |b|)`` (:func:`rel_error`). A float64 central difference of
step ``h = 1e-6`` errs by about ``h^2`` (truncation) plus ``1e-16 / h`` (rounding) of the loss, ~1e-9 relative: the
bound is 1e-6. ReLU is not differentiable at 0, so differences are taken only on draws whose hidden pre-activations
all lie farther than 1e-3 from 0, and a step moves no weight by more than about 1e-5.
"""
import math

import numpy as np
import pytest

from lottery_np.data import as_dataset, load_digits
from lottery_np.model import MLP, Parameters
from lottery_np.pruning import criterion_masks
from lottery_np.supermask import (bernoulli_masks, effective_weights, initial_scores,
                                  mask_gradients, rescaling_factors, score_gradients, sigmoid, top_k_masks,
                                  train_supermask, untrained_accuracy, untrained_network)
from lottery_np.validation import SettingError

SIZES = (6, 5, 4, 3)  # 62 weights
KINK_MARGIN = 1e-3
H = 1e-6


def rel_error(a, b) -> float:
    """``max|a - b| / max(|a| + |b|, tiny)`` over every entry of two lists of arrays."""
    a = np.concatenate([np.ravel(x) for x in a])
    b = np.concatenate([np.ravel(x) for x in b])
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), np.finfo(float).tiny))


def relaxed(weights, masks, rescale):
    """``c W0 * m`` with ``c = N / sum(m)``, written out again: the reference does not use the library's."""
    return [w * m * (m.size / m.sum() if rescale else 1.0) for w, m in zip(weights, masks)]


def forward(weights, biases, X):
    """Every pre-activation of a plain ReLU network, samples in rows."""
    A, found = X, []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        found.append(A @ w + b)
        A = np.maximum(found[-1], 0) if layer < len(weights) - 1 else found[-1]
    return found


def plain_loss(weights, biases, X, y) -> float:
    """Mean cross-entropy of the plain network, log-softmax shifted by the maximum."""
    logits = forward(weights, biases, X)[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -float(log_p[np.arange(len(y)), y].mean())


def smooth_problem(seed, mask_of):
    """The first float64 network, batch and mask (``mask_of(model, rng)``) from ``seed`` on that keeps clear of the
    ReLU kinks (random biases, so that they take part)."""
    for attempt in range(seed, seed + 1000, 7):
        rng = np.random.default_rng(attempt)
        model = MLP(SIZES, seed=attempt, dtype=np.float64)
        for b in model.biases:
            b[:] = rng.normal(size=b.shape) * 0.1
        X, y = rng.normal(size=(8, SIZES[0])), rng.integers(0, SIZES[-1], 8)
        masks, scores = mask_of(model, rng)
        hidden = [Z for rescale in (False, True) for Z in forward(relaxed(model.weights, masks, rescale),
                                                                   model.biases, X)[:-1]]
        if all(np.abs(Z).min() > KINK_MARGIN for Z in hidden):
            return model, X, y, masks, scores
    raise AssertionError(f"no draw from seed {seed} keeps clear of the ReLU kinks")


def top_k_draw(model, rng):
    """Edge-popup's initial scores and the mask keeping half of each layer."""
    scores = initial_scores(model, "top_k", rng)
    return top_k_masks(scores, 0.5), scores


def sigmoid_draw(model, rng):
    """Scores from N(0, 1) and the relaxed mask sigmoid(s)."""
    scores = [rng.normal(size=w.shape) for w in model.weights]
    return [sigmoid(s) for s in scores], scores


def central_differences(function, arrays):
    """``d function / d arrays[l][index]`` for every entry, by central differences of step H."""
    found = [np.zeros_like(a) for a in arrays]
    for layer, a in enumerate(arrays):
        for index in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
            plus[layer][index] += H
            minus[layer][index] -= H
            found[layer][index] = (function(plus) - function(minus)) / (2 * H)
    return found


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("rescale", [False, True])
def test_top_k_straight_through_gradient_is_the_directional_derivative_at_the_mask(rescale):
    # dL/dm_i = d/du L(c(m + u e_i) W0 * (m + u e_i)) at u = 0, for kept and pruned entries alike.
    model, X, y, masks, scores = smooth_problem(1, top_k_draw)
    loss, grads = mask_gradients(model, masks, X, y, rescale=rescale)
    assert loss == pytest.approx(plain_loss(relaxed(model.weights, masks, rescale), model.biases, X, y), rel=1e-12)
    expected = central_differences(
        lambda m: plain_loss(relaxed(model.weights, m, rescale), model.biases, X, y), [m.astype(float) for m in masks])
    assert rel_error(grads, expected) < 1e-6
    assert all(np.abs(g[m == 0]).max() > 0 for g, m in zip(grads, masks))  # pruned entries get a gradient too
    np.testing.assert_array_equal(score_gradients("top_k", scores, grads)[0], np.sign(scores[0]) * grads[0])


@pytest.mark.parametrize("rescale", [False, True])
def test_bernoulli_gradient_is_exact_for_the_relaxed_objective(rescale):
    # At the relaxed mask m = sigmoid(s), the straight-through rule is the exact gradient of L(c W0 * sigmoid(s)).
    model, X, y, probabilities, scores = smooth_problem(2, sigmoid_draw)
    _, grads = mask_gradients(model, probabilities, X, y, rescale=rescale)
    expected = central_differences(
        lambda s: plain_loss(relaxed(model.weights, [1 / (1 + np.exp(-x)) for x in s], rescale), model.biases, X, y),
        scores)
    assert rel_error(score_gradients("bernoulli", scores, grads), expected) < 1e-6


def test_straight_through_estimators_worked_by_hand():
    s, g = np.array([-2.0, 0.0, 3.0]), np.array([1.0, 2.0, -3.0])
    derivative = [math.exp(-x) / (1 + math.exp(-x)) ** 2 for x in s]  # sigmoid'(s)
    np.testing.assert_allclose(score_gradients("bernoulli", [s], [g])[0], g * derivative, rtol=1e-13)
    np.testing.assert_array_equal(score_gradients("top_k", [s], [g])[0], [-1.0, 0.0, -3.0])  # through |s|


def test_bernoulli_samples_have_mean_sigmoid():
    # The relaxed mask sigmoid(s) is the samples' mean: the straight-through gradient is taken where they average.
    scores = [np.full((100, 200), -0.85)]  # sigmoid = 0.2994
    rng = np.random.default_rng(0)
    mean = np.mean([bernoulli_masks(scores, rng)[0].mean() for _ in range(5)])  # 100,000 draws, sd 0.0014
    assert abs(mean - sigmoid(-0.85)) < 0.006


def test_float32_gradients_track_float64():
    rng = np.random.default_rng(3)
    fast, exact = MLP((64, 30, 10), seed=3), MLP((64, 30, 10), seed=3, dtype=np.float64)
    exact.set_parameters(Parameters(fast.weights, fast.biases))  # the same numbers, float64 arithmetic
    masks = top_k_masks(initial_scores(fast, "top_k", rng), 0.3)
    X, y = rng.random((32, 64)).astype(np.float32), rng.integers(0, 10, 32)
    assert rel_error(mask_gradients(fast, masks, X, y, True)[1], mask_gradients(exact, masks, X, y, True)[1]) < 1e-4


# ------------------------------------------------------------------------------- untrained
def test_dynamic_rescaling_worked_by_hand():
    # Layer 1 keeps 2 of 6 weights: c = 3; layer 2 keeps all: c = 1. x = [1, 1]:
    # rescaled, z1 = [3 * 1, 3 * 3, 0] = [3, 9, 0], logits [3 + 0, 0 + 9] = [3, 9], loss log(1 + e^-6);
    # not rescaled, z1 = [1, 3, 0], logits [1, 3], loss log(1 + e^-2). The same prediction, class 1, both ways.
    model = MLP((2, 3, 2), dtype=np.float64)
    model.weights[0][:] = [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]
    model.weights[1][:] = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    masks = [np.array([[1, 0, 0], [0, 1, 0]]), np.ones((3, 2))]
    assert rescaling_factors(masks) == [3.0, 1.0]
    np.testing.assert_array_equal(effective_weights(model.weights, masks)[0], [[3.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    x, label = np.array([[1.0, 1.0]]), np.array([1])
    for rescale, gap in [(True, 6.0), (False, 2.0)]:
        loss, accuracy = untrained_network(model, masks, rescale).evaluate(x, label)
        assert loss == pytest.approx(math.log1p(math.exp(-gap)), rel=1e-12) and accuracy == 1.0


def test_rescaling_changes_the_loss_not_the_predictions_when_biases_are_zero():
    data, model = load_digits(), MLP((64, 40, 20, 10), seed=4)
    masks = top_k_masks(initial_scores(model, "top_k", np.random.default_rng(4)), 0.2)
    rescaled, plain = untrained_network(model, masks, True), untrained_network(model, masks, False)
    np.testing.assert_array_equal(rescaled.predict(data.X_test), plain.predict(data.X_test))
    assert rescaled.loss(data.X_test, data.y_test) != pytest.approx(plain.loss(data.X_test, data.y_test), rel=0.01)
    assert untrained_accuracy(model, masks, data.X_test, data.y_test) == plain.accuracy(data.X_test, data.y_test)


def test_untrained_network_keeps_the_initial_weights_and_leaves_the_model():
    model = MLP((10, 8, 4), seed=5)
    before = [w.copy() for w in model.weights]
    masks = top_k_masks(initial_scores(model, "top_k", np.random.default_rng(5)), 0.25)
    network = untrained_network(model, masks)
    for w, w0, m, c in zip(network.weights, before, masks, rescaling_factors(masks)):
        np.testing.assert_array_equal(w, np.where(m == 1, w0 * np.float32(c), 0.0))
        assert network.weights[0].dtype == np.float32
    assert all(np.array_equal(a, b) for a, b in zip(model.weights, before)) and model.density == 1.0


def test_large_final_same_sign_by_hand_and_counts():
    w_i = [np.array([[0.3, -0.2, 0.5, 0.1, -0.7, 0.2]])]
    w_f = [np.array([[0.9, 0.8, 0.4, 0.0, -0.6, -0.1]])]  # entries 1, 3 and 5 lost their sign
    dense = [np.ones((1, 6))]
    assert criterion_masks("large_final_same_sign", w_i, w_f, dense, [2])[0].tolist() == [[1, 0, 0, 0, 1, 0]]
    assert criterion_masks("large_final_same_sign", w_i, w_f, dense, [4])[0].tolist() == [[1, 1, 1, 0, 1, 0]]


# ------------------------------------------------------------------------------- training
@pytest.mark.parametrize("density", [0.01, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_top_k_keeps_exact_counts_of_the_largest_scores(density):
    rng = np.random.default_rng(6)
    scores = [rng.normal(size=shape) for shape in [(784, 300), (300, 100), (100, 10)]]
    masks = top_k_masks(scores, density)
    assert [int(m.sum()) for m in masks] == [round(density * s.size) for s in scores]
    for s, m in zip(scores, masks):
        if 0 < m.sum() < m.size:
            assert np.abs(s[m == 1]).min() > np.abs(s[m == 0]).max()


def test_same_seed_same_scores_and_masks_and_the_weights_never_move():
    data = load_digits()
    model = MLP((64, 20, 10), seed=7)
    frozen = model.get_parameters()
    runs = {}
    for method in ("bernoulli", "top_k"):
        runs[method] = [train_supermask(model, data, method=method, density=0.3, rescale=True, iterations=40,
                                        eval_every=20, test_samples=3, seed=seed) for seed in (7, 7, 8)]
        first, again, other = runs[method]
        assert all(np.array_equal(a, b) for a, b in zip(first.scores, again.scores))
        assert all(np.array_equal(a, b) for ms, ns in zip(first.masks, again.masks) for a, b in zip(ms, ns))
        assert first.history == again.history and first.test_accuracies == again.test_accuracies
        assert not all(np.array_equal(a, b) for a, b in zip(first.masks[0], other.masks[0]))
    assert all(np.abs(s).min() > 0 for s in runs["bernoulli"][0].scores)  # they start at 0: every score trained
    for name in ("weights", "biases"):  # bit-identical to the initialization after six runs
        assert all(np.array_equal(a, b) for a, b in zip(getattr(model, name), getattr(frozen, name)))
        assert all(np.array_equal(a, b) for a, b in zip(getattr(model, name), getattr(MLP((64, 20, 10), seed=7), name)))
    assert model.density == 1.0 and len(runs["bernoulli"][0].masks) == 3 and len(runs["top_k"][0].masks) == 1
    assert [int(m.sum()) for m in runs["top_k"][0].masks[0]] == [384, 60]


@pytest.mark.parametrize("method, rescale, floor", [("top_k", False, 0.7), ("bernoulli", True, 0.85)])
def test_a_learned_supermask_on_random_weights_classifies_digits(method, rescale, floor):
    # Measured at 200 iterations, seeds 0-4: top_k 0.84-0.86, bernoulli with rescaling 0.94-0.95; a random mask of
    # the same network and the dense untrained network both score about 0.1 (chance).
    data = load_digits()
    model = MLP((64, 100, 10), seed=0)
    result = train_supermask(model, data, method=method, rescale=rescale, iterations=200, eval_every=100, seed=0)
    random_mask = top_k_masks(initial_scores(model, "top_k", np.random.default_rng(0)), 0.5)
    assert untrained_accuracy(model, random_mask, data.X_test, data.y_test) < 0.2
    assert result.test_accuracy > floor and result.history[-1]["val_accuracy"] > floor
    assert [h["iteration"] for h in result.history] == [0, 100, 200] and math.isnan(result.history[0]["train_loss"])


def test_bad_arguments_are_named():
    model, data = MLP((64, 10)), load_digits()
    with pytest.raises(SettingError, match="method must be one of 'bernoulli', 'top_k', got 'random'"):
        train_supermask(model, data, method="random")
    with pytest.raises(SettingError, match=r"density must be a finite number in \(0, 1\], got 0"):
        top_k_masks([np.ones((2, 2))], 0)
    with pytest.raises(SettingError, match=r"batch_size must be an integer in \[1, 1257\], got 2000"):
        train_supermask(model, data, batch_size=2000)
    with pytest.raises(ValueError, match="data must have a test set"):
        train_supermask(model, as_dataset((data.X_train, data.y_train)))
    with pytest.raises(ValueError, match=r"masks\[0\] must have the shape of weights\[0\], \(64, 10\), got \(10, 64\)"):
        effective_weights(model.weights, [np.ones((10, 64))])
    with pytest.raises(ValueError, match=r"masks\[0\] must contain only 0 and 1"):
        untrained_network(model, [np.full((64, 10), 0.5)])
