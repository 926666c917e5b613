"""Spreading a density over the layers: exact uniform and Erdős–Rényi counts, random masks of them, shuffled masks.

``layer_counts`` is checked against the rules its module states (whole counts, the exact total, uniform within
one weight of ``density * size``, Erdős–Rényi fractions proportional to ``(n_in + n_out) / (n_in n_out)`` with the
layers the formula pushes past 1 kept dense), plus an example worked out by hand; ``random_masks_at`` and
``shuffle_masks`` keep every layer's count.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np.pruning import layer_counts, random_masks_at, shuffle_masks
from lottery_np.validation import SettingError

layer_shapes = st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=1, max_size=4)
densities = st.floats(0.0, 1.0, exclude_min=True, allow_nan=False)
TINY = 1e-9  # float64 slack on the real-valued side of a comparison
# The warning of the bug test_erdos_renyi_computes_no_nan_when_every_layer_ends_up_dense shows, met at density 1.


def check_whole_counts(shapes, density, counts):
    """Counts are Python ints within each layer's size, adding up to the rounded budget exactly."""
    sizes = [a * b for a, b in shapes]
    assert len(counts) == len(shapes)
    assert all(type(c) is int for c in counts)
    assert all(0 <= c <= n for c, n in zip(counts, sizes))
    assert sum(counts) == round(density * sum(sizes))


def erdos_renyi_dense_layers(shapes, total):
    """The layers the Erdős–Rényi formula keeps dense, and the network's ε, found as a fixed point.

    With a set D of dense layers, ε_D = (total - Σ_D size) / Σ_{not D} (n_in + n_out). The solution is the D
    (the k layers of largest (n_in + n_out) / (n_in n_out), for some k) whose ε_D puts every layer of D above 1
    and no other layer above 1. Returns (D as a set of layer indices, ε_D; None when every layer is dense).
    """
    raw = [(a + b) / (a * b) for a, b in shapes]
    order = sorted(range(len(shapes)), key=lambda l: -raw[l])
    for k in range(len(shapes) + 1):
        dense = set(order[:k])
        rest = [l for l in range(len(shapes)) if l not in dense]
        left = total - sum(shapes[l][0] * shapes[l][1] for l in dense)
        if not rest:
            return dense, None
        epsilon = left / sum(shapes[l][0] + shapes[l][1] for l in rest)
        if all(epsilon * raw[l] > 1 for l in dense) and all(epsilon * raw[l] <= 1 for l in rest):
            return dense, epsilon
    raise AssertionError(f"no consistent set of dense layers for {shapes} and a budget of {total}")


@settings(max_examples=30, deadline=None)
@given(layer_shapes, densities)
def test_uniform_counts_are_whole_exact_and_within_one_of_the_density(shapes, density):
    counts = layer_counts(shapes, density, "uniform")
    check_whole_counts(shapes, density, counts)
    for (a, b), count in zip(shapes, counts):
        assert abs(count - density * a * b) < 1 + TINY


@settings(max_examples=30, deadline=None)
@given(layer_shapes, densities)
def test_erdos_renyi_counts_follow_the_formula_up_to_rounding(shapes, density):
    counts = layer_counts(shapes, density, "erdos_renyi")
    check_whole_counts(shapes, density, counts)
    sizes = [a * b for a, b in shapes]
    total = round(density * sum(sizes))
    dense, epsilon = erdos_renyi_dense_layers(shapes, total)
    for layer in dense:  # the formula pushes these above 1: kept whole
        assert counts[layer] == sizes[layer], (layer, counts, dense)
    if epsilon is None:
        return
    plain = total / sum(a + b for a, b in shapes)
    if all(plain * (a + b) / (a * b) <= 1 for a, b in shapes):
        assert not dense  # the plain formula stays below 1 everywhere: no layer is forced dense
    rest = [l for l in range(len(shapes)) if l not in dense]
    for layer in rest:  # count = ε (n_in + n_out), rounded one way or the other
        a, b = shapes[layer]
        assert abs(counts[layer] - epsilon * (a + b)) < 1 + TINY, (layer, counts, epsilon)
    # Between two layers not kept dense, count / size is in the ratio of (n_in + n_out) / (n_in n_out):
    # count / (n_in + n_out) estimates ε to within 1 / (n_in + n_out), the ±1 of the rounding.
    for i in rest:
        for j in rest:
            reach_i, reach_j = sum(shapes[i]), sum(shapes[j])
            assert abs(counts[i] / reach_i - counts[j] / reach_j) < 1 / reach_i + 1 / reach_j + TINY


@settings(max_examples=20, deadline=None)
@given(layer_shapes, st.sampled_from(["uniform", "erdos_renyi"]))
def test_density_one_keeps_every_layer_whole(shapes, distribution):
    assert layer_counts(shapes, 1.0, distribution) == [a * b for a, b in shapes]


def test_erdos_renyi_computes_no_nan_when_every_layer_ends_up_dense():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the NaN is masked by np.where, but the 0 / 0 is computed
        assert layer_counts([(3, 48)], 1.0, "erdos_renyi") == [144]


def test_erdos_renyi_by_hand():
    shapes = [(8, 4), (4, 2)]  # sizes 32 and 8, n_in + n_out = 12 and 6
    # density 0.5: budget 20 = ε (12 + 6), ε = 10/9. Fractions ε 12/32 = 5/12 and ε 6/8 = 5/6, both below 1:
    # 13.33 and 6.67 weights, floored to 13 + 6 = 19; the one left over goes to the larger remainder (0.67).
    assert layer_counts(shapes, 0.5, "erdos_renyi") == [13, 7]
    # density 0.7: budget 28, ε = 28/18 = 14/9, and the second layer's fraction 14/9 * 6/8 = 7/6 exceeds 1:
    # it is kept whole (8), and ε is solved again over the first: (28 - 8) / 12 = 5/3, fraction 5/3 * 12/32 = 5/8,
    # 20 weights.
    assert layer_counts(shapes, 0.7, "erdos_renyi") == [20, 8]
    # Uniform, for contrast: 0.5 * 32 = 16 and 0.5 * 8 = 4.
    assert layer_counts(shapes, 0.5, "uniform") == [16, 4]


@pytest.mark.parametrize("density", [0, 0.0, 1.5, -0.1, float("nan"), "half"])
def test_a_density_outside_0_1_is_refused(density):
    with pytest.raises(SettingError, match="density") as caught:
        layer_counts([(4, 3)], density)
    assert caught.value.setting == "density"


def test_an_unknown_distribution_is_refused():
    with pytest.raises(SettingError, match="distribution") as caught:
        layer_counts([(4, 3)], 0.5, "erk")
    assert caught.value.setting == "distribution"


@settings(max_examples=20, deadline=None)
@given(layer_shapes, densities, st.sampled_from(["uniform", "erdos_renyi"]), st.integers(0, 2**32 - 1))
def test_random_masks_at_keep_the_exact_counts(shapes, density, distribution, seed):
    masks = random_masks_at(shapes, density, distribution, np.random.default_rng(seed))
    counts = layer_counts(shapes, density, distribution)
    assert [m.shape for m in masks] == [tuple(s) for s in shapes]
    assert all(m.dtype == np.float32 and np.isin(m, (0.0, 1.0)).all() for m in masks)
    assert [int(np.count_nonzero(m)) for m in masks] == counts
    again = random_masks_at(shapes, density, distribution, np.random.default_rng(seed))
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))


def test_random_masks_at_differ_with_the_seed():
    shapes = [(64, 40), (40, 20), (20, 10)]
    first = random_masks_at(shapes, 0.2, "erdos_renyi", np.random.default_rng(0))
    second = random_masks_at(shapes, 0.2, "erdos_renyi", np.random.default_rng(1))
    assert [int(m.sum()) for m in first] == [int(m.sum()) for m in second]
    # 0.2-dense layers of 2560, 800 and 200 entries: two draws agreeing on one of them is hopeless.
    assert all(not np.array_equal(a, b) for a, b in zip(first, second))


@settings(max_examples=20, deadline=None)
@given(layer_shapes, densities, st.integers(0, 2**32 - 1))
def test_shuffle_masks_keeps_every_layers_count_and_shape(shapes, density, seed):
    masks = random_masks_at(shapes, density, "uniform", np.random.default_rng(seed))
    copies = [m.copy() for m in masks]
    shuffled = shuffle_masks(masks, np.random.default_rng(seed + 1))
    assert [m.shape for m in shuffled] == [m.shape for m in masks]
    assert [int(np.count_nonzero(m)) for m in shuffled] == [int(np.count_nonzero(m)) for m in masks]
    assert all(np.isin(m, (0.0, 1.0)).all() for m in shuffled)
    assert all(np.array_equal(m, c) for m, c in zip(masks, copies))  # the input is not modified


def test_shuffle_masks_moves_the_kept_positions():
    mask = np.zeros((20, 20), dtype=np.float32)
    mask[:5, :10] = 1.0  # 50 of 400 entries, all in one corner
    before = mask.copy()
    for seed in range(3):
        (shuffled,) = shuffle_masks([mask], np.random.default_rng(seed))
        # A permutation putting the 50 ones back exactly where they were has probability 1 / C(400, 50).
        assert not np.array_equal(shuffled, mask)
        assert shuffled.sum() == 50 and shuffled.dtype == np.float32
        assert (shuffled[5:, :].sum() + shuffled[:, 10:].sum()) > 0  # some leave the corner
    np.testing.assert_array_equal(mask, before)
