"""Zhou et al.'s mask-1 actions on the kept weights (rewind, reinit, reshuffle, constant, and their signed forms)
and the mask-0 values of the pruned ones: hand-worked examples, then invariants: pruned entries exactly +0.0,
dtypes and inputs kept, signs kept where the treatment says, reshuffling keeps each layer's multiset of values,
constants share one magnitude per layer, the fresh draw is the network's own initialization.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lottery_np.model import MLP, apply_mask
from lottery_np.pruning.treatments import PRUNED_TREATMENTS, TREATMENTS, pruned_values, treat

SIGNED = ("rewind", "signed_reinit", "signed_reshuffle", "signed_constant")
UNSIGNED = ("reinit", "reshuffle", "constant")

INITIAL = [np.array([[0.5, -1.0, 2.0], [-0.25, 1.5, -3.0]], dtype=np.float32), np.array([[1.0], [-2.0]])]
MASKS = [np.array([[1, 1, 0], [1, 0, 1]]), np.array([[0], [1]])]


def test_the_registry_holds_the_papers_treatments():
    assert set(TREATMENTS) == set(SIGNED) | set(UNSIGNED)


def test_rewind_is_the_ticket():
    rewound = treat("rewind", INITIAL, MASKS, np.random.default_rng(0))
    np.testing.assert_array_equal(rewound[0], np.float32([[0.5, -1.0, 0.0], [-0.25, 0.0, -3.0]]))
    np.testing.assert_array_equal(rewound[1], [[0.0], [-2.0]])


def test_signed_constant_by_hand():
    # Layer 0: sum -0.25, sum of squares 16.5625 over 6 weights -> sigma^2 = 16.5625 / 6 - (0.25 / 6)^2 = 2.7587;
    # layer 1: 1 and -2, mean -0.5 -> sigma = 1.5.
    sigma = np.sqrt(16.5625 / 6 - (0.25 / 6) ** 2)
    treated = treat("signed_constant", INITIAL, MASKS, np.random.default_rng(0))
    assert treated[0].dtype == np.float32
    np.testing.assert_allclose(treated[0], [[sigma, -sigma, 0], [-sigma, 0, -sigma]], rtol=1e-7)
    np.testing.assert_array_equal(treated[1], [[0.0], [-1.5]])


def test_the_fresh_draw_is_the_networks_own_initialization():
    sizes = (6, 4, 3)
    rng = np.random.default_rng(1)
    initial = MLP(sizes, seed=0).weights
    masks = [(rng.random(w.shape) < 0.5).astype(np.float32) for w in initial]
    reinit = treat("reinit", initial, masks, np.random.default_rng(5))
    fresh = MLP(sizes, seed=5).weights
    for r, f, w, m in zip(reinit, fresh, initial, masks):
        assert r.dtype == np.float32 and np.array_equal(r, apply_mask(f, m))
        assert not np.array_equal(r, apply_mask(w, m))
    signed = treat("signed_reinit", initial, masks, np.random.default_rng(5))
    for s, f, w, m in zip(signed, fresh, initial, masks):
        assert np.array_equal(s, apply_mask(np.abs(f) * np.sign(w), m))


@st.composite
def networks(draw):
    """Initial weights (float32 or float64, no zeros, repeated values) of one to three layers, and masks."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    initial, masks = [], []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
        initial.append(draw(arrays(dtype, shape, elements=st.sampled_from([-2.0, -1.0, -0.5, 0.25, 1.0, 3.0]))))
        masks.append(draw(arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0]))))
    return initial, masks


@pytest.mark.parametrize("name", sorted(TREATMENTS))
@given(networks(), st.integers(0, 2**32 - 1))
def test_pruned_entries_are_exactly_zero_and_dtypes_and_inputs_are_kept(name, network, seed):
    initial, masks = network
    before = [w.copy() for w in initial]
    treated = treat(name, initial, masks, np.random.default_rng(seed))
    again = treat(name, initial, masks, np.random.default_rng(seed))
    for t, a, w, b, m in zip(treated, again, initial, before, masks):
        assert t.dtype == w.dtype and t.shape == w.shape
        pruned = t[m == 0]
        assert (pruned == 0).all() and not np.signbit(pruned).any()  # +0.0, never -0.0
        assert np.array_equal(t, a)  # same generator state, same weights
        assert np.array_equal(w, b)


@pytest.mark.parametrize("name", SIGNED)
@given(networks(), st.integers(0, 2**32 - 1))
def test_signed_treatments_keep_every_initial_sign(name, network, seed):
    initial, masks = network
    for t, w, m in zip(treat(name, initial, masks, np.random.default_rng(seed)), initial, masks):
        kept = m == 1
        # A layer of equal initial values (one weight, say) has standard deviation 0: its constant is 0.
        degenerate = name == "signed_constant" and np.std(w) == 0
        assert (np.sign(t[kept]) == (0 if degenerate else np.sign(w[kept]))).all()


@pytest.mark.parametrize("name", UNSIGNED)
def test_unsigned_treatments_flip_some_signs(name):
    initial = MLP((20, 20), seed=0).weights
    masks = [np.ones((20, 20), dtype=np.float32)]
    treated = treat(name, initial, masks, np.random.default_rng(1))  # seed 0 would redraw the initialization
    flipped = np.mean(np.sign(treated[0]) != np.sign(initial[0]))
    assert 0.3 < flipped < 0.7  # independent of the initial signs: about half flip


@pytest.mark.parametrize("name", ["reshuffle", "signed_reshuffle"])
@given(networks(), st.integers(0, 2**32 - 1))
def test_reshuffling_keeps_each_layers_multiset_of_kept_values(name, network, seed):
    initial, masks = network
    for t, w, m in zip(treat(name, initial, masks, np.random.default_rng(seed)), initial, masks):
        kept = m == 1
        values = (np.abs(t[kept]), np.abs(w[kept])) if name == "signed_reshuffle" else (t[kept], w[kept])
        assert np.array_equal(np.sort(values[0]), np.sort(values[1]))


def test_reshuffling_moves_values():
    initial = MLP((20, 20), seed=0).weights
    masks = [np.ones((20, 20), dtype=np.float32)]
    assert not np.array_equal(treat("reshuffle", initial, masks, np.random.default_rng(0))[0], initial[0])


@pytest.mark.parametrize("name", ["constant", "signed_constant"])
@given(networks(), st.integers(0, 2**32 - 1))
def test_constants_share_the_layers_standard_deviation(name, network, seed):
    initial, masks = network
    for t, w, m in zip(treat(name, initial, masks, np.random.default_rng(seed)), initial, masks):
        sigma = np.std(w, dtype=np.float64).astype(w.dtype)
        assert (np.abs(t[m == 1]) == sigma).all()


def test_pruned_values_by_hand():
    frozen = pruned_values("frozen_init", INITIAL, MASKS)
    np.testing.assert_array_equal(frozen[0], np.float32([[0.0, 0.0, 2.0], [0.0, 1.5, 0.0]]))
    np.testing.assert_array_equal(frozen[1], [[1.0], [0.0]])
    assert frozen[0].dtype == np.float32 and frozen[1].dtype == np.float64
    assert all(not np.signbit(f).any() for f in frozen)
    zero = pruned_values("zero", INITIAL, MASKS)
    assert all(z.dtype == w.dtype and not z.any() for z, w in zip(zero, INITIAL))


@given(networks())
def test_a_ticket_with_frozen_pruned_weights_starts_at_the_dense_initialization(network):
    initial, masks = network
    rewound = treat("rewind", initial, masks, np.random.default_rng(0))
    for r, f, w in zip(rewound, pruned_values("frozen_init", initial, masks), initial):
        assert np.array_equal(r + f, w)
    assert PRUNED_TREATMENTS == ("zero", "frozen_init", "zero_shrunk")


def test_bad_arguments_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"^treatment must be one of 'rewind', .*'signed_constant', got 'rewound'$"):
        treat("rewound", INITIAL, MASKS, rng)
    with pytest.raises(ValueError, match=r"^treatment must be one of 'zero', 'frozen_init', 'zero_shrunk', got 'init'$"):
        pruned_values("init", INITIAL, MASKS)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, got 0"):
        treat("reinit", INITIAL, MASKS, 0)
    shape_message = r"masks\[1\] must have the shape of initial_weights\[1\], \(2, 1\), got \(1, 2\)"
    with pytest.raises(ValueError, match=shape_message):
        treat("rewind", INITIAL, [MASKS[0], np.ones((1, 2))], rng)
    with pytest.raises(ValueError, match="initial_weights and masks must have the same length, got 2 and 1"):
        treat("rewind", INITIAL, MASKS[:1], rng)
    with pytest.raises(TypeError, match=r"initial_weights\[0\] must hold floating-point numbers, got int64"):
        treat("rewind", [np.ones((2, 3), dtype=np.int64)], MASKS[:1], rng)


def test_zero_shrunk_zeroes_the_pruned_weights_that_shrank_and_freezes_the_others_at_init():
    initial = [np.array([[0.5, -1.0, 2.0, -0.3]], dtype=np.float32)]
    final = [np.array([[0.1, -0.2, 2.5, 0.4]], dtype=np.float32)]   # shrank, shrank, grew, grew (sign flipped)
    masks = [np.array([[1, 0, 0, 0]])]
    held = pruned_values("zero_shrunk", initial, masks, final_weights=final)[0]
    assert held.tolist() == [[0.0, 0.0, 2.0, np.float32(-0.3)]] and held.dtype == np.float32
    with pytest.raises(ValueError, match="final_weights"):
        pruned_values("zero_shrunk", initial, masks)
