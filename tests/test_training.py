"""The trainer: learning, reproducibility, early stopping, snapshots, divergence."""
import math

import numpy as np
import pytest

from lottery_np.model import MLP
from lottery_np.training import TrainingConfig, TrainingDivergedError, train


def test_training_learns_and_records_the_curve(tiny_digits):
    model = MLP((64, 32, 10), seed=0)
    result = train(model, tiny_digits, TrainingConfig(epochs=5, eval_every=25, learning_rate=5e-3), seed=0)
    assert result.iterations == 5 * (1200 // 60)
    assert result.curve.iterations == list(range(0, 101, 25))
    assert result.final_val_accuracy > 0.9 and result.final_test_accuracy > 0.8
    best = int(np.argmin(result.curve.val_loss))
    assert result.early_stop_iteration == result.curve.iterations[best]
    assert result.early_stop_val_accuracy == result.curve.val_accuracy[best]
    assert result.iterations_to_reach(0.0) == 0 and result.iterations_to_reach(1.01) is None


def test_same_seed_gives_bit_identical_weights(tiny_digits):
    config = TrainingConfig(iterations=60, eval_every=30)
    runs = []
    for seed in (7, 7, 8):
        model = MLP((64, 16, 10), seed=0)
        result = train(model, tiny_digits, config, seed=seed)
        runs.append((model, result))
    (a, ra), (b, rb), (c, _) = runs
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    assert ra.curve.val_loss == rb.curve.val_loss
    assert not np.array_equal(a.weights[0], c.weights[0])  # another shuffling seed, another result


def test_snapshots_hold_the_weights_at_that_iteration(tiny_digits):
    model = MLP((64, 16, 10), seed=0)
    initial = model.get_parameters()
    result = train(model, tiny_digits, TrainingConfig(iterations=30), seed=0, snapshot_at=[0, 10])
    np.testing.assert_array_equal(result.snapshots[0].weights[0], initial.weights[0])
    replay = MLP((64, 16, 10), seed=0)
    train(replay, tiny_digits, TrainingConfig(iterations=10), seed=0)
    np.testing.assert_array_equal(result.snapshots[10].weights[1], replay.weights[1])


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_divergence_stops_with_a_clear_error(tiny_digits):
    model = MLP((64, 16, 10), seed=0)
    model.weights[0][:] = np.inf
    with pytest.raises(TrainingDivergedError, match="iteration 0: .*starting weights"):
        train(model, tiny_digits, TrainingConfig(iterations=5), seed=0)


def test_test_set_is_optional(tiny_digits):
    from types import SimpleNamespace

    data = SimpleNamespace(**{**vars(tiny_digits), "X_test": None, "y_test": None})
    result = train(MLP((64, 8, 10)), data, TrainingConfig(iterations=5), seed=0)
    assert math.isnan(result.final_test_accuracy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of iterations and epochs"),
        ({"iterations": 5, "epochs": 1}, "exactly one"),
        ({"iterations": 0}, "iterations must be an integer >= 1"),
        ({"epochs": -1}, "epochs must be a finite number > 0"),
        ({"iterations": 5, "batch_size": 0}, "batch_size"),
        ({"iterations": 5, "eval_every": 2.5}, "eval_every"),
        ({"iterations": 5, "optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"iterations": 5, "learning_rate": -1}, "learning_rate"),
    ],
)
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**kwargs)


def test_bad_data_and_snapshots_are_rejected(tiny_digits):
    model = MLP((10, 4, 10))
    with pytest.raises(ValueError, match="training set: X must have shape"):
        train(model, tiny_digits, TrainingConfig(iterations=1))
    with pytest.raises(ValueError, match="snapshot_at"):
        train(MLP((64, 4, 10)), tiny_digits, TrainingConfig(iterations=3), snapshot_at=[5])
    with pytest.raises(ValueError, match="batch_size"):
        train(MLP((64, 4, 10)), tiny_digits, TrainingConfig(iterations=3, batch_size=5000))
