"""Training that has failed says so: divergence raises, and no round at chance becomes a ticket.

The learning rates below are the cases that used to finish with exit status 0 and a
"winning ticket" at chance accuracy on the digits.
"""
import math

import numpy as np
import pytest

from lottery_np.cli import main
from lottery_np.data import load_digits
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, MagnitudePruner
from lottery_np.pruning.record import RoundRecord
from lottery_np.failure import DIVERGENCE_FACTOR, DidNotLearnError, TrainingDivergedError, check_divergence, learned
from lottery_np.training import TrainingConfig, train

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")


def pruner(optimizer, learning_rate, rounds=2):
    return (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(rounds).epochs(10).eval_every(20)
            .optimizer(optimizer, learning_rate).build())


@pytest.mark.parametrize("optimizer, learning_rate", [("adam", 10), ("adam", 1e3), ("adam", 1e6), ("sgd", 10)])
def test_a_failed_dense_run_never_reports_a_ticket(optimizer, learning_rate):
    with pytest.raises((TrainingDivergedError, DidNotLearnError)) as caught:
        pruner(optimizer, learning_rate).find_ticket(MLP((64, 300, 100, 10), seed=0), load_digits())
    message = str(caught.value)
    assert f"{learning_rate:g}" in message or "did not learn" in message
    if caught.type is TrainingDivergedError:
        assert "iteration" in message and "learning_rate" in message


def test_divergence_names_the_iteration_the_loss_and_the_learning_rate():
    with pytest.raises(TrainingDivergedError, match=r"iteration 20: the validation loss is [0-9.e+]+ .*now 1000"):
        train(MLP((64, 300, 100, 10), seed=0), load_digits(), TrainingConfig(iterations=100, eval_every=20,
                                                                             learning_rate=1e3), seed=0)


def test_a_dense_network_that_did_not_learn_is_named_as_such():
    with pytest.raises(DidNotLearnError, match="the dense network did not learn: validation accuracy"):
        pruner("sgd", 0.5).find_ticket(MLP((64, 300, 100, 10), seed=0), load_digits())
    with pytest.raises(DidNotLearnError):
        (MagnitudePruner.builder().pretrained().pruning_rounds(1).target_sparsity(0.5).iterations(20)
         .build().prune(MLP((64, 16, 10), seed=0), load_digits()))  # an untrained "pretrained" network


def test_the_divergence_rule_cannot_fire_on_a_healthy_run():
    # The rule's ceiling is ten times chance level; a healthy run starts near chance and goes down.
    data = load_digits()
    result = train(MLP((64, 300, 100, 10), seed=0), data, TrainingConfig(epochs=30, eval_every=20), seed=0)
    ceiling = DIVERGENCE_FACTOR * math.log(10)
    assert max(result.curve.val_loss) < ceiling / 8
    assert result.curve.val_loss[0] < 1.2 * math.log(10)
    assert learned(result.early_stop_val_accuracy, data.y_val)


@pytest.mark.parametrize("loss", [math.nan, math.inf, 10.1 * math.log(10)])
def test_check_divergence_refuses_non_finite_and_huge_losses(loss):
    with pytest.raises(TrainingDivergedError, match="iteration 7"):
        check_divergence(loss, 7, 10, "validation loss", "advice")
    check_divergence(9.9 * math.log(10), 7, 10, "validation loss", "advice")  # just below: no error


def test_learned_is_a_three_sigma_test_against_the_majority_class():
    y = np.array([0] * 500 + [1] * 500)  # majority share 0.5, standard deviation 0.0158 for n = 1000
    assert not learned(0.5, y)
    assert not learned(0.5 + 2.9 * 0.0158, y)
    assert learned(0.5 + 3.1 * 0.0158, y)
    assert not learned(0.9, np.array([1] * 95 + [0] * 5))  # always guessing 1 scores 0.95


def record(pruning_round, density, accuracy):
    return RoundRecord(pruning_round, density, [density], accuracy, accuracy, 0, accuracy, accuracy, 0.0)


def test_a_round_at_chance_is_never_selected_whatever_the_tolerance():
    history = [record(0, 1.0, 0.95), record(1, 0.5, 0.93), record(2, 0.25, 0.10)]
    lenient = LotteryTicketPruner.builder().accuracy_tolerance(0.99).build()
    assert lenient.select_round(history) == 2
    assert lenient.select_round(history, [True, True, False]) == 1


def test_the_command_line_fails_with_one_line_on_divergence(tmp_path, capsys):
    status = main(["find-ticket", "--dataset", "digits", "--epochs", "2", "--eval-every", "20", "--rounds", "1",
                   "--learning-rate", "1000", "--no-progress", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "training diverged at iteration 20" in err, err


def test_a_high_loss_before_the_first_update_is_where_a_run_starts_not_divergence():
    model = MLP((64, 32, 10), seed=0)
    model.weights[1] *= 300  # logits in the hundreds: a validation loss far above ten times chance
    start = model.loss(load_digits().X_val, load_digits().y_val)
    assert start > DIVERGENCE_FACTOR * math.log(10)
    result = train(model, load_digits(), TrainingConfig(iterations=300, eval_every=300), seed=0)
    assert result.curve.val_loss[0] == start and result.curve.val_loss[-1] < DIVERGENCE_FACTOR * math.log(10)
