"""The ``criterion`` setting: IMP prunes each round by any of Zhou et al.'s criteria, through the builder and the
command line, with exact counts, masks that only shrink, and checkpoints that tell the criteria apart."""
import json

import numpy as np
import pytest

from lottery_np import schema
from lottery_np.cli import main
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, PruningOptions, RewindStrategy
from lottery_np.pruning.criteria import criterion_masks
from lottery_np.pruning.loop import PruningSchedule
from lottery_np.training import train
from lottery_np.validation import SettingError

SIZES = (64, 24, 10)


def _pruner(criterion: str, rounds: int = 2, **settings):
    return (LotteryTicketPruner.builder().target_sparsity(0.7).pruning_rounds(rounds).iterations(60).eval_every(20)
            .criterion(criterion).rewind_strategy(RewindStrategy.Init).configure(**settings).build())


@pytest.mark.parametrize("criterion", schema.CRITERIA)
def test_each_round_keeps_the_criterions_choice_at_the_schedules_counts(criterion, tiny_digits):
    pruner = _pruner(criterion)
    pruner.find_ticket(MLP(SIZES, seed=1), tiny_digits)
    tickets = pruner.tickets_
    counts = [[int(m.sum()) for m in t.masks] for t in tickets]
    for before, after in zip(tickets, tickets[1:]):
        assert all(((a == 1) <= (b == 1)).all() for a, b in zip(after.masks, before.masks)), "a mask revived a weight"
    schedule = PruningSchedule(MLP(SIZES, seed=1), pruner.options).counts
    assert counts == [list(map(int, row)) for row in schedule]


def test_round_one_is_the_criterion_applied_to_the_dense_round(tiny_digits):
    pruner = _pruner("small_final", rounds=1)
    pruner.find_ticket(MLP(SIZES, seed=1), tiny_digits)
    dense, pruned = pruner.tickets_
    # The dense round's trained weights are what round 1 was pruned from: rebuild them by training again.
    model = MLP(SIZES, seed=1)
    train(model, tiny_digits, pruner.options.training, seed=pruner.options.seed)
    counts = [int(m.sum()) for m in pruned.masks]
    expected = criterion_masks("small_final", dense.initial.weights, model.weights, dense.masks, counts)
    assert all(np.array_equal(a, b) for a, b in zip(pruned.masks, expected))
    kept = [np.abs(w)[m == 1] for w, m in zip(model.weights, pruned.masks)]
    dropped = [np.abs(w)[(m == 0) & (d == 1)] for w, m, d in zip(model.weights, pruned.masks, dense.masks)]
    assert all(k.max() <= d.min() for k, d in zip(kept, dropped)), "small_final kept a larger weight than it pruned"


def test_large_final_is_the_default_and_gives_the_same_ticket(tiny_digits):
    a, b = _pruner("large_final"), (LotteryTicketPruner.builder().target_sparsity(0.7).pruning_rounds(2)
                                    .iterations(60).eval_every(20).build())
    assert b.options.criterion == "large_final"
    ta, tb = a.find_ticket(MLP(SIZES, seed=1), tiny_digits), b.find_ticket(MLP(SIZES, seed=1), tiny_digits)
    assert all(np.array_equal(x, y) for x, y in zip(ta.masks + ta.weights, tb.masks + tb.weights))


def test_the_fingerprint_names_a_criterion_only_when_it_is_not_magnitude():
    assert "criterion" not in PruningOptions().fingerprint()
    assert PruningOptions(criterion="movement").fingerprint()["criterion"] == "movement"


def test_an_unknown_criterion_is_refused_naming_the_choices():
    with pytest.raises(SettingError, match="criterion.*large_final"):
        PruningOptions(criterion="largest")


def test_the_command_line_prunes_by_a_criterion_and_refuses_to_resume_under_another(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["find-ticket", "--dataset", "digits", "--hidden", "16", "--iterations", "40", "--eval-every", "20",
              "--rounds", "1", "--target-sparsity", "0.5", "--out", str(out), "--no-progress"]
    assert main(common + ["--criterion", "small_init"]) == 0
    settings = json.loads((out / "settings.json").read_text())
    assert settings["criterion"] == "small_init"
    assert main(common + ["--criterion", "movement", "--resume"]) != 0
    assert "criterion" in capsys.readouterr().err
