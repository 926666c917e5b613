"""The anatomy of a ticket's figures and table: criteria, the signs experiment, supermasks, first-layer masks.

Each figure sets the anatomy's methods (:mod:`.anatomy`) beside the lottery ticket and its controls at the
same densities, means over seeds with the seeds' range shaded (min to max):

* ``criteria_vs_density.png`` -- test accuracy at early stopping of IMP by every mask criterion;
* ``signs_vs_density.png`` -- the ticket's mask with its kept weights restarted by each mask-1 action,
  each with and without the original signs (Zhou et al.'s finding: the signs carry the ticket), and with
  its pruned weights frozen at their initial values (the mask-0 action);
* ``supermask_vs_density.png`` -- every criterion's mask on the untrained initialization, and the learned
  supermasks;
* ``criteria_masks.png`` -- the first layer's connections per input pixel at the last round, per criterion.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..plots import aggregate, density_axis, new_figure, save_figure
from .report import LABELS, method_points, plot_input_connections
from .settings import CRITERION_METHODS, SUPERMASKS, TREATED

IMP_METHODS = ("lottery_ticket", *CRITERION_METHODS)
"""The IMP runs of the grid, each with its criterion: ``lottery_ticket`` prunes by ``large_final``."""

CRITERION_PANELS = (("imp_small_final", "imp_large_init", "imp_small_init", "imp_large_init_large_final",
                     "imp_small_init_small_final"),
                    ("imp_magnitude_increase", "imp_movement", "imp_random", "imp_large_final_same_sign",
                     "imp_large_final_diff_sign"))
"""The criteria drawn on each panel of ``criteria_vs_density.png``: by magnitude, then by change and sign."""


def criterion_of(method: str) -> str:
    """The criterion an IMP method prunes by (``lottery_ticket``: ``large_final``).

    >>> criterion_of("imp_movement"), criterion_of("lottery_ticket")
    ('movement', 'large_final')
    """
    return "large_final" if method == "lottery_ticket" else method.removeprefix("imp_")


def _line(ax, points: Sequence[dict], key: str, color, label: str, style: str = "o-") -> list[float]:
    """Mean of ``key`` against density (percent), the seeds' range shaded; returns the densities drawn."""
    rows = aggregate(points, key)
    x = [100 * d for d, _, _, _ in rows]
    ax.plot(x, [100 * mean for _, mean, _, _ in rows], style, color=color, label=label, markersize=3)
    spread = [[float(p[key]) for p in points if round(p["density"], 12) == d and p[key] is not None] for d, *_ in rows]
    ax.fill_between(x, [100 * min(v) for v in spread], [100 * max(v) for v in spread], color=color, alpha=0.15)
    return x


def _finish(ax, percents: set, ylabel: str, title: str) -> None:
    """Density axis, labels, grid, and the legend outside the axes, on the right, where it hides no curve."""
    if percents:
        density_axis(ax, sorted(percents, reverse=True))
    ax.set(ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


CONTROL_COLORS = {"lottery_ticket": "black", "random_reinit": "grey", "random_mask": "tab:brown"}
"""The ticket and its controls keep one colour in every figure; each figure colours its own methods (tab10)."""


def _colors(methods: Sequence[str]) -> dict[str, str]:
    """A colour per method: the ticket's and the controls' fixed, the others in turn from matplotlib's tab10/tab20."""
    others = [m for m in methods if m not in CONTROL_COLORS]
    palette = [f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "pink", "olive", "cyan")]
    palette += ["gold", "navy", "teal", "crimson"]
    return {**{m: palette[i % len(palette)] for i, m in enumerate(others)}, **CONTROL_COLORS}


def _dense_line(ax, points: dict) -> None:
    if "dense" in points:
        ax.axhline(100 * aggregate(points["dense"], "test_accuracy")[0][1], color="grey", linestyle=":", label="dense")


def plot_criteria(runs: Sequence[dict], path: Path) -> Path:
    """Accuracy against density of IMP by every criterion, beside the ticket and its two controls."""
    points = method_points(runs)
    fig = new_figure((15, 5))
    for i, panel in enumerate(CRITERION_PANELS):
        ax, percents = fig.add_subplot(1, 2, i + 1), set()
        methods = [m for m in ("lottery_ticket", "random_reinit", "random_mask", *panel) if m in points]
        colors = _colors(methods)
        for method in methods:
            style = "o-" if method in IMP_METHODS else "s--"
            percents.update(_line(ax, points[method], "test_accuracy", colors[method], LABELS[method], style))
        _dense_line(ax, points)
        _finish(ax, percents, "test accuracy % (early stopping)",
                "criteria by magnitude" if i == 0 else "criteria by change and by sign")
    return save_figure(fig, path)


def plot_signs(runs: Sequence[dict], path: Path) -> Path:
    """The signs experiment: each mask-1 action with the initial signs (solid) and without (dashed)."""
    points = method_points(runs)
    fig = new_figure((9.5, 5))
    ax, percents = fig.add_subplot(1, 1, 1), set()
    bases = _colors(["reinit", "reshuffle", "constant", "pruned_frozen_init", "pruned_zero_shrunk", "all_zero_shrunk"])
    for method in ("lottery_ticket", *TREATED, "random_reinit"):
        if method in points:
            treatment = method.removeprefix("ticket_")
            color = CONTROL_COLORS.get(method) or bases[treatment.removeprefix("signed_")]
            style = ("x:" if treatment.startswith(("pruned_", "all_")) else
                     "s--" if method in TREATED and "signed" not in method else "o-")
            percents.update(_line(ax, points[method], "test_accuracy", color, LABELS[method], style))
    _dense_line(ax, points)
    _finish(ax, percents, "test accuracy % (early stopping)", "the ticket's mask, its kept weights restarted")
    return save_figure(fig, path)


def untrained_points(runs: Sequence[dict]) -> dict[str, list[dict]]:
    """Per IMP method, each pruned round's untrained (supermask) test accuracy as plot points."""
    points: dict[str, list[dict]] = {}
    for run in runs:
        if run["method"] in IMP_METHODS and "untrained_accuracy" in run:
            for record, accuracy in zip(run["records"][1:], run["untrained_accuracy"][1:]):
                points.setdefault(run["method"], []).append(
                    {"density": record["density"], "untrained_accuracy": accuracy, "seed": run["seed"]})
    return {method: points[method] for method in IMP_METHODS if method in points}


def plot_supermasks(runs: Sequence[dict], path: Path) -> Path:
    """Every criterion's mask applied to the untrained weights, and the learned supermasks, against density."""
    fig = new_figure((9.5, 5))
    ax, percents = fig.add_subplot(1, 1, 1), set()
    untrained = untrained_points(runs)
    colors = _colors(list(untrained))
    for method, points in untrained.items():
        percents.update(_line(ax, points, "untrained_accuracy", colors[method], criterion_of(method)))
    learned = method_points(runs)
    if "supermask_top_k" in learned:
        percents.update(_line(ax, learned["supermask_top_k"], "test_accuracy", "darkviolet",
                              LABELS["supermask_top_k"], "D--"))
    if "supermask_bernoulli" in learned:  # each seed at the density it learned: points, not a line or ticks
        found = learned["supermask_bernoulli"]
        ax.plot([100 * p["density"] for p in found], [100 * p["test_accuracy"] for p in found], "*", color="crimson",
                markersize=9, label=LABELS["supermask_bernoulli"])
    ax.axhline(10, color="grey", linestyle=":", label="chance")
    _finish(ax, percents, "test accuracy % of the untrained network", "supermasks: no weight trained")
    return save_figure(fig, path)


def format_untrained(runs: Sequence[dict]) -> str:
    """One row per criterion: the untrained network's test accuracy under its mask at each density (mean ± std)."""
    table = {method: aggregate(points, "untrained_accuracy") for method, points in untrained_points(runs).items()}
    densities = sorted({d for rows in table.values() for d, *_ in rows}, reverse=True)
    lines = [f"{'untrained, mask of':<24} " + " ".join(f"{100 * d:>12.2f}%" for d in densities)]
    for method, rows in table.items():
        cells = {d: f"{100 * mean:6.2f} ± {100 * std:4.2f}" for d, mean, std, _ in rows}
        lines.append(f"{criterion_of(method):<24} " + " ".join(f"{cells.get(d, '-'):>13}" for d in densities))
    return "\n".join(lines)


def _markdown(points: dict[str, list[dict]], key: str, label) -> list[str]:
    """A markdown table: a row per method, a column per density, each cell the seeds' mean ± std of ``key`` (%)."""
    table = {method: {d: (mean, std, n) for d, mean, std, n in aggregate(p, key)} for method, p in points.items()}
    densities = sorted({d for cells in table.values() for d in cells}, reverse=True)
    lines = ["| method | " + " | ".join(f"{100 * d:.2f} %" for d in densities) + " |",
             "|---|" + "---|" * len(densities)]
    for method, cells in table.items():
        row = [f"{100 * cells[d][0]:.2f} ± {100 * cells[d][1]:.2f}" if d in cells else "" for d in densities]
        lines.append(f"| {label(method)} | " + " | ".join(row) + " |")
    return lines


def format_anatomy_markdown(runs: Sequence[dict]) -> str:
    """The anatomy's tables in markdown: test accuracy at early stopping by criterion and by treatment, and the
    supermasks' test accuracy, each a row per method and a column per density (mean ± std over seeds, %)."""
    points = method_points(runs)
    sections = []
    tables = (("IMP by each mask criterion, and the ticket's controls (test accuracy % at early stopping)",
               CRITERION_METHODS, ("random_reinit", "random_mask")),
              ("The ticket's mask, its kept weights restarted, or its pruned weights frozen (test accuracy % at "
               "early stopping)", TREATED, ("random_reinit",)))
    for title, own, controls in tables:
        if any(m in points for m in own):
            chosen = {m: points[m] for m in ("lottery_ticket", *own, *controls) if m in points}
            sections.append("\n".join([f"### {title}", "", *_markdown(chosen, "test_accuracy", lambda m: f"`{m}`")]))
    untrained = untrained_points(runs)
    if untrained:
        sections.append("\n".join(["### Supermasks: each criterion's mask on the untrained initialization, rescaled "
                                   "(test accuracy %)", "", *_markdown(untrained, "untrained_accuracy",
                                                                         lambda m: f"`{criterion_of(m)}`")]))
    if "supermask_top_k" in points:
        sections.append("\n".join(["### Learned top-k supermasks, weights never trained (test accuracy %)", "",
                                   *_markdown({"supermask_top_k": points["supermask_top_k"]}, "test_accuracy",
                                              lambda m: f"`{m}`")]))
    if "supermask_bernoulli" in points:  # each seed learns its own density: one row, the densities averaged
        found = points["supermask_bernoulli"]
        density, accuracy = (np.array([p[key] for p in found]) for key in ("density", "test_accuracy"))
        spread = (lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
        sections.append("\n".join([
            "### Learned Bernoulli supermasks, weights never trained", "",
            "| method | density learned % | test accuracy % | seeds |", "|---|---|---|---|",
            f"| `supermask_bernoulli` | {100 * density.mean():.2f} ± {100 * spread(density):.2f} | "
            f"{100 * accuracy.mean():.2f} ± {100 * spread(accuracy):.2f} | {len(found)} |"]))
    return "\n\n".join(sections) + "\n"


def write_anatomy_plots(out: Path, runs: Sequence[dict], image_shape: Sequence[int]) -> list[Path]:
    """The figures whose methods ran, into ``out``."""
    out, methods = Path(out), {run["method"] for run in runs}
    paths = []
    if methods & set(CRITERION_METHODS):
        paths += [plot_criteria(runs, out / "criteria_vs_density.png"),
                  plot_input_connections(runs, image_shape, out / "criteria_masks.png", IMP_METHODS)]
    if methods & set(TREATED):
        paths.append(plot_signs(runs, out / "signs_vs_density.png"))
    if untrained_points(runs) and (methods & set(CRITERION_METHODS + SUPERMASKS)):
        paths.append(plot_supermasks(runs, out / "supermask_vs_density.png"))
    return paths
