"""How long each method takes to train a network as accurate as the winning ticket, against the ticket's search.

A winning ticket at round ``r`` costs its whole search: the dense training and ``r``
pruned trainings. A method that trains sparse from the start pays one training, but
may never reach the ticket's accuracy. For each seed, with the target the IMP ticket's
test accuracy at early stopping in round ``r`` (less ``tolerance``):

* ``search_seconds``: the wall time of IMP's rounds ``0 .. r-1``, plus the time its round
  ``r`` took to first reach the target;
* a method's ``seconds`` (the ticket's own: its search): the time its network at round ``r``'s density first reached the
  target, ``wall_time * i / T`` for the first evaluation ``i`` at or above it (``T`` the
  run's last iteration: the time of a training is close to proportional to its iterations),
  or None if no evaluation reached it.

The wall times are the benchmark's own, every job measured under the same conditions
(two jobs at once on two cores, in the published run), so the ratios, not the seconds,
are what to read.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

REFERENCE = "lottery_ticket"


def _seconds_to(record: dict, target: float) -> Optional[float]:
    """The wall time at which ``record``'s training first reached test accuracy ``target`` (None if never, and for a
    curve that measured no test accuracy)."""
    curve = record["curve"]
    for iteration, accuracy in zip(curve["iterations"], curve["test_accuracy"]):
        if accuracy is not None and accuracy >= target:
            return record["wall_time"] * iteration / curve["iterations"][-1]
    return None


def time_to_ticket_accuracy(runs: Sequence[dict], pruning_round: int, tolerance: float = 0.0) -> list[dict]:
    """Per method and seed, the seconds to reach the IMP ticket's accuracy at ``pruning_round``.

    Parameters
    ----------
    runs : sequence of dict
        The benchmark's job results (``results.json``'s ``runs``): each with ``method``,
        ``seed`` and ``records`` (one ``RoundRecord.to_dict()`` per round, learning curve included).
    pruning_round : int
        The IMP round whose ticket sets the target (and the density compared).
    tolerance : float
        The target is the ticket's accuracy less this (0.005: within half a point).

    Returns
    -------
    list of dict
        ``{"method", "seed", "target", "seconds", "search_seconds"}``, one per method with a
        network at that round, in the order of ``runs``; ``seconds`` None when never reached.

    Examples
    --------
    >>> def record(r, accuracies, seconds):
    ...     return {"pruning_round": r, "wall_time": seconds, "early_stop_test_accuracy": max(accuracies),
    ...             "curve": {"iterations": [0, 50, 100], "test_accuracy": accuracies}}
    >>> imp = {"method": "lottery_ticket", "seed": 0, "records": [record(0, [.1, .9, .95], 10.0),
    ...                                                           record(1, [.1, .96, .97], 4.0)]}
    >>> rigl = {"method": "rigl", "seed": 0, "records": [record(1, [.1, .6, .97], 2.0)]}
    >>> [(row["method"], row["seconds"], row["search_seconds"]) for row in time_to_ticket_accuracy([imp, rigl], 1)]
    [('lottery_ticket', 14.0, 14.0), ('rigl', 2.0, 14.0)]
    """
    tickets = {run["seed"]: run for run in runs if run["method"] == REFERENCE}
    rows = []
    for run in runs:
        imp = tickets.get(run["seed"])
        ticket = _at_round(imp, pruning_round) if imp else None
        mine = _at_round(run, pruning_round)
        if ticket is None or mine is None:
            continue
        target = ticket["early_stop_test_accuracy"] - tolerance
        earlier = sum(r["wall_time"] for r in imp["records"] if r["pruning_round"] < pruning_round)
        search = earlier + _seconds_to(ticket, target)
        seconds = search if run["method"] == REFERENCE else _seconds_to(mine, target)
        rows.append({"method": run["method"], "seed": run["seed"], "target": target, "seconds": seconds,
                     "search_seconds": search})
    return rows


def closest_round(runs: Sequence[dict], density: float) -> Optional[int]:
    """The IMP round whose density is closest to ``density`` (None without an IMP run)."""
    records = [r for run in runs if run["method"] == REFERENCE for r in run["records"]]
    return min(records, key=lambda r: abs(r["density"] - density))["pruning_round"] if records else None


def _at_round(run: dict, pruning_round: int) -> Optional[dict]:
    return next((r for r in run["records"] if r["pruning_round"] == pruning_round), None)


def format_time_to_accuracy(rows: Sequence[dict]) -> str:
    """Per method: seeds that reached the target, mean seconds to reach it, and that over IMP's mean search."""
    lines = [f"{'method':<16} {'reached':>7} {'seconds':>8} {'IMP search s':>12} {'share of search':>15}"]
    for method in dict.fromkeys(row["method"] for row in rows):
        mine = [row for row in rows if row["method"] == method]
        reached = [row["seconds"] for row in mine if row["seconds"] is not None]
        search = sum(row["search_seconds"] for row in mine) / len(mine)
        seconds = sum(reached) / len(reached) if reached else math.nan
        share = f"{seconds / search:>15.3f}" if reached else f"{'never':>15}"
        lines.append(f"{method:<16} {len(reached):>3}/{len(mine):<3} {seconds:>8.1f} {search:>12.1f} {share}")
    return "\n".join(lines)
