"""Whole-network sparse inference (``lottery_np.engine.kernels.inference``) against the layer-by-layer pass.

Every sample's arithmetic in the blocked kernel is that of the layer-by-layer
sparse product, so the logits must agree *bit for bit* with
``MLP.forward`` on the sparse path, whatever the block size and the number of
threads; and, as every path must, with the float64 reference to float32 rounding.
"""
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np.engine import kernels
from lottery_np.engine.kernels import SampleBlocks, flatten_network, inference, sparse_logits
from lottery_np.model import MLP


def sparse_network(sizes, density, seed):
    """An MLP of ``sizes`` with random masks of ``density`` (some units left without inputs) and random biases."""
    rng = np.random.default_rng(seed)
    model = MLP(sizes, seed=seed)
    model.set_masks([(rng.random(w.shape) < density).astype(np.float32) for w in model.weights])
    model.biases = [rng.standard_normal(b.shape).astype(np.float32) for b in model.biases]
    return model, rng


def layer_by_layer(model, X):
    """Logits of the layer-by-layer sparse pass, ``(n_classes, n_samples)``."""
    with kernels.forced_path("sparse"):
        return model.forward(np.ascontiguousarray(X.T, dtype=np.float32))[-1]


def logits_of(model, X):
    return sparse_logits(flatten_network(model.patterns, model.weights, model.biases), SampleBlocks(X))


@settings(deadline=None, max_examples=40)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=5),
    density=st.sampled_from([0.0, 0.02, 0.1, 0.3, 1.0]) | st.floats(0.0, 1.0),
    n_samples=st.integers(0, 2 * inference.BLOCK_SAMPLES + 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_blocked_inference_equals_the_layer_by_layer_pass_bit_for_bit(sizes, density, n_samples, seed):
    model, rng = sparse_network(sizes, density, seed)
    X = rng.standard_normal((n_samples, sizes[0])).astype(np.float32)
    logits = logits_of(model, X)
    assert logits.shape == (sizes[-1], n_samples) and logits.dtype == np.float32
    np.testing.assert_array_equal(logits, layer_by_layer(model, X))


def test_blocked_inference_tracks_the_float64_reference():
    model, rng = sparse_network((784, 300, 100, 10), 0.1, seed=3)
    X = rng.random((700, 784)).astype(np.float32)
    reference = MLP(model.layer_sizes, dtype=np.float64)
    reference.set_masks(model.masks)
    reference.set_parameters(model.get_parameters())
    expected = reference.forward(X.T.astype(np.float64))[-1]
    np.testing.assert_allclose(logits_of(model, X), expected, rtol=1e-4, atol=1e-4)


def test_logits_depend_neither_on_the_block_size_nor_on_the_threads(monkeypatch):
    model, rng = sparse_network((50, 30, 20, 7), 0.2, seed=11)
    X = rng.standard_normal((1000, 50)).astype(np.float32)
    expected = logits_of(model, X)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(logits_of(model, X), expected)
    finally:
        numba.set_num_threads(threads)
    for block in (1, 7, 64, 1024):
        monkeypatch.setattr(inference, "BLOCK_SAMPLES", block)
        np.testing.assert_array_equal(logits_of(model, X), expected)


def test_sample_blocks_lay_samples_out_feature_major_and_pad_with_zeros():
    X = np.arange(5 * 3, dtype=np.float64).reshape(5, 3)
    samples = SampleBlocks(X)
    assert samples.X is X and len(samples) == 5  # nothing copied: the same array
    blocks = samples.blocks
    B = 16  # five samples take one block of 16 lanes
    assert blocks.shape == (1, 3, B) and blocks.dtype == np.float32
    np.testing.assert_array_equal(blocks[0, :, :5], X.T)
    assert not blocks[0, :, 5:].any()
    assert samples.blocks is blocks  # made once
    assert SampleBlocks(np.zeros((1000, 3))).blocks.shape == (-(-1000 // inference.BLOCK_SAMPLES), 3,
                                                               inference.BLOCK_SAMPLES)
    with pytest.raises(ValueError, match="n_samples, n_features"):
        SampleBlocks(np.zeros(4))


def test_a_wrong_number_of_features_is_refused():
    model, _ = sparse_network((6, 4, 3), 0.5, seed=0)
    with pytest.raises(ValueError, match="6 features"):
        logits_of(model, np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(n_samples, 6\)"):
        model.evaluate(SampleBlocks(np.zeros((2, 5))), np.zeros(2, int))


def test_the_model_evaluates_sample_blocks_like_arrays_on_either_path(monkeypatch):
    model, rng = sparse_network((20, 16, 5), 0.15, seed=5)
    X, y = rng.standard_normal((300, 20)).astype(np.float32), rng.integers(0, 5, 300)
    assert kernels.use_sparse_inference(model.density, model.dtype, len(X))
    sparse = model.evaluate(X, y)
    assert model.evaluate(SampleBlocks(X), y) == sparse
    np.testing.assert_array_equal(model.predict(SampleBlocks(X)), model.predict(X))
    monkeypatch.setattr(kernels.dispatch, "INFERENCE_CROSSOVER_DENSITY", 0.0)  # layer by layer
    dense = model.evaluate(SampleBlocks(X), y)
    assert dense == model.evaluate(X, y)
    assert dense[0] == pytest.approx(sparse[0], rel=1e-5) and dense[1] == sparse[1]


def test_only_sparse_float32_networks_and_enough_samples_take_the_blocked_path():
    crossover, enough = kernels.dispatch.INFERENCE_CROSSOVER_DENSITY, kernels.dispatch.INFERENCE_MIN_SAMPLES
    assert kernels.use_sparse_inference(crossover / 2, np.float32, enough)
    assert not kernels.use_sparse_inference(crossover / 2, np.float32, enough - 1)
    assert not kernels.use_sparse_inference(crossover, np.float32, enough)
    assert not kernels.use_sparse_inference(0.01, np.float64, enough)
    with pytest.raises(ValueError, match="density"):
        kernels.use_sparse_inference(1.5, np.float32, enough)
