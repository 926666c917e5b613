"""Zhou et al.'s mask criteria: every score on a hand-worked example, and the masks they choose: exact counts,
masks that only shrink, the best scores kept, large_final bit for bit IMP's magnitude pruning, random reproducible.
"""
import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lottery_np.pruning.criteria import CRITERIA, criterion_masks, random_scores
from lottery_np.pruning.masks import prune_global, prune_layerwise

# One layer of five weights; the last is pruned (trained masked, so its final value is 0).
INITIAL = [np.array([[0.5, -1.0, 2.0, -0.1, 3.0]])]
FINAL = [np.array([[1.5, 0.5, -2.5, -0.3, 0.0]])]
MASKS = [np.array([[1, 1, 1, 1, 0]])]

# Percentile ranks among the four survivors, worked out by hand:
#   |w_i| = .5, 1, 2, .1   -> F = .5, .75, 1, .25      |w_f| = 1.5, .5, 2.5, .3 -> F = .75, .5, 1, .25
#   G (the fraction >= x):  G(|w_i|) = .75, .5, .25, 1   G(|w_f|) = .5, .75, .25, 1
EXPECTED_SCORES = {
    "large_final": [1.5, 0.5, 2.5, 0.3, 0.0],
    "small_final": [-1.5, -0.5, -2.5, -0.3, 0.0],
    "large_init": [0.5, 1.0, 2.0, 0.1, 3.0],
    "small_init": [-0.5, -1.0, -2.0, -0.1, -3.0],
    "large_init_large_final": [0.5, 0.5, 1.0, 0.25, 0.0],
    "small_init_small_final": [0.5, 0.5, 0.25, 1.0, 0.0],
    "magnitude_increase": [1.0, -0.5, 0.5, 0.2, -3.0],
    "movement": [1.0, 1.5, 4.5, 0.2, 3.0],
    "large_final_same_sign": [1.5, 0.0, 0.0, 0.3, 0.0],  # signs (+,+) (-,+) (+,-) (-,-) (+,0)
    "large_final_diff_sign": [0.0, 0.5, 2.5, 0.0, 0.0],
}
EXPECTED_KEEP_TWO = {  # the two survivors kept, ties to the lower index
    "large_final": [0, 2], "small_final": [1, 3], "large_init": [1, 2], "small_init": [0, 3],
    "large_init_large_final": [0, 2], "small_init_small_final": [0, 3], "magnitude_increase": [0, 2],
    "movement": [1, 2], "large_final_same_sign": [0, 3], "large_final_diff_sign": [1, 2],
}


def test_the_registry_holds_the_papers_criteria():
    assert set(CRITERIA) == set(EXPECTED_SCORES) | {"random"}


@pytest.mark.parametrize("name", sorted(EXPECTED_SCORES))
def test_scores_of_a_hand_worked_example(name):
    scores = CRITERIA[name](INITIAL, FINAL, MASKS)
    assert len(scores) == 1 and scores[0].dtype == np.float64
    np.testing.assert_allclose(scores[0], [EXPECTED_SCORES[name]], rtol=1e-15, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("name", sorted(EXPECTED_KEEP_TWO))
def test_masks_of_a_hand_worked_example(name):
    expected = np.zeros((1, 5), dtype=np.float32)
    expected[0, EXPECTED_KEEP_TWO[name]] = 1
    for n_keep in ([2], 2):  # one layer: per layer and global agree
        np.testing.assert_array_equal(criterion_masks(name, INITIAL, FINAL, MASKS, n_keep)[0], expected, err_msg=name)


def test_scores_are_float64_for_float32_weights():
    initial = [w.astype(np.float32) for w in INITIAL]
    final = [w.astype(np.float32) for w in FINAL]
    assert all(CRITERIA[name](initial, final, MASKS)[0].dtype == np.float64 for name in CRITERIA)


VALUES = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0]  # repeated magnitudes and zeros, to exercise ties


@st.composite
def networks(draw, dtype=np.float64):
    """Initial and final weights of one to three layers, and random masks (the final weights masked)."""
    initial, final, masks = [], [], []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
        m = draw(arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0])))
        initial.append(draw(arrays(dtype, shape, elements=st.sampled_from(VALUES))))
        final.append(draw(arrays(dtype, shape, elements=st.sampled_from(VALUES))) * m)
        masks.append(m)
    return initial, final, masks


def check_best_kept(scores, old, new):
    """Every weight kept scores at least as much as every survivor this round pruned."""
    kept = np.concatenate([s[n == 1] for s, n in zip(scores, new)])
    pruned = np.concatenate([s[(o == 1) & (n == 0)] for s, o, n in zip(scores, old, new)])
    if kept.size and pruned.size:
        assert kept.min() >= pruned.max()


@pytest.mark.parametrize("name", sorted(CRITERIA))
@given(networks(), st.data())
def test_layerwise_counts_are_exact_and_masks_only_shrink(name, network, data):
    initial, final, masks = network
    n_keep = [data.draw(st.integers(0, int(m.sum()))) for m in masks]
    new = criterion_masks(name, initial, final, masks, n_keep)
    assert [int(n.sum()) for n in new] == n_keep
    assert all(n.dtype == np.float32 and n.shape == m.shape and (n <= m).all() for n, m in zip(new, masks))
    scores = CRITERIA[name](initial, final, masks)
    for s, m, n in zip(scores, masks, new):
        check_best_kept([s], [m], [n])
    again = [data.draw(st.integers(0, k)) for k in n_keep]  # a second round, pruning the survivors further
    newer = criterion_masks(name, initial, final, new, again)
    assert [int(n.sum()) for n in newer] == again
    assert all((b <= a).all() for a, b in zip(new, newer))


@pytest.mark.parametrize("name", sorted(CRITERIA))
@given(networks(), st.data())
def test_global_count_is_exact_and_the_best_scores_survive(name, network, data):
    initial, final, masks = network
    n_keep = data.draw(st.integers(0, int(sum(m.sum() for m in masks))))
    new = criterion_masks(name, initial, final, masks, n_keep)
    assert sum(int(n.sum()) for n in new) == n_keep
    assert all((n <= m).all() for n, m in zip(new, masks))
    check_best_kept(CRITERIA[name](initial, final, masks), masks, new)


@given(networks(np.float32), st.data())
def test_large_final_is_magnitude_pruning_bit_for_bit(network, data):
    initial, final, masks = network
    n_keep = [data.draw(st.integers(0, int(m.sum()))) for m in masks]
    for ours, imp in zip(criterion_masks("large_final", initial, final, masks, n_keep),
                         prune_layerwise(final, masks, n_keep)):
        assert ours.dtype == imp.dtype and np.array_equal(ours, imp)
    total = data.draw(st.integers(0, int(sum(m.sum() for m in masks))))
    for ours, imp in zip(criterion_masks("large_final", initial, final, masks, total),
                         prune_global(final, masks, total)):
        assert ours.dtype == imp.dtype and np.array_equal(ours, imp)


def brute_rank(values, alive, index):
    """The fraction of the survivors whose value is at most the one at ``index``, by counting."""
    return np.count_nonzero(values[alive] <= values[index]) / np.count_nonzero(alive)


@given(networks(), st.data())
def test_large_init_large_final_keeps_a_quadrant_of_percentiles(network, data):
    """Kept weights lie above one percentile ``t`` in both |w_i| and |w_f|; no pruned survivor lies strictly
    above it in both (the authors' quadrant, with ranks counted here independently)."""
    initial, final, masks = network
    n_keep = [data.draw(st.integers(1, int(m.sum()))) if m.any() else 0 for m in masks]
    for wi, wf, m, n in zip(initial, final, masks, criterion_masks("large_init_large_final", initial, final,
                                                                    masks, n_keep)):
        alive, ai, af = m.ravel() == 1, np.abs(wi).ravel(), np.abs(wf).ravel()
        both = {j: min(brute_rank(ai, alive, j), brute_rank(af, alive, j)) for j in np.flatnonzero(alive)}
        kept = np.flatnonzero(n.ravel())
        if kept.size:
            t = min(both[j] for j in kept)
            assert not any(both[j] > t for j in np.flatnonzero(alive) if j not in kept)


def test_random_is_reproducible_from_its_seed_and_ignores_the_values():
    shape = (10, 10)
    masks = [np.ones(shape)]
    a = random_scores([np.zeros(shape)], [np.zeros(shape)], masks, seed=7)
    b = random_scores([np.ones(shape)], [np.full(shape, 2.0)], [np.eye(10)], seed=7)
    c = random_scores([np.zeros(shape)], [np.zeros(shape)], masks, seed=8)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    w = [np.zeros(shape)]
    seeded = functools.partial(random_scores, seed=7)
    first, second = (criterion_masks(seeded, w, w, masks, [10]) for _ in range(2))
    assert np.array_equal(first[0], second[0])
    assert not np.array_equal(first[0].ravel(), np.arange(100) < 10)  # not the tie rule's first ten
    np.testing.assert_array_equal(criterion_masks("random", w, w, masks, [10])[0],
                                  criterion_masks(functools.partial(random_scores, seed=0), w, w, masks, [10])[0])


def test_an_unknown_criterion_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"^criterion must be one of 'large_final', .*'random'.*got 'biggest'$"):
        criterion_masks("biggest", INITIAL, FINAL, MASKS, 2)


@pytest.mark.parametrize("initial, final, masks, message", [
    ([np.ones((2, 2)), np.ones((3, 2))], [np.ones((2, 2)), np.ones((2, 3))], [np.ones((2, 2)), np.ones((3, 2))],
     r"final\[1\] must have the shape of initial\[1\], \(3, 2\), got \(2, 3\)"),
    ([np.ones((2, 2))], [np.ones((2, 2))], [np.ones((2, 1))],
     r"masks\[0\] must have the shape of initial\[0\], \(2, 2\), got \(2, 1\)"),
    ([np.ones((2, 2))], [np.ones((2, 2)), np.ones((2, 2))], [np.ones((2, 2))],
     r"initial, final and masks must have the same length, got 1, 2, 1"),
])
def test_mismatched_layers_are_named(initial, final, masks, message):
    with pytest.raises(ValueError, match=message):
        criterion_masks("movement", initial, final, masks, 1)


def test_counts_beyond_the_survivors_are_refused():
    with pytest.raises(ValueError, match=r"n_keep\[0\] must be an integer in \[0, 4\], got 5"):
        criterion_masks("large_final", INITIAL, FINAL, MASKS, [5])
    with pytest.raises(ValueError, match=r"n_keep must be an integer in \[0, 4\], got 5"):
        criterion_masks("large_final", INITIAL, FINAL, MASKS, 5)
    with pytest.raises(ValueError, match="n_keep must give one count per layer, 1, got 2"):
        criterion_masks("large_final", INITIAL, FINAL, MASKS, [1, 1])


def test_a_criterion_of_ones_own_must_score_finitely_and_in_shape():
    with pytest.raises(ValueError, match=r"scores\[0\] must hold finite numbers"):
        criterion_masks(lambda i, f, m: [np.full((1, 5), np.nan)], INITIAL, FINAL, MASKS, 1)
    with pytest.raises(ValueError, match=r"scores\[0\] must have the shape of masks\[0\], \(1, 5\), got \(5,\)"):
        criterion_masks(lambda i, f, m: [np.zeros(5)], INITIAL, FINAL, MASKS, 1)
