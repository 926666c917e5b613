"""The paper's claims measured on a grid's runs: hand-made runs whose every number is known."""
import pytest

from lottery_np.experiment.paper_claims import PAPER, format_claims, measure_claims


def run(method, seed, rows):
    """A run of ``method`` whose records are ``(round, density, early-stopping iteration, test accuracy)``."""
    return {"method": method, "seed": seed, "records": [
        {"pruning_round": r, "density": d, "early_stop_iteration": es, "early_stop_test_accuracy": acc}
        for r, d, es, acc in rows]}


# Pm 100, 51.2, 21.0, 13.4, 3.5 %; the two seeds differ by +-100 iterations and +-0.001 accuracy.
TICKET = [(0, 1.0, 1000, 0.980), (3, 0.512, 800, 0.982), (7, 0.210, 600, 0.984), (9, 0.134, 700, 0.985),
          (15, 0.035, 1100, 0.979)]


def grid():
    runs = []
    for seed, shift in ((0, -1), (1, 1)):
        runs.append(run("lottery_ticket", seed, [(r, d, es + 100 * shift, acc + 0.001 * shift)
                                                 for r, d, es, acc in TICKET]))
        runs.append(run("random_reinit", seed, [(7, 0.210, 1500 + 100 * shift, 0.979)]))
        runs.append(run("one_shot", seed, [(0, 1.0, 1000, 0.98), (7, 0.210, 900, 0.981)]))
    return runs


def test_every_claim_is_measured_from_the_runs():
    ours = measure_claims(grid())
    assert set(ours) == {key for key, _, _ in PAPER}
    assert ours["dense"] == "98.00 % [97.90, 98.10]"
    assert ours["fastest_pm"].startswith("21.0 % (round 7, iteration 600 against 1,000 dense)")
    assert ours["earlier_at_21"].startswith("40 % earlier at Pm 21.0 %")
    assert ours["gain_at_13_5"] == "+0.50 points at Pm 13.4 %"
    assert ours["back_to_dense"].startswith("3.5 % (round 15; 13.4 % is still above")
    assert ours["reinit_at_21"].startswith("at Pm 21.0 %: ticket 2.50x faster (600 against 1,500), +0.50 points")
    assert ours["one_shot"] == "Pm 21.0 %: ES 600 vs 900, acc 98.40 vs 98.10 %"  # round 0 is the dense network


def test_a_ticket_that_never_falls_below_dense_says_so_and_missing_controls_are_named():
    runs = [run("lottery_ticket", 0, [(0, 1.0, 1000, 0.98), (3, 0.5, 900, 0.99)])]
    ours = measure_claims(runs)
    assert ours["back_to_dense"] == "never, within the run" and "reinit_at_21" not in ours
    table = format_claims(runs)
    assert table.count("\n") == len(PAPER) + 1 and "not measured in this run" in table
    assert "38 % earlier (Section 2, Figure 4a)" in table


@pytest.mark.parametrize("key", [key for key, _, _ in PAPER])
def test_every_paper_number_cites_where_it_stands(key):
    paper = dict((k, p) for k, _, p in PAPER)[key]
    assert "Section" in paper or "Figure" in paper
