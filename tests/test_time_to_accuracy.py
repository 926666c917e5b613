"""The time each method takes to reach the winning ticket's accuracy, against IMP's search, on hand-built runs."""
import math

import pytest

from lottery_np.experiment.time_to_accuracy import closest_round, format_time_to_accuracy, time_to_ticket_accuracy


def record(r, density, accuracies, seconds):
    return {"pruning_round": r, "density": density, "wall_time": seconds, "early_stop_test_accuracy": max(accuracies),
            "curve": {"iterations": [0, 100, 200, 400], "test_accuracy": accuracies}}


def imp(seed):
    return {"method": "lottery_ticket", "seed": seed, "records": [
        record(0, 1.0, [0.1, 0.90, 0.95, 0.96], 20.0),
        record(1, 0.2, [0.1, 0.93, 0.96, 0.97], 8.0),
        record(2, 0.04, [0.1, 0.95, 0.98, 0.97], 4.0)]}


def method(name, seed, accuracies, seconds=2.0):
    return {"method": name, "seed": seed, "records": [record(1, 0.2, [0.1, 0.5, 0.6, 0.7], 3.0),
                                                      record(2, 0.04, accuracies, seconds)]}


def test_the_seconds_to_the_first_evaluation_at_the_target_and_the_whole_search():
    runs = [imp(0), method("rigl", 0, [0.1, 0.5, 0.975, 0.99]), method("snip", 0, [0.1, 0.5, 0.9, 0.97])]
    rows = {row["method"]: row for row in time_to_ticket_accuracy(runs, 2)}
    # target 0.98, reached by the ticket at iteration 200 of 400 (2 s of its 4 s), after 28 s of rounds 0 and 1
    assert rows["lottery_ticket"]["search_seconds"] == 30.0 == rows["lottery_ticket"]["seconds"]
    assert rows["rigl"]["seconds"] == 2.0 and rows["snip"]["seconds"] is None  # 0.99 at iteration 400 of 400
    assert rows["rigl"]["target"] == 0.98
    within = {row["method"]: row for row in time_to_ticket_accuracy(runs, 2, tolerance=0.006)}
    assert within["rigl"]["seconds"] == 1.0 and within["snip"]["seconds"] is None  # 0.975 >= 0.974 at 200
    assert within["lottery_ticket"]["search_seconds"] == 28.0 + 2.0


def test_each_seed_is_held_to_its_own_ticket():
    runs = [imp(0), imp(1), method("rigl", 0, [0.1, 0.99, 0.99, 0.99]), method("rigl", 2, [0.1, 0.99, 0.99, 0.99])]
    rows = time_to_ticket_accuracy(runs, 2)
    assert [(row["method"], row["seed"]) for row in rows] == [("lottery_ticket", 0), ("lottery_ticket", 1),
                                                              ("rigl", 0)]  # seed 2 has no ticket


def test_the_table_says_never_and_the_share_of_the_search():
    runs = [imp(0), imp(1), method("rigl", 0, [0.1, 0.5, 0.99, 0.99]), method("rigl", 1, [0.1, 0.5, 0.5, 0.5]),
            method("snip", 0, [0.1, 0.2, 0.3, 0.4])]
    table = format_time_to_accuracy(time_to_ticket_accuracy(runs, 2)).splitlines()
    rigl = table[2].split()
    assert rigl[:3] == ["rigl", "1/2", "1.0"] and float(rigl[-1]) == pytest.approx(1.0 / 30.0, abs=5e-4)
    assert table[3].split()[-1] == "never" and table[1].split()[-1] == "1.000"


def test_the_closest_round_to_a_density():
    assert closest_round([imp(0)], 0.05) == 2 and closest_round([imp(0)], 0.3) == 1
    assert closest_round([method("rigl", 0, [0.1] * 4)], 0.05) is None
    assert math.isclose(0.04, imp(0)["records"][2]["density"])
