"""Frankle & Carbin's quantitative claims about LeNet-300-100, each measured on a run of the paper grid.

Every claim below is quoted from the paper's Section 2 (ICLR 2019 version), with the
figure it reads off; :func:`measure_claims` computes the same quantity from the runs of
:func:`lottery_np.experiment.paper.run_paper` (means over seeds, as the paper's curves
are means over trials), and :func:`format_claims` sets the two side by side.
``Pm`` is the percent of weights remaining; round ``r`` of the paper's schedule has
``Pm`` about ``100 * 0.8**r`` (20 % of each hidden layer, 10 % of the output layer).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .paper_plots import method_points, summarise

PAPER = (
    ("dense", "Dense test accuracy at early stopping",
     "about 98 % (Figure 4b, Pm = 100)"),
    ("fastest_pm", "Pm at which the ticket learns fastest (lowest early-stopping iteration)",
     "21 %: tickets learn faster as Pm falls from 100 % to 21 % (Section 2, Figure 4a)"),
    ("earlier_at_21", "Early stopping of the 21 % ticket, relative to the dense network",
     "38 % earlier (Section 2, Figure 4a)"),
    ("gain_at_13_5", "Test-accuracy gain of the 13.5 % ticket over the dense network",
     "more than 0.3 percentage points (Section 2, Figure 4b)"),
    ("back_to_dense", "Pm at which the ticket falls back to the dense network's accuracy",
     "3.6 % (\"regresses to the performance of the original network\", Section 2, Figure 3)"),
    ("reinit_at_21", "Ticket vs random reinitialization at Pm 21 %: early stopping, accuracy",
     "ticket 2.51x faster, half a percentage point more accurate (Section 2, Figure 4)"),
    ("one_shot", "Iterative vs one-shot pruning (both rewound to the initialization)",
     "iterative tickets learn faster and reach higher accuracy at smaller sizes (Section 2, Figure 4)"),
)
"""``(key, what, the paper's number and where it stands)`` for each claim, in the order of the table."""


def _by_round(points: Sequence[dict]) -> dict[int, dict]:
    """Per pruning round: ``density``, mean ``es`` (early-stopping iteration) and mean ``acc`` (test accuracy)."""
    accuracy = {row[0]: row for row in summarise(points, "test_accuracy")}
    return {r: {"density": density, "es": mean, "acc": accuracy[r][2], "acc_min": accuracy[r][3],
                "acc_max": accuracy[r][4]}
            for r, density, mean, *_ in summarise(points, "early_stop_iteration")}


def _nearest(rounds: dict[int, dict], pm: float) -> int:
    """The round whose Pm is nearest ``pm`` (percent) on the log axis the paper plots."""
    return min(rounds, key=lambda r: abs(np.log(100 * rounds[r]["density"] / pm)))


def _earlier(iteration: float, reference: float) -> str:
    """``"40 % earlier"`` or ``"10 % later"``: ``iteration`` against ``reference``."""
    change = 1 - iteration / reference
    return f"{abs(100 * change):.0f} % {'earlier' if change >= 0 else 'later'}"


def measure_claims(runs: Sequence[dict]) -> dict[str, str]:
    """Our number for each claim of :data:`PAPER`, as text, from the paper grid's ``runs``."""
    points = method_points(runs)
    ticket = _by_round(points["lottery_ticket"])
    dense = ticket[0]
    pm = {r: 100 * row["density"] for r, row in ticket.items()}
    fastest = min((r for r in ticket if r > 0), key=lambda r: ticket[r]["es"])
    r21, r135 = _nearest(ticket, 21.1), _nearest(ticket, 13.5)
    peak = max(ticket, key=lambda r: ticket[r]["acc"])
    below = [r for r in sorted(ticket) if r > peak and ticket[r]["acc"] < dense["acc"]]
    ours = {
        "dense": f"{100 * dense['acc']:.2f} % [{100 * dense['acc_min']:.2f}, {100 * dense['acc_max']:.2f}]",
        "fastest_pm": f"{pm[fastest]:.1f} % (round {fastest}, iteration {ticket[fastest]['es']:,.0f} "
                      f"against {dense['es']:,.0f} dense)",
        "earlier_at_21": f"{_earlier(ticket[r21]['es'], dense['es'])} at Pm {pm[r21]:.1f} % "
                         f"({ticket[r21]['es']:,.0f} against {dense['es']:,.0f})",
        "gain_at_13_5": f"{100 * (ticket[r135]['acc'] - dense['acc']):+.2f} points at Pm {pm[r135]:.1f} %",
        "back_to_dense": (f"{pm[below[0]]:.1f} % (round {below[0]}; {pm[max(r for r in ticket if r < below[0])]:.1f} "
                          "% is still above dense)" if below else "never, within the run"),
    }
    if "random_reinit" in points:
        reinit = _by_round(points["random_reinit"])
        r = _nearest(reinit, 21.1)
        ours["reinit_at_21"] = (f"at Pm {100 * reinit[r]['density']:.1f} %: ticket "
                                f"{reinit[r]['es'] / ticket[r]['es']:.2f}x faster ({ticket[r]['es']:,.0f} against "
                                f"{reinit[r]['es']:,.0f}), {100 * (ticket[r]['acc'] - reinit[r]['acc']):+.2f} points")
    if "one_shot" in points:
        one_shot = _by_round(points["one_shot"])
        ours["one_shot"] = "; ".join(
            f"Pm {100 * one_shot[r]['density']:.1f} %: ES {ticket[r]['es']:,.0f} vs {one_shot[r]['es']:,.0f}, "
            f"acc {100 * ticket[r]['acc']:.2f} vs {100 * one_shot[r]['acc']:.2f} %" for r in sorted(one_shot))
    return ours


def format_claims(runs: Sequence[dict]) -> str:
    """The side-by-side table, in Markdown: each claim, the paper's number and where, and ours."""
    ours = measure_claims(runs)
    lines = ["| claim | paper | ours (mean over seeds [min, max]) |", "|---|---|---|"]
    lines += [f"| {what} | {paper} | {ours.get(key, 'not measured in this run')} |" for key, what, paper in PAPER]
    return "\n".join(lines)
