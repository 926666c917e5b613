"""Exact replay: each epoch's data order is a function of (seed, epoch), so a restart replays the original run.

With all-ones masks and a stateless optimizer (SGD without momentum: no moments to
rewind), a run restarted from the dense run's snapshot at iteration ``k`` must equal
the dense run bit for bit at every later evaluation, wherever ``k`` falls: inside the
first epoch, exactly on an epoch boundary, or inside a later epoch. Adam's moments are
not part of a snapshot (rewinding resets them, as the paper does), so with Adam only
the data order is replayed; that is what late rewinding needs.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottery_np.model import MLP
from lottery_np.training import TrainingConfig, epoch_order, train

BATCHES_PER_EPOCH = 20  # tiny_digits: 1,200 training images, batches of 60


@pytest.mark.parametrize("k", [7, BATCHES_PER_EPOCH, 2 * BATCHES_PER_EPOCH + 7],
                         ids=["inside-epoch-0", "epoch-boundary", "inside-epoch-2"])
def test_a_run_restarted_at_k_equals_the_original_bit_for_bit(tiny_digits, k):
    config = TrainingConfig(iterations=3 * BATCHES_PER_EPOCH + 10, eval_every=5, optimizer="sgd",
                            learning_rate=0.05, momentum=0.0)
    original = MLP((64, 32, 10), seed=3)
    full = train(original, tiny_digits, config, seed=11, snapshot_at=[k])

    restarted = MLP((64, 32, 10), seed=3)
    restarted.set_parameters(full.snapshots[k])
    replay = train(restarted, tiny_digits, config, seed=11, start_iteration=k)

    # The restart evaluates at k itself, then on the original's schedule (every 5 and at the end).
    later = [i for i, iteration in enumerate(full.curve.iterations) if iteration > k]
    assert [full.curve.iterations[i] for i in later] == replay.curve.iterations[1:]
    for key in ("val_loss", "val_accuracy", "test_accuracy"):
        assert [getattr(full.curve, key)[i] for i in later] == getattr(replay.curve, key)[1:], key
    # The mean training loss of the period around k averages fewer batches in the restart; later ones agree.
    assert [full.curve.train_loss[i] for i in later[1:]] == replay.curve.train_loss[2:]
    for w, w_replayed in zip(original.weights + original.biases, restarted.weights + restarted.biases):
        np.testing.assert_array_equal(w, w_replayed)


def test_the_restart_sees_a_different_order_under_another_seed(tiny_digits):
    # The test above can fail: a restart whose batches differ ends elsewhere.
    config = TrainingConfig(iterations=50, eval_every=10, optimizer="sgd", learning_rate=0.05, momentum=0.0)
    original = MLP((64, 32, 10), seed=3)
    full = train(original, tiny_digits, config, seed=11, snapshot_at=[25])
    restarted = MLP((64, 32, 10), seed=3)
    restarted.set_parameters(full.snapshots[25])
    train(restarted, tiny_digits, config, seed=12, start_iteration=25)
    assert not np.array_equal(original.weights[0], restarted.weights[0])


@given(seed=st.integers(0, 2**32 - 1), epoch=st.integers(0, 10_000), n=st.integers(1, 500))
def test_an_epoch_order_is_a_permutation_drawn_from_seed_and_epoch_alone(seed, epoch, n):
    order = epoch_order(seed, epoch, n)
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    np.testing.assert_array_equal(order, epoch_order(seed, epoch, n))


def test_epochs_and_seeds_draw_different_orders():
    orders = {epoch_order(seed, epoch, 1000).tobytes() for seed in range(3) for epoch in range(3)}
    assert len(orders) == 9
