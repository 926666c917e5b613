"""What the paper grid (:mod:`lottery_np.experiment.paper`) leaves behind: a table and four figures.

Frankle & Carbin (2019) plot every quantity against ``Pm``, the percent of weights
remaining, on a log axis, as the mean over trials with error bars from the minimum to
the maximum; so do these figures:

* ``early_stopping_vs_pm.png`` -- the early-stopping iteration (minimum validation loss)
  of the ticket, its random reinitialization and a random mask (Figure 4, left);
* ``accuracy_vs_pm.png`` -- their test accuracy at early stopping (Figure 4, right), in
  full and zoomed on the top ``ZOOM_POINTS`` percentage points, where the ticket and the
  dense network differ;
* ``learning_curves.png`` -- the ticket's test accuracy during training at the paper's
  ``Pm`` (Figure 3), the mean over seeds, with a dot where the seeds' mean validation
  loss is lowest;
* ``iterative_vs_one_shot.png`` -- both quantities, iterative against one-shot pruning (Figure 4).

The ``Pm`` axes are ticked where the controls were trained (the paper's ``Pm``), not at every round.

Every figure draws on its own Agg :class:`~matplotlib.figure.Figure` (see :mod:`.plots`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .report import COLORS as METHOD_COLORS, LABELS as METHOD_LABELS
from ..plots import density_axis, new_figure, save_figure, plot_learning_curves

LABELS = {**{m: METHOD_LABELS[m] for m in ("lottery_ticket", "random_reinit", "random_mask")},
          "one_shot": "one-shot pruning (rewind to init)"}
COLORS = {**{m: METHOD_COLORS[m] for m in ("lottery_ticket", "random_reinit", "random_mask")}, "one_shot": "C3"}
KEYS = {"early_stop_iteration": ("early-stopping iteration", 1.0),
        "test_accuracy": ("test accuracy at early stopping (%)", 100.0)}
"""Each plotted quantity's axis label and scale."""
ZOOM_POINTS = 3.0
"""Height, in percentage points, of the zoomed accuracy panels."""


def method_points(runs: Sequence[dict]) -> dict[str, list[dict]]:
    """One point per trained network, by method: ``pruning_round``, ``density``, ``seed``,
    ``early_stop_iteration`` and ``test_accuracy`` (at early stopping).

    The ticket contributes every round, round 0 (the dense network) included; one-shot
    pruning its pruned rounds (its round 0 is the same dense network).
    """
    points: dict[str, list[dict]] = {}
    for run in runs:
        for record in run["records"]:
            if run["method"] == "one_shot" and record["pruning_round"] == 0:
                continue
            points.setdefault(run["method"], []).append({
                "pruning_round": record["pruning_round"], "density": record["density"], "seed": run["seed"],
                "early_stop_iteration": record["early_stop_iteration"],
                "test_accuracy": record["early_stop_test_accuracy"]})
    return {method: points[method] for method in LABELS if method in points}


def summarise(points: Sequence[dict], key: str) -> list[tuple[int, float, float, float, float, int]]:
    """``(pruning_round, density, mean, min, max, n)`` of ``key`` over seeds, for each round in order."""
    rounds: dict[int, list[dict]] = {}
    for point in points:
        rounds.setdefault(point["pruning_round"], []).append(point)
    rows = []
    for r, group in sorted(rounds.items()):
        values = np.array([np.nan if p[key] is None else p[key] for p in group], dtype=float)
        rows.append((r, group[0]["density"], float(np.nanmean(values)), float(np.nanmin(values)),
                     float(np.nanmax(values)), len(group)))
    return rows


def format_table(runs: Sequence[dict]) -> str:
    """One row per method and round: early-stopping iteration and test accuracy, mean [min, max] over seeds."""
    points = method_points(runs)
    lines = [f"{'round':>5} {'Pm %':>6}  {'method':<34} {'ES iteration mean [min, max]':>30} "
             f"{'test acc % mean [min, max]':>28} {'seeds':>5}"]
    rows = []
    for method, method_rows in points.items():
        accuracy = {row[0]: row for row in summarise(method_rows, "test_accuracy")}
        for r, density, mean, low, high, n in summarise(method_rows, "early_stop_iteration"):
            _, _, acc, acc_low, acc_high, _ = accuracy[r]
            rows.append((r, list(LABELS).index(method),
                         f"{r:>5} {100 * density:>6.2f}  {LABELS[method]:<34} {mean:>10.0f} [{low:>7.0f}, {high:>7.0f}] "
                         f"{100 * acc:>10.2f} [{100 * acc_low:>6.2f}, {100 * acc_high:>6.2f}] {n:>5}"))
    return "\n".join(lines + [line for *_, line in sorted(rows)])


def plot_with_ranges(ax, points: Mapping[str, Sequence[dict]], key: str, zoom: bool = False) -> None:
    """Mean against ``Pm`` with min-max error bars, one line per method; the log ``Pm`` axis.

    Ticks stand at the ``Pm`` of the methods other than the ticket (the control rounds), and at
    both ends; ``zoom`` shows at most the top :data:`ZOOM_POINTS` of the values.
    """
    percents, ticks, top = set(), set(), -np.inf
    scale = KEYS[key][1]
    for method, method_points_ in points.items():
        rows = summarise(method_points_, key)
        x, mean, low, high = (np.array(column, dtype=float) for column in list(zip(*rows))[1:5])
        ax.errorbar(100 * x, scale * mean, yerr=[scale * (mean - low), scale * (high - mean)], fmt="o-",
                    color=COLORS[method], label=LABELS[method], markersize=4, capsize=3)
        percents.update((100 * x).tolist())
        if method != "lottery_ticket":
            ticks.update((100 * x).tolist())
        top = max(top, scale * np.nanmax(high))
    ticks = sorted(ticks | {max(percents), min(percents)}, reverse=True) if ticks else None
    density_axis(ax, sorted(percents, reverse=True), ticks)
    ax.set_ylabel(KEYS[key][0])
    if zoom:
        ax.set_ylim(max(ax.get_ylim()[0], top - ZOOM_POINTS), top + 0.05 * ZOOM_POINTS)  # never wider
        ax.set_title(f"zoom: the top {ZOOM_POINTS:g} points", fontsize="medium")
    ax.legend(fontsize="small")


def _panels(points: Mapping[str, Sequence[dict]], keys: Sequence[str], title: str, path) -> Path:
    """A figure of one panel per key, side by side, every accuracy panel followed by its zoom; saved to ``path``."""
    panels = [(key, zoom) for key in keys for zoom in ((False, True) if key == "test_accuracy" else (False,))]
    fig = new_figure((1.8 + 4.6 * len(panels), 4.4))
    for i, (key, zoom) in enumerate(panels, start=1):
        plot_with_ranges(fig.add_subplot(1, len(panels), i), points, key, zoom)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_vs_pm(points: Mapping[str, Sequence[dict]], key: str, path, title: str) -> Path:
    """``key`` (``"early_stop_iteration"`` or ``"test_accuracy"``) against ``Pm``, one line per method."""
    return _panels(points, [key], title, path)


def plot_iterative_vs_one_shot(points: Mapping[str, Sequence[dict]], path) -> Path:
    """Early-stopping iteration and test accuracy against ``Pm``: iterative and one-shot pruning side by side."""
    return _panels({m: points[m] for m in ("lottery_ticket", "one_shot")}, list(KEYS),
                   "Iterative vs one-shot pruning (both rewound to the initialization)", path)


def mean_curves(runs: Sequence[dict], rounds: Sequence[int]) -> dict[str, dict]:
    """The ticket's learning curve at each of ``rounds``, labelled with its ``Pm``: test accuracy and
    validation loss averaged over seeds."""
    by_round: dict[int, list[dict]] = {}
    for run in runs:
        if run["method"] == "lottery_ticket":
            for r in rounds:
                by_round.setdefault(r, []).append(run["records"][r])
    curves = {}
    for r, records in by_round.items():
        mean = {key: np.mean([np.asarray(rec["curve"][key], dtype=float) for rec in records], axis=0).tolist()
                for key in ("test_accuracy", "val_loss")}
        curves[f"Pm {100 * records[0]['density']:.3g} %"] = {"iterations": records[0]["curve"]["iterations"], **mean}
    return curves


def write_plots(out, runs: Sequence[dict], paper_rounds: Sequence[int]) -> list[Path]:
    """The four figures of the module docstring, into ``out``; the learning curves at round 0 and ``paper_rounds``."""
    out = Path(out)
    points = method_points(runs)
    controls = {m: points[m] for m in ("lottery_ticket", "random_reinit", "random_mask")}
    return [
        plot_vs_pm(controls, "early_stop_iteration", out / "early_stopping_vs_pm.png", "How fast tickets learn"),
        plot_vs_pm(controls, "test_accuracy", out / "accuracy_vs_pm.png", "Accuracy at early stopping"),
        plot_learning_curves(mean_curves(runs, [0, *paper_rounds]), out / "learning_curves.png"),
        plot_iterative_vs_one_shot(points, out / "iterative_vs_one_shot.png"),
    ]
