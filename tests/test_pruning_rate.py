"""A fixed pruning rate per round (issue 11): the paper's schedule, its rounding, the builder and the CLI."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottery_np.cli import main
from lottery_np.data import load_digits
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, RewindStrategy
from lottery_np.pruning.loop import PruningSchedule
from lottery_np.pruning.masks import prune_layerwise
from lottery_np.pruning.options import PruningOptions
from lottery_np.pruning.schedule import fixed_rate_schedule
from lottery_np.validation import SettingError

LENET_LAYERS = [784 * 300, 300 * 100, 100 * 10]
QUICK = ["find-ticket", "--dataset", "digits", "--hidden", "32", "16", "--epochs", "2", "--eval-every", "10",
         "--rounds", "2", "--no-progress"]


def test_the_papers_fraction_remaining_after_rounds_3_7_12_15_18():
    """Pm of LeNet-300-100 at 20 % per round, the output layer at 10 %: the labels of Frankle & Carbin (2019),
    Figures 3 and 4 (51.3, 21.1, 7.0, 3.6 and 1.9 % remaining), to their one decimal."""
    counts = fixed_rate_schedule(LENET_LAYERS, [1.0, 1.0, 0.5], 0.2, 18)
    pm = 100 * counts.sum(axis=1) / sum(LENET_LAYERS)
    assert [round(pm[r], 1) for r in (3, 7, 12, 15, 18)] == [51.3, 21.1, 7.0, 3.6, 1.9]


def test_rounding_is_half_to_even():
    # 5 * 0.5 = 2.5 removes 2 (keeps 3); 3 * 0.5 = 1.5 removes 2 (keeps 1); then 1.5 -> 2 and 0.5 -> 0
    np.testing.assert_array_equal(fixed_rate_schedule([5, 3], [1.0, 1.0], 0.5, 2), [[5, 3], [3, 1], [1, 1]])


@given(
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
    rate=st.floats(0.01, 0.99),
    rounds=st.integers(1, 15),
    output_factor=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_every_round_removes_the_rounded_fraction_of_each_layers_survivors(sizes, rate, rounds, output_factor, seed):
    factors = [1.0] * (len(sizes) - 1) + [output_factor]
    counts = fixed_rate_schedule(sizes, factors, rate, rounds)
    assert counts.shape == (rounds + 1, len(sizes)) and counts[0].tolist() == sizes
    for r in range(1, rounds + 1):
        for layer, factor in enumerate(factors):
            survivors = int(counts[r - 1, layer])
            assert survivors - counts[r, layer] == round(rate * factor * survivors)  # Python's round: half to even
    assert (counts >= 0).all()
    rng = np.random.default_rng(seed)
    masks = [np.ones((1, n), np.float32) for n in sizes]
    for r in range(1, rounds + 1):  # pruning to the counts: masks only lose entries, and land on them
        weights = [rng.standard_normal((1, n)).astype(np.float32) for n in sizes]
        pruned = prune_layerwise(weights, masks, counts[r])
        assert all(((new == 1) <= (old == 1)).all() for new, old in zip(pruned, masks))
        assert [int(m.sum()) for m in pruned] == counts[r].tolist()
        masks = pruned


def test_global_scope_prunes_the_rate_of_all_survivors():
    options = PruningOptions(pruning_rate=0.2, pruning_rounds=3, scope="global")
    counts = PruningSchedule(MLP((64, 32, 10)), options).counts
    assert counts.tolist() == [2368, 1894, 1515, 1212]  # N(r) = N(r-1) - rint(0.2 N(r-1))


def test_the_seed_api_is_unchanged():
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.9).pruning_rounds(10)
              .rewind_strategy(RewindStrategy.Init).build())
    assert pruner.options.target_sparsity == 0.9 and pruner.options.pruning_rate is None
    assert PruningOptions().target_sparsity == 0.9


def test_the_fingerprint_names_the_rate():
    fingerprint = PruningOptions(pruning_rate=0.2).fingerprint()
    assert fingerprint["pruning_rate"] == 0.2 and fingerprint["target_sparsity"] is None
    assert PruningOptions().fingerprint()["pruning_rate"] is None


def test_pruning_rate_end_to_end_on_the_digits():
    data = load_digits()
    model = MLP((64, 32, 10), seed=0)
    pruner = (LotteryTicketPruner.builder().pruning_rate(0.2).pruning_rounds(3).iterations(40).eval_every(20)
              .build())
    pruner.find_ticket(model, data)
    counts = fixed_rate_schedule([64 * 32, 32 * 10], [1.0, 0.5], 0.2, 3)
    assert [[int(m.sum()) for m in t.masks] for t in pruner.tickets_] == counts.tolist()


@pytest.mark.parametrize("rate", [0, 1, 0.0, 1.5, -0.2, True, "0.2", float("nan")])
def test_a_bad_rate_is_refused_naming_it(rate):
    with pytest.raises(SettingError, match="pruning_rate must be") as caught:
        LotteryTicketPruner.builder().pruning_rate(rate).build()
    assert caught.value.setting == "pruning_rate"


def test_both_ways_of_saying_how_much_are_refused_naming_both():
    with pytest.raises(SettingError, match="target_sparsity or pruning_rate, not both") as caught:
        LotteryTicketPruner.builder().target_sparsity(0.9).pruning_rate(0.2).build()
    assert caught.value.setting == "pruning_rate"


def test_a_rate_that_empties_a_layer_is_refused_before_training():
    options = PruningOptions(pruning_rate=0.9, pruning_rounds=3)  # the first layer: 8 -> 1 -> 0 weights
    with pytest.raises(SettingError, match="pruning_rate must be low enough to keep a weight in every layer"):
        PruningSchedule(MLP((4, 2, 2)), options)


def test_the_command_line_takes_a_rate_and_records_it(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main([*QUICK, "--pruning-rate", "0.2", "--out", str(run_dir)]) == 0
    assert "winning ticket: round" in capsys.readouterr().out
    settings = json.loads((run_dir / "settings.json").read_text())
    assert settings["pruning_rate"] == 0.2 and settings["target_sparsity"] is None
    history = json.loads((run_dir / "history.json").read_text())["history"]
    counts = fixed_rate_schedule([64 * 32, 32 * 16, 16 * 10], [1.0, 1.0, 0.5], 0.2, 2)
    assert [row["density"] for row in history] == pytest.approx((counts.sum(axis=1) / counts[0].sum()).tolist())


@pytest.mark.parametrize("arguments, named", [
    (["--pruning-rate", "1"], "--pruning-rate"),
    (["--pruning-rate", "0"], "--pruning-rate"),
    (["--pruning-rate", "0.2", "--target-sparsity", "0.9"], "--target-sparsity"),
])
def test_a_bad_rate_on_the_command_line_costs_one_line(arguments, named, tmp_path, capsys):
    assert main([*QUICK, "--out", str(tmp_path / "run"), *arguments]) != 0
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1 and named in err, err
    assert "--pruning-rate" in err
