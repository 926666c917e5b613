"""Dynamic sparse training (SET, RigL): the schedule, drop and grow, and carrying the optimizer across an update.

From the pieces up: :func:`cosine_fraction`; :func:`drop_and_grow` against a reference of its rule (hypothesis)
and by hand; :meth:`Optimizer.remap` and ``training_step(..., carry_from=...)``, which carry Adam's and SGD's state
to new masks; then :class:`Rewiring` inside :func:`lottery_np.train` on the 8x8 digits: exact counts, one record per
due update, pruned weights at 0.0, bit-identical replays, grown weights starting from zero with zero moments,
RigL growing at the largest dense gradients, and RigL with nothing to move being static sparse training.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lottery_np.data import load_digits
from lottery_np.engine import LayerwiseStep, PackedSparseStep, training_step
from lottery_np.model import MLP
from lottery_np.optim import SGD, Adam
from lottery_np.pruning import layer_counts, random_masks_at
from lottery_np.sparse import Rewiring, cosine_fraction, drop_and_grow
from lottery_np.training import TrainingConfig, train
from lottery_np.validation import SettingError

SIZES = (64, 40, 20, 10)
SHAPES = list(zip(SIZES[:-1], SIZES[1:]))


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def sparse_model(density, distribution="erdos_renyi", mask_seed=0):
    model = MLP(SIZES, seed=0)
    model.set_masks(random_masks_at(SHAPES, density, distribution, np.random.default_rng(mask_seed)))
    return model


def counts(masks):
    return [int(np.count_nonzero(m)) for m in masks]


def by_index(order, values, size):
    """A state array laid out by flat index: ``values[k]`` belongs to entry ``order[k]`` (None: every entry)."""
    full = np.full(size, np.nan, dtype=np.float64)
    full[np.arange(size) if order is None else order] = values
    return full


def top(scores, candidates, k):
    """Reference rule of magnitude pruning: the ``k`` candidates of largest ``|score|``, lower flat index on ties."""
    scores, where = np.abs(np.asarray(scores, dtype=np.float64)).ravel(), np.flatnonzero(np.ravel(candidates))
    chosen = where[np.lexsort((where, -scores[where]))[:k]]
    keep = np.zeros(scores.size, dtype=bool)
    keep[chosen] = True
    return keep.reshape(np.shape(candidates))


# ------------------------------------------------------------------------------------------------ the schedule
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000).map(lambda k: k / 1000), st.integers(1, 5000).map(lambda k: 2 * k))
def test_cosine_fraction_at_its_landmarks(initial, stop):
    assert cosine_fraction(0, initial, stop) == initial
    assert cosine_fraction(stop // 2, initial, stop) == initial / 2  # 1 + cos(pi / 2) is 1.0 in floating point
    assert cosine_fraction(stop, initial, stop) == 0.0
    assert cosine_fraction(stop + 1, initial, stop) == 0.0
    assert cosine_fraction(10 * stop, initial, stop) == 0.0


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 10_000), st.data())
def test_cosine_fraction_decays_monotonically(initial, stop, data):
    early = data.draw(st.integers(0, stop))
    late = data.draw(st.integers(early, stop))
    assert 0.0 <= cosine_fraction(late, initial, stop) <= cosine_fraction(early, initial, stop)
    assert cosine_fraction(0, initial, stop) == pytest.approx(initial, rel=0, abs=1e-15)  # rounded to 15 decimals
    expected = initial / 2 * (1 + math.cos(math.pi * early / stop))
    assert cosine_fraction(early, initial, stop) == pytest.approx(expected, rel=0, abs=1e-15)


# ------------------------------------------------------------------------------------------------ drop and grow
values = st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0])  # repeated magnitudes exercise the ties


@st.composite
def layers(draw):
    """Per layer: weights (0.0 where pruned, as in a model), a 0/1 mask and grow scores."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        shape = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
        mask = draw(arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0])))
        weights = draw(arrays(np.float32, shape, elements=values)) * mask
        out.append((weights, mask, draw(arrays(np.float64, shape, elements=values))))
    return out


@settings(max_examples=30, deadline=None)
@given(layers(), st.floats(0.0, 1.0))
def test_drop_and_grow_keeps_counts_drops_small_weights_and_grows_large_scores(layer_list, fraction):
    weights, masks, scores = (list(part) for part in zip(*layer_list))
    copies = [m.copy() for m in masks]
    new_masks = drop_and_grow(weights, masks, fraction, scores)
    assert all(np.array_equal(m, c) for m, c in zip(masks, copies))  # the inputs are not modified
    for w, old, new, score in zip(weights, masks, new_masks, scores):
        assert new.dtype == np.float32 and new.shape == w.shape and np.isin(new, (0.0, 1.0)).all()
        alive = int(old.sum())
        assert int(new.sum()) == alive  # the layer's count, exactly
        dropped = math.floor(fraction * alive)
        kept = top(w, old == 1, alive - dropped)  # the survivors of largest magnitude
        assert (new[kept] == 1).all()  # survive the update
        old_rest = (old == 1) & ~kept
        if kept.any() and old_rest.any():
            assert np.abs(w[kept]).min() >= np.abs(w[old_rest]).max()
        grown = (new == 1) & ~kept
        assert int(grown.sum()) == dropped
        unchosen = ~kept & ~grown  # the candidates for growth, the just-dropped ones included, left out
        if grown.any() and unchosen.any():
            assert np.abs(score[grown]).min() >= np.abs(score[unchosen]).max()
        np.testing.assert_array_equal(grown, top(score, ~kept, dropped))  # and ties to the lower index


@settings(max_examples=20, deadline=None)
@given(layers())
def test_drop_and_grow_with_fraction_zero_changes_nothing(layer_list):
    weights, masks, scores = (list(part) for part in zip(*layer_list))
    for new, old in zip(drop_and_grow(weights, masks, 0.0, scores), masks):
        np.testing.assert_array_equal(new, old)


def test_drop_and_grow_by_hand():
    weights = [np.array([[0.5, -0.1, 0.0], [0.0, 2.0, -0.3]], dtype=np.float32),
               np.array([[1.0], [-1.0], [0.0]], dtype=np.float32)]
    masks = [np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32), np.array([[1], [1], [0]], dtype=np.float32)]
    scores = [np.array([[9.0, 0.2, -0.7], [0.4, 9.0, 0.1]]), np.array([[0.0], [0.5], [-0.5]])]
    new = drop_and_grow(weights, masks, 0.5, scores)
    # Layer 0: 4 alive, floor(0.5 * 4) = 2 dropped: |-0.1| and |-0.3|; 0.5 and 2.0 stay. Among the four
    # entries not kept, |scores| are 0.2, 0.7, 0.4, 0.1 at (0,1), (0,2), (1,0), (1,2): grow (0,2) and (1,0).
    np.testing.assert_array_equal(new[0], [[1, 0, 1], [1, 1, 0]])
    # Layer 1: 2 alive, 1 dropped; |1.0| = |-1.0| and the lower index stays, so row 1 goes. Rows 1 and 2
    # tie at |score| 0.5: row 1 wins and grows back (a drop undone in the same update).
    np.testing.assert_array_equal(new[1], [[1], [1], [0]])
    # The scores of kept entries do not matter (9.0 above); the signs of the scores do not either.
    assert counts(new) == [4, 2]


# ------------------------------------------------------------------------------------- remapping the optimizer
@pytest.mark.parametrize("make", [lambda: Adam(1e-2), lambda: SGD(0.1, momentum=0.9)], ids=["adam", "sgd"])
def test_remap_keeps_the_state_of_kept_entries_and_zeroes_new_ones(make):
    optimizer, rng = make(), np.random.default_rng(0)
    params = [np.zeros(10, dtype=np.float32), np.zeros(3, dtype=np.float32)]  # a masked weight, a bias
    old = np.array([7, 0, 5, 2])
    for _ in range(3):
        optimizer.step(params, [rng.standard_normal(4), rng.standard_normal(3)], [old, None])
    before = optimizer.state
    new = np.array([9, 2, 3, 7, 6])  # 2 and 7 kept (in another order), 0 and 5 dropped, 9, 3 and 6 new
    optimizer.remap([old, None], [new, None], [10, 3])
    after = optimizer.state
    assert optimizer.iterations == 3
    for name in optimizer.STATE:
        assert after[0][name].shape == (5,) and after[0][name].dtype == np.float32
        was = by_index(old, before[0][name], 10)
        np.testing.assert_array_equal(after[0][name][[1, 3]], was[[2, 7]])  # bit for bit
        assert (after[0][name][[0, 2, 4]] == 0).all()
        assert before[0][name].all()  # (nonzero before: the check above could fail)
        np.testing.assert_array_equal(after[1][name], before[1][name])  # a parameter updated whole keeps all
    optimizer.step(params, [rng.standard_normal(5), rng.standard_normal(3)], [new, None])  # sized for the new set
    assert optimizer.iterations == 4


def test_remap_refuses_an_old_order_of_the_wrong_size():
    optimizer = Adam()
    optimizer.step([np.zeros(10, dtype=np.float32)], [np.ones(4)], [np.array([0, 1, 2, 3])])
    with pytest.raises(ValueError, match="old order of parameter 0 has 3 entries, its state 4"):
        optimizer.remap([np.array([0, 1, 2])], [np.array([0, 1, 2, 3])], [10])
    with pytest.raises(ValueError, match="one old order, new order and size per parameter"):
        optimizer.remap([np.array([0, 1, 2, 3])] * 2, [np.array([0, 1, 2, 3])] * 2, [10, 10])
    with pytest.raises(ValueError, match="old order of parameter 0 has 10 entries"):
        optimizer.remap([None], [None], [10])  # None means all 10 entries, the state has 4


@pytest.mark.parametrize("make", [Adam, SGD])
def test_remap_before_the_first_step_does_nothing(make):
    optimizer = make()
    optimizer.remap([np.array([0, 1])], [np.array([2, 3, 4])], [5])
    assert optimizer.state is None and optimizer.iterations == 0
    param = np.zeros(5, dtype=np.float32)
    optimizer.step([param], [np.ones(2)], [np.array([0, 1])])  # the first step still sizes the state
    assert optimizer.state[0][make.STATE[0]].shape == (2,)


# ------------------------------------------------------------------------------ carrying a step over new masks
def test_carry_from_refuses_another_model_or_optimizer_and_unsynced_updates(digits):
    X, y = digits.X_train[:60], digits.y_train[:60]
    model, optimizer = sparse_model(0.1), Adam(1e-2)
    step = training_step(model, optimizer, packed=True)
    step(X, y)
    with pytest.raises(ValueError, match="same model and optimizer"):
        training_step(sparse_model(0.1), optimizer, carry_from=step)
    with pytest.raises(ValueError, match="same model and optimizer"):
        training_step(model, Adam(1e-2), carry_from=step)
    assert not step.synced
    with pytest.raises(ValueError, match="sync"):
        training_step(model, optimizer, carry_from=step)
    step.sync()
    assert step.synced
    assert isinstance(training_step(model, optimizer, carry_from=step), PackedSparseStep)


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "layerwise"])
def test_carrying_over_unchanged_masks_continues_bit_for_bit(digits, packed):
    kind = PackedSparseStep if packed else LayerwiseStep
    rebuilt, straight = sparse_model(0.2), sparse_model(0.2)
    rebuilt_optimizer, straight_optimizer = Adam(1e-2), Adam(1e-2)
    step = training_step(rebuilt, rebuilt_optimizer, packed=packed)
    reference = training_step(straight, straight_optimizer, packed=packed)
    batches = [np.arange(start, start + 60) for start in range(0, 1200, 60)]
    for k, batch in enumerate(batches):
        X, y = digits.X_train[batch], digits.y_train[batch]
        if k in (7, 13):
            step.sync()
            if k == 13:
                rebuilt.set_masks(rebuilt.masks)  # the same masks installed anew, as an update moving nothing
            step = training_step(rebuilt, rebuilt_optimizer, packed=packed, carry_from=step)
            assert type(step) is kind
        assert step(X, y) == reference(X, y)
    step.sync()
    reference.sync()
    for a, b in zip(rebuilt.weights + rebuilt.biases, straight.weights + straight.biases):
        np.testing.assert_array_equal(a, b)
    assert rebuilt_optimizer.iterations == straight_optimizer.iterations == len(batches)
    for a, b in zip(rebuilt_optimizer.state, straight_optimizer.state):
        for name in Adam.STATE:
            np.testing.assert_array_equal(a[name], b[name])


def flat_state(step):
    """The optimizer's state of each weight matrix by flat index, through the step's ``state_order``."""
    model, order = step.model, step.state_order()
    return [{name: by_index(order[l], state[name], w.size).reshape(w.shape) for name in step.optimizer.STATE}
            for l, (w, state) in enumerate(zip(model.weights, step.optimizer.state))]


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "layerwise"])
def test_state_order_names_the_entry_each_state_value_belongs_to(digits, packed):
    model = sparse_model(0.5)  # Erdős–Rényi keeps the 20 x 10 layer whole: the layer-wise order is None there
    X, y = digits.X_train[:60], digits.y_train[:60]
    _, gradients, _ = model.backprop(X, y)
    step = training_step(model, SGD(0.1, momentum=0.9), packed=packed)
    step(X, y)
    step.sync()
    first = flat_state(step)  # read now: the optimizer's state follows the newest step
    other = training_step(model, step.optimizer, packed=not packed, carry_from=step)
    # One step from zero velocity leaves u = -0.1 g at every surviving weight, read off where state_order says.
    for read in (first, flat_state(other)):
        for u, g, mask in zip(read, gradients, model.masks):
            np.testing.assert_allclose(u["velocity"][mask == 1], -0.1 * g[mask == 1], rtol=1e-4, atol=1e-9)


def test_carrying_between_the_two_forms_moves_each_entrys_state_with_it(digits):
    model = sparse_model(0.5)  # Erdős–Rényi keeps the 20 x 10 layer whole: the layer-wise order is None there
    assert counts(model.masks)[-1] == 200
    optimizer = Adam(1e-2)
    step = training_step(model, optimizer, packed=True)
    for k in range(4):
        step(digits.X_train[60 * k:60 * (k + 1)], digits.y_train[60 * k:60 * (k + 1)])
    step.sync()
    packed_state = flat_state(step)
    layerwise = training_step(model, optimizer, packed=False, carry_from=step)
    assert layerwise.state_order()[model.n_layers - 1] is None
    carried_once = flat_state(layerwise)  # read now: the optimizer's state follows the newest step
    back = training_step(model, optimizer, packed=True, carry_from=layerwise)
    for carried in (carried_once, flat_state(back)):
        for a, b, mask in zip(carried, packed_state, model.masks):
            for name in Adam.STATE:
                np.testing.assert_array_equal(a[name][mask == 1], b[name][mask == 1])
                assert (a[name][mask == 1] != 0).mean() > 0.5  # real moments, not zeros on both sides


# ------------------------------------------------------------------------------------------- one update, closely
def trained_step(digits, packed, density=0.15, steps=6):
    model, optimizer = sparse_model(density), Adam(1e-2)
    step = training_step(model, optimizer, packed=packed)
    for k in range(steps):
        step(digits.X_train[60 * k:60 * (k + 1)], digits.y_train[60 * k:60 * (k + 1)])
    return step


@pytest.mark.parametrize("method", ["set", "rigl"])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "layerwise"])
def test_grown_weights_start_at_zero_with_zero_moments_and_kept_ones_keep_theirs(digits, method, packed):
    step = trained_step(digits, packed)
    model, optimizer = step.model, step.optimizer
    step.sync()
    masks, weights, state, whole = model.masks, [w.copy() for w in model.weights], flat_state(step), optimizer.state
    rewiring = Rewiring(method, total_iterations=100, update_every=6)
    X, y = digits.X_train[360:420], digits.y_train[360:420]
    new_step = rewiring.update(step, X, y, 6)
    assert new_step is not step and new_step.model is model and new_step.optimizer is optimizer
    assert optimizer.iterations == 6
    after = flat_state(new_step)
    assert counts(model.masks) == counts(masks)
    moved = 0
    for l, (old, new) in enumerate(zip(masks, model.masks)):
        grown, kept, dropped = (new == 1) & (old == 0), (new == 1) & (old == 1), (new == 0) & (old == 1)
        moved += int(grown.sum())
        assert (model.weights[l][grown] == 0.0).all() and (model.weights[l][dropped] == 0.0).all()
        np.testing.assert_array_equal(model.weights[l][kept], weights[l][kept])
        for name in Adam.STATE:
            assert (after[l][name][grown] == 0.0).all()
            np.testing.assert_array_equal(after[l][name][kept], state[l][name][kept])
            assert not np.isnan(after[l][name][new == 1]).any()  # the new order covers every survivor
            assert np.isnan(after[l][name][new == 0]).all()  # and nothing else
    assert moved > 0 and rewiring.updates[-1]["changed"] == moved
    for a, b in zip(optimizer.state[model.n_layers:], whole[model.n_layers:]):  # the biases' state stays
        for name in Adam.STATE:
            np.testing.assert_array_equal(a[name], b[name])
    # The next step of Adam, m <- 0.9 m + 0.1 g, shows which moments the entries really had: 0 for a grown one.
    _, gradients, _ = model.backprop(X, y)
    new_step(X, y)
    new_step.sync()
    stepped = flat_state(new_step)
    for l, (old, new, g) in enumerate(zip(masks, model.masks, gradients)):
        grown, kept = (new == 1) & (old == 0), (new == 1) & (old == 1)
        np.testing.assert_allclose(stepped[l]["m"][grown], 0.1 * g[grown], rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(stepped[l]["m"][kept], 0.9 * state[l]["m"][kept] + 0.1 * g[kept],
                                   rtol=1e-4, atol=1e-9)
        assert (model.weights[l][new == 0] == 0.0).all()


def test_rigl_grows_where_the_dense_gradient_is_largest(digits):
    step = trained_step(digits, packed=True, density=0.1)
    model = step.model
    step.sync()
    masks, weights = model.masks, [w.copy() for w in model.weights]
    X, y = digits.X_train[360:420], digits.y_train[360:420]
    _, _, inputs, errors = model.backward(X, y)
    gradients = [np.abs(A @ dZ.T) for A, dZ in zip(inputs, errors)]  # dL/dW, feature-major: (fan_in, fan_out)
    rewiring = Rewiring("rigl", total_iterations=100, update_every=10, drop_fraction=0.4)
    rewiring.update(step, X, y, 10)
    fraction = cosine_fraction(10, 0.4, 75)
    assert rewiring.updates[-1]["fraction"] == fraction
    for w, old, new, g in zip(weights, masks, model.masks, gradients):
        alive = int(old.sum())
        kept = top(w, old == 1, alive - math.floor(fraction * alive))
        grown, unchosen = (new == 1) & ~kept, (new == 0) & ~kept
        assert int(grown.sum()) == math.floor(fraction * alive) > 0
        assert g[grown].min() >= g[unchosen].max()
        assert g[grown].min() > 0  # a real choice: not a tie among zero gradients


# ------------------------------------------------------------------------------------- through train(rewiring=)
def record(rewiring):
    """Wrap ``rewiring.update`` to keep the masks before and after each update."""
    seen = []

    def update(step, X, y, iteration):
        before = step.model.masks
        new_step = Rewiring.update(rewiring, step, X, y, iteration)
        seen.append((iteration, before, step.model.masks))
        return new_step

    rewiring.update = update
    return seen


def run(digits, method, density, distribution, *, iterations=200, update_every=25, drop_fraction=0.3,
        stop_fraction=0.75, rewiring_seed=0, rewire=True):
    model = sparse_model(density, distribution, mask_seed=3)
    rewiring = Rewiring(method, total_iterations=iterations, update_every=update_every,
                        drop_fraction=drop_fraction, stop_fraction=stop_fraction, seed=rewiring_seed)
    seen = record(rewiring)
    train(model, digits, TrainingConfig(iterations=iterations, eval_every=100, learning_rate=5e-3), seed=1,
          rewiring=rewiring if rewire else None)
    return model, rewiring, seen


# Densities on both sides of the packed step's crossover (0.35): 0.5 trains layer by layer, its last layer whole.
@pytest.mark.parametrize("method, density, distribution, stop_fraction",
                         [("set", 0.1, "erdos_renyi", 0.75), ("set", 0.5, "uniform", 0.6),
                          ("rigl", 0.1, "uniform", 0.6), ("rigl", 0.5, "erdos_renyi", 0.75)])
def test_dynamic_sparse_training_keeps_counts_logs_updates_and_replays(digits, method, density, distribution,
                                                                         stop_fraction):
    model, rewiring, seen = run(digits, method, density, distribution, stop_fraction=stop_fraction)
    start = layer_counts(SHAPES, density, distribution)
    assert counts(model.masks) == start
    stop = {0.75: 150, 0.6: 120}[stop_fraction]
    due = [t for t in range(1, 201) if t % 25 == 0 and t <= stop]
    assert [u["iteration"] for u in rewiring.updates] == due == [t for t, _, _ in seen]
    for update, (iteration, before, after) in zip(rewiring.updates, seen):
        assert counts(after) == counts(before) == start
        assert update["changed"] == sum(int(((a == 1) & (b == 0)).sum()) for a, b in zip(after, before))
        assert update["fraction"] == cosine_fraction(iteration, 0.3, stop)
    assert rewiring.updates[0]["changed"] > 0
    assert sum(u["changed"] for u in rewiring.updates) > rewiring.updates[0]["changed"]  # not only the first moves
    for w, m in zip(model.weights, model.masks):
        assert (w[m == 0] == 0.0).all() and not np.signbit(w[m == 0]).any()
    assert any(not np.array_equal(m, m0) for m, m0 in zip(model.masks, sparse_model(density, distribution, 3).masks))
    again, _, _ = run(digits, method, density, distribution, stop_fraction=stop_fraction)
    for a, b in zip(model.masks + model.weights + model.biases, again.masks + again.weights + again.biases):
        np.testing.assert_array_equal(a, b)


def test_set_grows_by_its_own_seed(digits):
    first, _, _ = run(digits, "set", 0.1, "erdos_renyi", iterations=60, update_every=20)
    second, _, _ = run(digits, "set", 0.1, "erdos_renyi", iterations=60, update_every=20, rewiring_seed=1)
    assert counts(first.masks) == counts(second.masks)
    assert not np.array_equal(first.masks[0], second.masks[0])


def test_the_stop_is_the_fraction_of_the_run_it_says():
    rewiring = Rewiring("set", total_iterations=100, update_every=29, stop_fraction=0.29)
    assert rewiring.stop == 29 and rewiring.due(29)


def test_rigl_with_nothing_to_move_is_static_sparse_training(digits):
    moving, rewiring, seen = run(digits, "rigl", 0.2, "erdos_renyi", drop_fraction=0.0)
    static, _, never = run(digits, "rigl", 0.2, "erdos_renyi", rewire=False)
    assert len(seen) == 6 and not never
    assert all(u["changed"] == 0 and u["fraction"] == 0.0 for u in rewiring.updates)
    for a, b in zip(moving.masks + moving.weights + moving.biases, static.masks + static.weights + static.biases):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------ bad settings
@pytest.mark.parametrize("setting, options", [
    ("method", {"method": "prune"}),
    ("update_every", {"update_every": 0}),
    ("drop_fraction", {"drop_fraction": 1.5}),
    ("drop_fraction", {"drop_fraction": -0.1}),
    ("stop_fraction", {"stop_fraction": 2.0}),
    ("total_iterations", {"total_iterations": 0}),
    ("seed", {"seed": -1}),
])
def test_bad_rewiring_settings_are_refused_by_name(setting, options):
    arguments = {"method": "set", "total_iterations": 100, **options}
    with pytest.raises(SettingError, match=setting) as caught:
        Rewiring(**arguments)
    assert caught.value.setting == setting


def test_drop_and_grow_refuses_a_fraction_outside_0_1():
    with pytest.raises(SettingError, match="fraction"):
        drop_and_grow([np.ones((2, 2))], [np.ones((2, 2))], 1.5, [np.ones((2, 2))])
