"""Magnitude pruning: exact counts, masks only shrink, smallest magnitudes go first, ties deterministic."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lottery_np.pruning.masks import prune_global, prune_layerwise, random_masks

shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))


@st.composite
def layers(draw, n_layers=st.integers(1, 3)):
    """Weights (with repeated magnitudes, to exercise ties) and random masks."""
    out = []
    for _ in range(draw(n_layers)):
        shape = draw(shapes)
        w = draw(arrays(np.float32, shape, elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0])))
        m = draw(arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0])))
        out.append((w, m))
    return out


def check_magnitude_order(weights, old_masks, new_masks):
    """Every kept weight is at least as large as every weight pruned this round."""
    kept = np.concatenate([np.abs(w)[n == 1] for w, n in zip(weights, new_masks)])
    pruned = np.concatenate([np.abs(w)[(o == 1) & (n == 0)] for w, o, n in zip(weights, old_masks, new_masks)])
    if kept.size and pruned.size:
        assert kept.min() >= pruned.max()


@given(layers(), st.data())
def test_layerwise_pruning_properties(layer_list, data):
    weights = [w for w, _ in layer_list]
    masks = [m for _, m in layer_list]
    n_keep = [data.draw(st.integers(0, int(m.sum()))) for m in masks]
    new = prune_layerwise(weights, masks, n_keep)
    for w, old, n, k in zip(weights, masks, new, n_keep):
        assert n.dtype == np.float32 and n.shape == w.shape
        assert int(n.sum()) == k  # the scheduled count, exactly
        assert (n <= old).all()  # masks only lose entries
        check_magnitude_order([w], [old], [n])
    assert all(np.array_equal(a, b) for a, b in zip(new, prune_layerwise(weights, masks, n_keep)))


@given(layers(), st.data())
def test_global_pruning_properties(layer_list, data):
    weights = [w for w, _ in layer_list]
    masks = [m for _, m in layer_list]
    n_keep = data.draw(st.integers(0, int(sum(m.sum() for m in masks))))
    new = prune_global(weights, masks, n_keep)
    assert sum(int(n.sum()) for n in new) == n_keep
    assert all((n <= old).all() for n, old in zip(new, masks))
    check_magnitude_order(weights, masks, new)


def test_ties_keep_the_lower_index():
    weights = [np.array([[1.0, -1.0, 1.0, 2.0]], dtype=np.float32)]
    new = prune_layerwise(weights, [np.ones((1, 4))], [2])
    np.testing.assert_array_equal(new[0], [[1, 0, 0, 1]])


def test_global_pruning_compares_across_layers():
    weights = [np.array([[0.1, 0.2]]), np.array([[5.0], [6.0]])]
    new = prune_global(weights, [np.ones((1, 2)), np.ones((2, 1))], 2)
    np.testing.assert_array_equal(new[0], [[0, 0]])
    np.testing.assert_array_equal(new[1], [[1], [1]])


def test_keeping_more_than_survive_is_rejected():
    with pytest.raises(ValueError, match="cannot keep 3 of 2"):
        prune_layerwise([np.ones((1, 3))], [np.array([[1, 0, 1]])], [3])
    with pytest.raises(ValueError, match="same length"):
        prune_layerwise([np.ones((1, 3))], [], [1])


@given(st.lists(shapes, min_size=1, max_size=3), st.integers(0, 2**32 - 1), st.data())
def test_random_masks_keep_exact_counts(shape_list, seed, data):
    n_keep = [data.draw(st.integers(0, a * b)) for a, b in shape_list]
    masks = random_masks(shape_list, n_keep, np.random.default_rng(seed))
    assert [int(m.sum()) for m in masks] == n_keep
    again = random_masks(shape_list, n_keep, np.random.default_rng(seed))
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))


@pytest.mark.parametrize("prune", [lambda w, m: prune_layerwise(w, m, [1, 1]), lambda w, m: prune_global(w, m, 2)],
                         ids=["layerwise", "global"])
def test_a_mask_of_another_shape_is_named(prune):
    weights = [np.ones((3, 2)), np.ones((2, 2))]
    masks = [np.ones((3, 2)), np.ones((2, 3))]
    with pytest.raises(ValueError, match=r"masks\[1\] must have the shape of weights\[1\], \(2, 2\), got \(2, 3\)"):
        prune(weights, masks)
