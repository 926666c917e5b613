"""Rewinding restores the snapshot bit for bit under the mask, and resets the optimizer."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottery_np.model import MLP
from lottery_np.optim import Adam
from lottery_np.pruning import Rewinder, RewindStrategy


@given(seed=st.integers(0, 2**31 - 1), density=st.floats(0.0, 1.0))
def test_rewind_restores_survivors_exactly_and_zeroes_the_pruned(seed, density):
    rng = np.random.default_rng(seed)
    model = MLP((12, 8, 5), seed=seed % 1000)
    rewinder = Rewinder(model.get_parameters())
    snapshot = rewinder.snapshot.copy()
    optimizer = Adam(0.1)
    X, y = rng.random((9, 12), dtype=np.float32), rng.integers(0, 5, 9)
    for _ in range(3):  # train away from the snapshot and build optimizer state
        optimizer.step(model, *model.loss_and_gradients(X, y)[1:])
    masks = [(rng.random(w.shape) < density).astype(np.float32) for w in model.weights]
    model.set_masks(masks)
    rewinder.rewind(model, optimizer)
    for w, s, m in zip(model.weights, snapshot.weights, masks):
        alive = m == 1
        assert np.array_equal(w[alive].view(np.uint32), s[alive].view(np.uint32))  # bit for bit
        assert np.array_equal(w[~alive].view(np.uint32), np.zeros((~alive).sum(), np.uint32))  # +0.0 exactly
    for b, s in zip(model.biases, snapshot.biases):
        assert np.array_equal(b, s)
    assert optimizer.iterations == 0 and optimizer._state is None


def test_rewinder_keeps_its_own_copy():
    model = MLP((4, 3), seed=0)
    rewinder = Rewinder(model.get_parameters())
    expected = model.weights[0].copy()
    model.weights[0] += 1
    rewinder.rewind(model)
    np.testing.assert_array_equal(model.weights[0], expected)


@pytest.mark.parametrize("text, strategy", [
    ("init", RewindStrategy.Init),
    ("lr", RewindStrategy.LearningRate),
    ("iteration:250", RewindStrategy.Iteration(250)),
])
def test_strategies_parse_and_print(text, strategy):
    assert RewindStrategy.parse(text) == strategy
    assert str(strategy) == text


def test_strategy_properties():
    assert RewindStrategy.Init.start_iteration == 0 and not RewindStrategy.Init.keeps_trained_weights
    assert RewindStrategy.Iteration(7).start_iteration == 7
    assert RewindStrategy.LearningRate.keeps_trained_weights


@pytest.mark.parametrize("bad", ["iteration:", "iteration:-3", "rewind", ""])
def test_bad_strategy_text_is_rejected(bad):
    with pytest.raises(ValueError, match="rewind must be"):
        RewindStrategy.parse(bad)


@pytest.mark.parametrize("bad", [-1, 2.5, "3"])
def test_bad_rewind_iteration_is_rejected(bad):
    with pytest.raises(ValueError, match="rewind_iteration must be an integer >= 0"):
        RewindStrategy.Iteration(bad)
