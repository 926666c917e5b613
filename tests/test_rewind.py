"""RewindStrategy: its members, its text, and the one restart point every pruner's loop reads from it."""
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottery_np.model import MLP, Parameters
from lottery_np.pruning import RewindStrategy


def parameters(seed):
    return MLP((6, 4, 3), seed=seed).get_parameters()


@pytest.mark.parametrize("strategy, expected", [
    (RewindStrategy.Init, "initial"),
    (RewindStrategy.Iteration(0), "initial"),  # iteration 0 of the dense run is its initialization
    (RewindStrategy.Iteration(5), "snapshot"),
    (RewindStrategy.LearningRate, "trained"),
])
def test_each_strategy_restarts_from_the_weights_it_names(strategy, expected):
    points = {"initial": parameters(0), "snapshot": parameters(1), "trained": parameters(2)}
    assert strategy.restart_point(points["initial"], points["snapshot"], points["trained"]) is points[expected]


@given(seed=st.integers(0, 2**31 - 1), density=st.floats(0.0, 1.0))
def test_restarting_restores_survivors_exactly_and_zeroes_the_pruned(seed, density):
    rng = np.random.default_rng(seed)
    model = MLP((12, 8, 5), seed=seed % 1000)
    initial = model.get_parameters()
    model.set_parameters(Parameters([w + rng.standard_normal(w.shape, dtype=np.float32) for w in initial.weights],
                                    [b + np.float32(1) for b in initial.biases]))  # as if trained
    masks = [(rng.random(w.shape) < density).astype(np.float32) for w in model.weights]
    model.set_masks(masks)
    model.set_parameters(RewindStrategy.Init.restart_point(initial, None, model.get_parameters()))
    for w, s, m in zip(model.weights, initial.weights, masks):
        alive = m == 1
        assert np.array_equal(w[alive].view(np.uint32), s[alive].view(np.uint32))  # bit for bit
        assert np.array_equal(w[~alive].view(np.uint32), np.zeros((~alive).sum(), np.uint32))  # +0.0 exactly
    for b, s in zip(model.biases, initial.biases):
        assert np.array_equal(b, s)


def test_members_are_defined_in_the_class_body_and_are_strategies():
    for name in ("Init", "LearningRate"):
        assert name in vars(RewindStrategy)  # not patched in after the class
        member = getattr(RewindStrategy, name)
        assert isinstance(member, RewindStrategy) and member is getattr(RewindStrategy, name)
    assert RewindStrategy.Init != RewindStrategy.LearningRate != RewindStrategy.Iteration(0)


@pytest.mark.parametrize("strategy", [RewindStrategy.Init, RewindStrategy.LearningRate, RewindStrategy.Iteration(7)])
def test_strategies_pickle_hash_and_compare(strategy):
    copy = pickle.loads(pickle.dumps(strategy))  # the benchmark sends them to worker processes
    assert copy == strategy and hash(copy) == hash(strategy) and {strategy: 1}[copy] == 1
    if strategy.kind != "iteration":
        assert copy is strategy
    assert RewindStrategy.Iteration(7) == RewindStrategy.Iteration(7) != RewindStrategy.Iteration(8)


@pytest.mark.parametrize("text, strategy, shown", [
    ("init", RewindStrategy.Init, "RewindStrategy.Init"),
    ("lr", RewindStrategy.LearningRate, "RewindStrategy.LearningRate"),
    ("iteration:250", RewindStrategy.Iteration(250), "RewindStrategy.Iteration(250)"),
])
def test_strategies_parse_and_print(text, strategy, shown):
    assert RewindStrategy.parse(text) == strategy
    assert str(strategy) == text and repr(strategy) == shown


def test_strategy_properties():
    assert RewindStrategy.Init.start_iteration == 0 and not RewindStrategy.Init.keeps_trained_weights
    assert RewindStrategy.Init.snapshot_iteration is None
    assert RewindStrategy.Iteration(7).start_iteration == 7 == RewindStrategy.Iteration(7).snapshot_iteration
    assert RewindStrategy.LearningRate.keeps_trained_weights and RewindStrategy.LearningRate.start_iteration == 0


@pytest.mark.parametrize("bad", ["iteration:", "iteration:-3", "rewind", ""])
def test_bad_strategy_text_is_rejected(bad):
    with pytest.raises(ValueError, match="rewind must be"):
        RewindStrategy.parse(bad)


@pytest.mark.parametrize("bad", [-1, 2.5, "3"])
def test_bad_rewind_iteration_is_rejected(bad):
    with pytest.raises(ValueError, match="rewind_iteration must be an integer >= 0"):
        RewindStrategy.Iteration(bad)


def test_a_strategy_built_by_hand_is_checked():
    with pytest.raises(ValueError, match="kind must be one of"):
        RewindStrategy("late")
    with pytest.raises(ValueError, match="iteration must be 0 for the 'init' strategy, got 3"):
        RewindStrategy("init", 3)
