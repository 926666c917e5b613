"""The instability grid's figures, in the style of Frankle, Dziugaite, Roy & Carbin (2020), Figures 2-5.

* ``path_error.png`` -- test error along the line between the two copies: the dense
  network at every ``k``, and the tickets at ``k = 0`` at every density (means over seeds);
* ``instability_vs_k.png`` -- instability against the rewind iteration ``k`` for the dense
  network and the swept ticket (mean, and the seeds' range as a band);
* ``instability_vs_density.png`` -- at ``k = 0``: instability, and the test error of the
  trained copies, against density for the ticket and the controls, with the paper's
  thresholds drawn (stable below 2 %; matching within 0.2 points of the dense network);
* ``successive_rounds.png`` -- the barrier between the trained networks of successive IMP
  rounds (Paul et al., ICLR 2023), when the grid ran IMP.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..plots import density_axis, new_figure, save_figure
from .grid import METHODS
from .instability import MATCHING_TOLERANCE, STABLE_BARRIER

LABELS = {"dense": "dense network", "ticket": "IMP ticket (m ⊙ W_k)",
          "random_pruning": "random pruning", "random_reinit": "random reinitialization"}
COLORS = {method: f"C{i}" for i, method in enumerate(METHODS)}


def _group(runs: Sequence[dict], method: str, by: str, **fixed) -> dict:
    """``{value of by: [runs]}`` for ``method``'s runs whose other fields equal ``fixed``."""
    groups: dict = {}
    for run in runs:
        if run["method"] == method and all(run.get(name) == value for name, value in fixed.items()):
            groups.setdefault(run[by], []).append(run)
    return dict(sorted(groups.items()))


def _mean_path(group: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    alphas = np.asarray(group[0]["path"]["alphas"])
    return alphas, 100 * np.mean([run["path"]["errors"]["test"] for run in group], axis=0)


def plot_paths(runs: Sequence[dict], path: Path) -> Path:
    """Test error along the path: the dense network per ``k``, the tickets at ``k = 0`` per density."""
    tickets = _group(runs, "ticket", "pruning_round", rewind_iteration=0)
    fig = new_figure((11, 4) if tickets else (5.5, 4))
    panels = [("dense network, copies trained from iteration k", _group(runs, "dense", "rewind_iteration"),
               lambda k, group: f"k = {k}")]
    if tickets:
        panels.append(("IMP tickets at k = 0", tickets,
                       lambda r, group: f"{100 * group[0]['density']:.3g} % remaining"))
    for i, (title, groups, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for j, (value, group) in enumerate(groups.items()):
            ax.plot(*_mean_path(group), "-", color=f"C{j}", label=label(value, group))
        ax.set(xlabel="interpolation a (0: copy 1, 1: copy 2)", ylabel="test error %", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return save_figure(fig, path)


def _summary(groups: dict) -> tuple[np.ndarray, ...]:
    x = np.array(list(groups), dtype=float)
    values = [100 * np.array([run["instability"] for run in group]) for group in groups.values()]
    return x, np.array([v.mean() for v in values]), np.array([v.min() for v in values]), \
        np.array([v.max() for v in values])


def plot_instability_vs_k(runs: Sequence[dict], path: Path) -> Path:
    """Instability against ``k`` for the dense network and the ticket swept over ``k``."""
    fig = new_figure((5.5, 4))
    ax = fig.add_subplot(1, 1, 1)
    swept = {r for r, k in ((run["pruning_round"], run["rewind_iteration"]) for run in runs
                            if run["method"] == "ticket") if k}
    series = [("dense", "dense network", {})]
    series += [("ticket", f"IMP ticket, round {r}", {"pruning_round": r}) for r in sorted(swept)]
    for method, label, fixed in series:
        groups = _group(runs, method, "rewind_iteration", **fixed)
        if fixed:
            label += f" ({100 * next(iter(groups.values()))[0]['density']:.3g} %)"
        x, mean, low, high = _summary(groups)
        ax.plot(x + 1, mean, "o-", color=COLORS[method] if not fixed else "C1", label=label)
        ax.fill_between(x + 1, low, high, color=COLORS[method] if not fixed else "C1", alpha=0.2, linewidth=0)
    ax.axhline(100 * STABLE_BARRIER, color="grey", linestyle=":", label="stable below this (2 %)")
    ax.set_xscale("log")
    ax.set(xlabel="rewind iteration k (+1, log scale)", ylabel="instability (test error barrier) %",
           title="When does training become stable?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, path)


def plot_instability_vs_density(runs: Sequence[dict], path: Path) -> Path:
    """At ``k = 0``: instability and test error against density, ticket and controls, thresholds drawn."""
    fig = new_figure((11, 4))
    dense = [run for run in runs if run["method"] == "dense" and run["rewind_iteration"] == 0]
    densities = set()
    for i, (key, ylabel, title) in enumerate((("instability", "instability %", "stability at k = 0"),
                                              ("test_error", "test error % of the trained copies",
                                               "accuracy at k = 0"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for method in METHODS[1:]:
            groups = _group(runs, method, "pruning_round", rewind_iteration=0)
            if not groups:
                continue
            x = np.array([100 * group[0]["density"] for group in groups.values()])
            values = [100 * np.array([run[key] for run in group]) for group in groups.values()]
            mean = np.array([v.mean() for v in values])
            ax.plot(x, mean, "o-", color=COLORS[method], label=LABELS[method], markersize=4)
            ax.fill_between(x, [v.min() for v in values], [v.max() for v in values], color=COLORS[method],
                            alpha=0.2, linewidth=0)
            densities.update(x.tolist())
        if key == "instability":
            ax.axhline(100 * STABLE_BARRIER, color="grey", linestyle=":", label="stable below (2 %)")
        elif dense:
            level = 100 * (np.mean([run["test_error"] for run in dense]) + MATCHING_TOLERANCE)
            ax.axhline(level, color="grey", linestyle=":", label="matching below (dense + 0.2 points)")
        ax.set(ylabel=ylabel, title=title)
        if densities:
            density_axis(ax, sorted(densities, reverse=True))
        ax.legend(fontsize="small")
    return save_figure(fig, path)


def plot_successive_rounds(runs: Sequence[dict], path: Path) -> Path:
    """The test-error barrier between the trained networks of IMP rounds ``r`` and ``r + 1``, per seed."""
    fig = new_figure((5.5, 4))
    ax = fig.add_subplot(1, 1, 1)
    percents = set()
    for run in sorted((r for r in runs if r["method"] == "imp" and r["successive_barriers"]), key=lambda r: r["seed"]):
        x = [100 * row["density"] for row in run["records"][1:]]
        ax.plot(x, 100 * np.asarray(run["successive_barriers"]), "o-", markersize=3, label=f"seed {run['seed']}")
        percents.update(x)
    ax.axhline(100 * STABLE_BARRIER, color="grey", linestyle=":", label="2 %")
    density_axis(ax, sorted(percents, reverse=True), ticks=sorted(percents, reverse=True)[::3])
    ax.set(ylabel="barrier % (test error)", title="rounds r and r+1 of IMP, trained")
    ax.set_xlabel("percent of weights remaining in round r+1")
    ax.legend(fontsize="small")
    return save_figure(fig, path)


def write_figures(out: Path, runs: Sequence[dict]) -> list[Path]:
    """Every figure the runs allow, into ``out``."""
    out = Path(out)
    paths = [plot_paths(runs, out / "path_error.png"), plot_instability_vs_k(runs, out / "instability_vs_k.png")]
    if any(run["method"] == "ticket" and run["rewind_iteration"] == 0 for run in runs):
        paths.append(plot_instability_vs_density(runs, out / "instability_vs_density.png"))
    if any(run["method"] == "imp" and run["successive_barriers"] for run in runs):
        paths.append(plot_successive_rounds(runs, out / "successive_rounds.png"))
    return paths
