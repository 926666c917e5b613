"""The fused sparse backprop against the layer-by-layer one, and when training takes it."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np.engine.kernels import forced_path
from lottery_np.engine.kernels import dispatch, use_fused_step
from lottery_np.engine.kernels.fused import FusedBackprop
from lottery_np.model import MLP
from lottery_np.optim import Adam
from lottery_np.engine.step import LayerwiseStep, PackedSparseStep, training_step


@st.composite
def sparse_problems(draw):
    """A small masked float32 network with random biases and a labelled batch."""
    sizes = tuple(draw(st.lists(st.integers(1, 40), min_size=2, max_size=4))) + (draw(st.integers(2, 10)),)
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]) | st.floats(0.0, 1.0))
    n = draw(st.integers(1, 70))
    rng = np.random.default_rng(seed)
    model = MLP(sizes, seed=seed % 1000)
    model.set_masks([(rng.random(w.shape) < density).astype(np.float32) for w in model.weights])
    model.biases = [rng.standard_normal(b.shape).astype(np.float32) * 0.1 for b in model.biases]
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], n)
    return model, X, y


def fused_pass(model, X, y):
    """The fused pass on ``model``'s weights; weight gradients packed by output."""
    values = [p.gather_by_output(w) for p, w in zip(model.patterns, model.weights)]
    return FusedBackprop(model.layer_sizes, model.patterns)(X, y, values, model.biases)


@settings(deadline=None, max_examples=40)
@given(problem=sparse_problems())
def test_fused_equals_layer_by_layer(problem):
    model, X, y = problem
    loss, grad_w, grad_b = fused_pass(model, X, y)
    with forced_path("dense"):
        ref_loss, ref_w, ref_b = model.backprop(X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    ref_packed = [p.gather_by_output(g) for p, g in zip(model.patterns, ref_w)]
    for name, got, want in zip(["dW"] * len(ref_w) + ["db"] * len(ref_b), grad_w + grad_b, ref_packed + ref_b):
        assert got.shape == want.shape and got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=name)


def test_fused_gradients_match_the_float64_reference():
    rng = np.random.default_rng(3)
    model = MLP((30, 20, 12, 5), seed=1)
    model.set_masks([(rng.random(w.shape) < 0.2).astype(np.float32) for w in model.weights])
    X, y = rng.standard_normal((25, 30)).astype(np.float32), rng.integers(0, 5, 25)
    loss, grad_w, _ = fused_pass(model, X, y)
    exact = MLP((30, 20, 12, 5), seed=1, dtype=np.float64)
    exact.set_masks(model.masks)
    exact_loss, exact_w, _ = exact.loss_and_gradients(X.astype(np.float64), y)
    assert loss == pytest.approx(exact_loss, rel=1e-5)
    for got, want, pattern in zip(grad_w, exact_w, model.patterns):
        np.testing.assert_allclose(got, pattern.gather_by_output(want), rtol=1e-4, atol=1e-6)


def test_fused_softmax_is_stable_for_huge_logits():
    model = MLP((4, 3), seed=0)
    model.set_masks([np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32)])
    model.weights[0] *= 0
    model.weights[0][0, 0] = 1e4  # logit of class 0 = 1e4 * x0
    X = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    loss, grad_w, grad_b = fused_pass(model, X, np.array([0, 1]))
    assert loss == pytest.approx(1e4 / 2, rel=1e-6)  # sample 1: -log p_1 = 1e4; sample 0: 0
    assert all(np.isfinite(g).all() for g in grad_w + grad_b)


def test_buffers_are_made_once_per_batch_size():
    model = MLP((6, 5, 3), seed=0)
    backprop, values = FusedBackprop(model.layer_sizes, model.patterns), [w.T.ravel() for w in model.weights]
    X, y = np.ones((4, 6), np.float32), np.array([0, 1, 2, 0])
    first = backprop(X, y, values, model.biases)[1]
    assert backprop(X, y, values, model.biases)[1][0] is first[0]
    assert backprop(X[:3], y[:3], values, model.biases)[1][0] is not first[0]


def test_the_overall_density_decides_the_step(monkeypatch):
    monkeypatch.setattr(dispatch, "FUSED_CROSSOVER_DENSITY", 0.25)
    model = MLP((50, 40, 10), seed=0)
    assert not use_fused_step(model.density, model.dtype)
    assert type(training_step(model, Adam())) is LayerwiseStep
    rng = np.random.default_rng(0)
    hidden = (rng.random((50, 40)) < 0.05).astype(np.float32)
    model.set_masks([hidden, np.ones((40, 10), np.float32)])  # output layer dense, overall ~0.21
    assert model.density < 0.25 and use_fused_step(model.density, model.dtype)
    assert isinstance(training_step(model, Adam()), PackedSparseStep)
    assert type(training_step(model, Adam(), path="dense")) is LayerwiseStep  # forced
    assert not use_fused_step(0.01, np.float64)  # float64 is the reference path
    with pytest.raises(ValueError, match="density"):
        use_fused_step(1.5, np.float32)
