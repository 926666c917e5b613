"""The fused sparse backprop against the layer-by-layer one, and when the model takes it."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np import kernels
from lottery_np.model import MLP


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


@pytest.mark.parametrize("layout", ["active", "dense"])
@settings(deadline=None, max_examples=40)
@given(problem=sparse_problems())
def test_fused_equals_layer_by_layer(layout, problem):
    model, X, y = problem
    model.kernel_path = "sparse"
    assert model.runs_sparse
    loss, grad_w, grad_b = model.loss_and_gradients(X, y, layout=layout)
    model.kernel_path = "dense"
    assert not model.runs_sparse
    ref_loss, ref_w, ref_b = model.loss_and_gradients(X, y, layout=layout)
    assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    for got, want in zip(grad_w + grad_b, ref_w + ref_b):
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_fused_gradients_match_the_float64_reference():
    rng = np.random.default_rng(3)
    model = MLP((30, 20, 12, 5), seed=1)
    model.set_masks([(rng.random(w.shape) < 0.2).astype(np.float32) for w in model.weights])
    X, y = rng.standard_normal((25, 30)).astype(np.float32), rng.integers(0, 5, 25)
    model.kernel_path = "sparse"
    loss, grad_w, _ = model.loss_and_gradients(X, y)
    exact = MLP((30, 20, 12, 5), seed=1, dtype=np.float64)
    exact.set_masks(model.masks)
    exact_loss, exact_w, _ = exact.loss_and_gradients(X.astype(np.float64), y)
    assert loss == pytest.approx(exact_loss, rel=1e-5)
    for got, want in zip(grad_w, exact_w):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_fused_softmax_is_stable_for_huge_logits():
    model = MLP((4, 3), seed=0)
    model.set_masks([np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32)])
    model.weights[0] *= 0
    model.weights[0][0, 0] = 1e4  # logit of class 0 = 1e4 * x0
    X = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    model.kernel_path = "sparse"
    loss, grad_w, grad_b = model.loss_and_gradients(X, np.array([0, 1]))
    assert loss == pytest.approx(1e4 / 2, rel=1e-6)  # sample 1: -log p_1 = 1e4; sample 0: 0
    assert all(np.isfinite(g).all() for g in grad_w + grad_b)


def test_the_overall_density_decides_the_path(monkeypatch):
    monkeypatch.setattr(kernels, "FUSED_CROSSOVER_DENSITY", 0.25)
    model = MLP((50, 40, 10), seed=0)
    assert not model.runs_sparse  # dense
    rng = np.random.default_rng(0)
    hidden = (rng.random((50, 40)) < 0.05).astype(np.float32)
    model.set_masks([hidden, np.ones((40, 10), np.float32)])  # output layer dense, overall ~0.21
    assert model.density < 0.25 and model.runs_sparse
    model.kernel_path = "dense"
    assert not model.runs_sparse
    assert not MLP((50, 40, 10), seed=0, dtype=np.float64).runs_sparse  # float64 is the reference path


def test_bad_layout_is_refused():
    model = MLP((4, 3), seed=0)
    with pytest.raises(ValueError, match="layout"):
        model.loss_and_gradients(np.zeros((2, 4)), np.array([0, 1]), layout="csr")
