"""Linear mode connectivity and instability analysis (:mod:`lottery_np.analysis.barrier`, ``.instability``).

The maths on its own: interpolation exact at its ends and keeping pruned entries at 0.0,
the error barrier as a property of any list of errors, and a two-unit network whose
barrier is worked out by hand. Then one analysis on the 8x8 digits: its two copies are
exactly what ``train`` makes from the same start, rewinding replays a longer run, and
the thresholds ``stable`` and ``matching`` sit where the module's constants put them.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lottery_np import train
from lottery_np.analysis import (MATCHING_TOLERANCE, STABLE_BARRIER, InstabilityResult, LinearPath, dense_at,
                                 error_barrier, instability_analysis, interpolate, linear_path, matching,
                                 path_alphas, rewind_point)
from lottery_np.config import TrainingConfig
from lottery_np.data import Dataset, load_digits
from lottery_np.model import MLP, Parameters
from lottery_np.pruning import random_masks
from lottery_np.validation import SettingError

SIZES = (64, 20, 10)
CONFIG = TrainingConfig(iterations=80, eval_every=40)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def half_masks(seed: int) -> list[np.ndarray]:
    """Random masks keeping half of each layer of ``SIZES``."""
    shapes = list(zip(SIZES[:-1], SIZES[1:]))
    return random_masks(shapes, [i * o // 2 for i, o in shapes], np.random.default_rng(seed))


def masked_network(seed: int = 0, mask_seed: int = 0) -> MLP:
    network = MLP(SIZES, seed=seed)
    network.set_masks(half_masks(mask_seed))
    return network


def error_and_loss(network: MLP, X, y) -> tuple[float, float]:
    """``(error, loss)`` of ``network`` on ``(X, y)``, as ``evaluate`` gives them."""
    loss, accuracy = network.evaluate(X, y)
    return 1.0 - accuracy, loss


# ------------------------------------------------------------------ interpolate

FLOATS = st.floats(-1e3, 1e3, width=32)


@st.composite
def parameter_pairs(draw):
    """Two float32 ``Parameters`` of the same 1-3 layers, zero in both at a drawn set of entries."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    shapes = [(i, o) for i, o in zip(sizes[:-1], sizes[1:])] + [(o,) for o in sizes[1:]]
    pair = [[draw(hnp.arrays(np.float32, shape, elements=FLOATS)) for shape in shapes] for _ in range(2)]
    for layer, shape in enumerate(shapes):
        zero = draw(hnp.arrays(bool, shape))
        for arrays in pair:
            arrays[layer][zero] = 0.0
    n = len(sizes) - 1
    return tuple(Parameters(arrays[:n], arrays[n:]) for arrays in pair)


def arrays_of(params: Parameters) -> list[np.ndarray]:
    return [*params.weights, *params.biases]


@settings(max_examples=30, deadline=None)
@given(parameter_pairs(), st.floats(0.0, 1.0))
def test_interpolate_is_exact_at_the_ends_and_keeps_common_zeros(pair, alpha):
    first, second = pair
    for end, expected in ((0.0, first), (1.0, second)):
        for got, want in zip(arrays_of(interpolate(first, second, end)), arrays_of(expected)):
            assert got.dtype == np.float32 and got.shape == want.shape
            assert (got == want).all(), f"alpha={end} is not exactly the end's values"
    middle = interpolate(first, second, alpha)
    for got, a, b in zip(arrays_of(middle), arrays_of(first), arrays_of(second)):
        assert got.dtype == np.float32
        assert (got[(a == 0) & (b == 0)] == 0.0).all(), f"an entry 0.0 in both is not 0.0 at alpha={alpha}"


def test_interpolate_is_the_weighted_mean_in_between():
    first = Parameters([np.array([[1.0, -2.0]], np.float32)], [np.array([0.0, 4.0], np.float32)])
    second = Parameters([np.array([[3.0, 2.0]], np.float32)], [np.array([8.0, 0.0], np.float32)])
    point = interpolate(first, second, 0.25)
    assert point.weights[0].tolist() == [[1.5, -1.0]] and point.biases[0].tolist() == [2.0, 3.0]


@pytest.mark.parametrize("second", [
    Parameters([np.zeros((2, 4), np.float32)], [np.zeros(3, np.float32)]),  # a weight of another shape
    Parameters([np.zeros((2, 3), np.float32)], [np.zeros(4, np.float32)]),  # a bias of another shape
    Parameters([np.zeros((2, 3), np.float32)] * 2, [np.zeros(3, np.float32)] * 2),  # another depth
], ids=["weight shape", "bias shape", "depth"])
def test_interpolate_refuses_networks_of_other_shapes(second):
    first = Parameters([np.ones((2, 3), np.float32)], [np.ones(3, np.float32)])
    with pytest.raises(ValueError, match="differ in"):
        interpolate(first, second, 0.5)


# ---------------------------------------------------------------- linear_path

@pytest.fixture(scope="module")
def trained_pair(digits):
    """Two copies of one masked network, trained with different data orders."""
    start = masked_network()
    copies = [start.copy() for _ in range(2)]
    for copy, seed in zip(copies, (1, 2)):
        train(copy, digits, CONFIG, seed=seed)
    return start, copies


def test_the_path_between_two_trained_networks_starts_and_ends_at_them(digits, trained_pair):
    start, (first, second) = trained_pair
    sets = {"test": (digits.X_test, digits.y_test), "train": (digits.X_train[:300], digits.y_train[:300])}
    path = linear_path(first, second, sets, points=5)
    assert path.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    for name, (X, y) in sets.items():
        assert len(path.errors[name]) == len(path.losses[name]) == 5
        for index, network in ((0, first), (-1, second)):
            error, loss = error_and_loss(network, X, y)
            assert path.errors[name][index] == error and path.losses[name][index] == loss, (name, index)
    assert path.barrier("test") == error_barrier(path.errors["test"])
    assert 0.0 <= path.barrier("test") <= 1.0


def test_every_point_of_the_path_keeps_the_pruned_weights_at_zero(trained_pair):
    start, (first, second) = trained_pair
    ends = first.get_parameters(), second.get_parameters()
    for alpha in path_alphas(7):
        point = interpolate(*ends, alpha)
        for layer, (weights, mask) in enumerate(zip(point.weights, start.masks)):
            assert (weights[mask == 0] == 0.0).all(), f"layer {layer} at alpha={alpha}"
            assert np.count_nonzero(weights) <= np.count_nonzero(mask)


def test_networks_of_different_masks_are_joined_in_the_union_of_their_masks(digits):
    first, second = masked_network(mask_seed=0), masked_network(mask_seed=1)
    sets = {"test": (digits.X_test, digits.y_test)}
    path = linear_path(first, second, sets, points=3)
    for index, network in ((0, first), (-1, second)):
        error, loss = error_and_loss(network, digits.X_test, digits.y_test)
        assert path.errors["test"][index] == error and path.losses["test"][index] == pytest.approx(loss, rel=1e-6)


def test_linear_path_refuses_networks_of_other_layer_sizes(digits):
    with pytest.raises(ValueError, match="layer sizes"):
        linear_path(MLP(SIZES), MLP((64, 21, 10)), {"test": (digits.X_test, digits.y_test)})


def test_a_barrier_built_by_hand():
    """Two networks of one function, hidden units swapped: the midpoint's two logits tie.

    Both ends map ``x`` to logits ``x`` (identity layers, zero biases), so they classify
    ``[1, 0]`` as 0 and ``[0, 1]`` as 1 with loss ``log(1 + e^-1)``. Halfway, both layers are
    ``[[.5, .5], [.5, .5]]``: hidden ``[.5, .5]`` and logits ``[.5, .5]`` for either sample, a
    tie argmax breaks to class 0, so one sample of two is wrong and the loss is ``log 2``.
    """
    network = MLP((2, 2, 2))
    assert [w.shape for w in network.weights] == [(2, 2), (2, 2)]  # (fan_in, fan_out)
    zeros = [np.zeros(2, np.float32), np.zeros(2, np.float32)]
    identity, swap = np.eye(2, dtype=np.float32), np.array([[0, 1], [1, 0]], np.float32)
    first, second = MLP((2, 2, 2)), MLP((2, 2, 2))
    first.set_parameters(Parameters([identity, identity], zeros))
    second.set_parameters(Parameters([swap, swap], zeros))
    X, y = np.array([[1, 0], [0, 1]], np.float32), np.array([0, 1])
    path = linear_path(first, second, {"toy": (X, y)}, points=3)
    assert path.errors["toy"].tolist() == [0.0, 0.5, 0.0]
    assert path.barrier("toy") == 0.5
    end_loss = math.log1p(math.exp(-1))
    assert path.losses["toy"][[0, 2]] == pytest.approx([end_loss, end_loss], rel=1e-6)
    assert path.losses["toy"][1] == pytest.approx(math.log(2), rel=1e-6)
    assert path.losses["toy"][1] > max(path.losses["toy"][0], path.losses["toy"][2])


# -------------------------------------------------------------- error_barrier

ERRORS = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30)


@settings(max_examples=30, deadline=None)
@given(ERRORS)
def test_the_barrier_is_the_rise_of_the_path_above_its_ends(errors):
    barrier = error_barrier(errors)
    assert barrier >= 0.0
    assert barrier == pytest.approx(max(errors) - (errors[0] + errors[-1]) / 2, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(ERRORS, st.floats(-1.0, 1.0))
def test_the_barrier_does_not_change_when_every_error_shifts_alike(errors, shift):
    shifted = [e + shift for e in errors]
    if not all(0.0 <= e <= 1.0 for e in shifted):
        shift = -min(errors)  # a shift that stays in range
        shifted = [e + shift for e in errors]
    assert error_barrier(shifted) == pytest.approx(error_barrier(errors), abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(2, 30))
def test_a_flat_path_has_no_barrier(error, points):
    assert error_barrier([error] * points) == 0.0


@pytest.mark.parametrize("errors", [[], [0.1], [0.1, float("nan"), 0.2], [float("inf"), 0.1], [0.1, -float("inf")],
                                    [[0.1, 0.2], [0.3, 0.4]]],
                         ids=["empty", "one point", "nan", "inf", "-inf", "2-d"])
def test_error_barrier_refuses_what_is_no_path(errors):
    with pytest.raises(ValueError, match="at least 2 points"):
        error_barrier(errors)


# ------------------------------------------------------- instability_analysis

def test_copies_with_the_same_data_order_are_perfectly_stable(digits):
    model = masked_network()
    result = instability_analysis(model, digits, CONFIG, data_seeds=(7, 7), points=4)
    assert result.instability == 0.0 and result.train_instability == 0.0 and result.stable()
    errors, losses = result.path.errors["test"], result.path.losses["test"]
    assert errors[0] == errors[-1] and losses[0] == losses[-1]
    assert result.data_seeds == (7, 7) and result.start_iteration == 0 and result.density == model.density


def test_rewind_point_replays_the_first_updates_of_the_whole_run(digits):
    model = masked_network()
    early = rewind_point(model, digits, CONFIG, 20, seed=0)
    snapshot = train(model.copy(), digits, CONFIG, seed=0, snapshot_at=[20]).snapshots[20]
    for got, want in zip(arrays_of(early.get_parameters()), arrays_of(snapshot)):
        assert (got == want).all()
    assert all((a == b).all() for a, b in zip(early.masks, model.masks))
    untouched = rewind_point(model, digits, CONFIG, 0, seed=0)
    assert all((a == b).all() for a, b in zip(arrays_of(untouched.get_parameters()), arrays_of(model.get_parameters())))
    with pytest.raises(SettingError):
        rewind_point(model, digits, CONFIG, CONFIG.iterations, seed=0)


def test_the_analysis_trains_exactly_what_train_trains_from_the_same_start(digits):
    k, seeds = 20, (3, 4)
    start = rewind_point(masked_network(), digits, CONFIG, k, seed=0)
    before = start.get_parameters()
    result = instability_analysis(start, digits, CONFIG, start_iteration=k, data_seeds=seeds, points=4,
                                  train_examples=500)
    for index, seed in zip((0, -1), seeds):
        copy = start.copy()
        train(copy, digits, CONFIG, seed=seed, start_iteration=k)
        for name, (X, y) in (("test", (digits.X_test, digits.y_test)),
                             ("train", (digits.X_train[:500], digits.y_train[:500]))):
            error, loss = error_and_loss(copy, X, y)
            assert result.path.errors[name][index] == error, (name, seed)
            assert result.path.losses[name][index] == loss, (name, seed)
    assert result.start_iteration == k and result.data_seeds == seeds and result.density == start.density
    assert result.test_error == (result.path.errors["test"][0] + result.path.errors["test"][-1]) / 2
    assert result.instability == error_barrier(result.path.errors["test"])
    after = start.get_parameters()
    assert all((a == b).all() for a, b in zip(arrays_of(before), arrays_of(after))), "the analysed model changed"
    record = result.to_dict()
    assert record["instability"] == result.instability and len(record["path"]["alphas"]) == 4


def test_the_analysis_needs_a_test_set(digits):
    without_test = Dataset(digits.X_train, digits.y_train, digits.X_val, digits.y_val)
    with pytest.raises(ValueError, match="test set"):
        instability_analysis(masked_network(), without_test, CONFIG, points=3)


@pytest.mark.parametrize("arguments, setting", [
    ({"start_iteration": CONFIG.iterations}, "start_iteration"),
    ({"start_iteration": -1}, "start_iteration"),
    ({"data_seeds": (1,)}, "data_seeds"),
    ({"data_seeds": (1, 2, 3)}, "data_seeds"),
])
def test_a_bad_setting_of_the_analysis_is_named(digits, arguments, setting):
    with pytest.raises(SettingError) as error:
        instability_analysis(masked_network(), digits, CONFIG, **arguments)
    assert error.value.setting == setting


def test_dense_at_is_the_dense_network_at_k_with_the_mask_applied(digits):
    masks = half_masks(3)
    network = dense_at(SIZES, 0, digits, CONFIG, 10, masks)
    dense = dense_at(SIZES, 0, digits, CONFIG, 10)
    assert dense.density == 1.0
    expected = rewind_point(MLP(SIZES, seed=0), digits, CONFIG, 10, seed=0)
    assert all((a == b).all() for a, b in zip(dense.weights, expected.weights))
    kept = sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)
    assert network.density == kept
    for weights, dense_weights, mask in zip(network.weights, dense.weights, masks):
        assert (weights[mask == 0] == 0.0).all()
        assert (weights[mask == 1] == dense_weights[mask == 1]).all()


# ------------------------------------------------------------------ verdicts

@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.99))
def test_matching_is_within_the_tolerance_of_the_dense_error(dense_error):
    assert matching(dense_error, dense_error)
    assert matching(dense_error + MATCHING_TOLERANCE, dense_error)
    assert matching(max(dense_error - 0.1, 0.0), dense_error)
    assert not matching(dense_error + MATCHING_TOLERANCE + 1e-6, dense_error)
    assert matching(dense_error + 0.05, dense_error, tolerance=0.05)


def result_with_barrier(barrier: float) -> InstabilityResult:
    """An analysis whose test path rises by ``barrier`` above its ends, both of error 0."""
    errors = np.array([0.0, barrier, 0.0])
    path = LinearPath(np.array([0.0, 0.5, 1.0]), {"test": errors, "train": errors}, {"test": errors, "train": errors})
    return InstabilityResult(0, (1, 2), 1.0, path, 0.0)


@pytest.mark.parametrize("barrier, stable", [(0.0, True), (STABLE_BARRIER / 2, True), (STABLE_BARRIER - 1e-6, True),
                                             (STABLE_BARRIER, False), (STABLE_BARRIER + 1e-6, False), (0.5, False)])
def test_stable_means_an_instability_below_the_threshold(barrier, stable):
    result = result_with_barrier(barrier)
    assert result.instability == pytest.approx(barrier, abs=1e-12)
    assert result.stable() is stable
    assert result.stable(threshold=barrier + 1e-6) is True
    assert result.stable(threshold=barrier) is False
