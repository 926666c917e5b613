"""MagnitudePruner: prune the trained network and fine-tune without rewinding."""
import numpy as np
import pytest

from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, MagnitudePruner, RewindStrategy
from lottery_np.training import TrainingConfig, train

SIZES = (64, 24, 10)


def test_one_shot_pruning_fine_tunes_the_trained_weights(tiny_digits):
    trained = MLP(SIZES, seed=0)
    train(trained, tiny_digits, TrainingConfig(iterations=60), seed=0)
    pruner = (MagnitudePruner.builder().target_sparsity(0.75).pruning_rounds(1).iterations(60)
              .fine_tune_iterations(30).pretrained().build())
    assert pruner.fine_tune_config.learning_rate == pytest.approx(1.2e-4)
    result = pruner.prune(trained, tiny_digits)
    assert result.model.density == pytest.approx(0.25, abs=1e-3)
    assert result.history[0].density == 1.0 and result.history[0].curve["iterations"] == [0]
    assert result.history[0].final_test_accuracy == pytest.approx(trained.accuracy(tiny_digits.X_test, tiny_digits.y_test))
    assert result.record.curve["iterations"][-1] == 30
    # The pruned network's smallest surviving weights are at least as large as the pruned ones were.
    kept = np.abs(trained.weights[0])[result.model.masks[0] == 1]
    pruned = np.abs(trained.weights[0])[result.model.masks[0] == 0]
    assert kept.min() >= pruned.max()
    # Fine-tuning starts from the trained weights under the new mask (nothing rewound) and improves them.
    start = trained.copy()
    start.set_masks(result.model.masks)
    curve = result.record.curve
    assert curve["val_accuracy"][0] == start.accuracy(tiny_digits.X_val, tiny_digits.y_val)
    assert curve["val_loss"][-1] < curve["val_loss"][0]


def test_iterative_pruning_trains_the_dense_network_first(tiny_digits):
    result = (MagnitudePruner.builder().target_sparsity(0.9).pruning_rounds(3).iterations(40).eval_every(20)
              .fine_tune_epochs(1).fine_tune_learning_rate(1e-3).build().prune(MLP(SIZES, seed=0), tiny_digits))
    assert [r.pruning_round for r in result.history] == [0, 1, 2, 3]
    assert result.history[0].curve["iterations"][-1] == 40
    assert result.history[1].curve["iterations"][-1] == 1200 // 60
    assert result.model.density == pytest.approx(0.1, abs=1e-3)


def test_fine_tuning_is_learning_rate_rewinding_with_another_schedule(tiny_digits):
    """One restart path: fine-tuning on the original schedule is IMP with ``RewindStrategy.LearningRate``, bit for bit."""
    def configure(builder):
        return builder.target_sparsity(0.8).pruning_rounds(2).iterations(40).eval_every(20).learning_rate(1e-3)

    fine_tuned = (configure(MagnitudePruner.builder()).fine_tune_iterations(40).fine_tune_learning_rate(1e-3).build()
                  .prune(MLP(SIZES, seed=0), tiny_digits))
    lottery = configure(LotteryTicketPruner.builder()).rewind_strategy(RewindStrategy.LearningRate).build()
    lottery.find_ticket(MLP(SIZES, seed=0), tiny_digits)
    strip = lambda history: [{k: v for k, v in r.to_dict().items() if k != "wall_time"} for r in history]
    assert strip(fine_tuned.history) == strip(lottery.tickets_[-1].history)
    assert all(np.array_equal(a, b) for a, b in zip(fine_tuned.model.masks, lottery.tickets_[-1].masks))


def test_bad_fine_tuning_settings_are_rejected():
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        MagnitudePruner.builder().fine_tune_iterations(-5).build()
    with pytest.raises(ValueError, match="learning_rate"):
        MagnitudePruner.builder().fine_tune_learning_rate(0).build()
    with pytest.raises(TypeError, match="model must be an MLP"):
        MagnitudePruner.builder().build().prune(None, None)
