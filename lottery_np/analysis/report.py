"""What the instability grid leaves behind: a table, ``results.json`` and the figures (:mod:`.figures`).

``results.json`` holds ``{"settings", "environment", "wall_time", "cells", "runs"}``: ``runs``
are the jobs' result dicts (masks left out), ``cells`` their summary over seeds, one per
(method, round, k), as :func:`summarise` makes it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..experiment import report as benchmark_report
from ..files import write_text_atomic
from .figures import write_figures
from .grid import METHODS, InstabilitySettings
from .instability import MATCHING_TOLERANCE, STABLE_BARRIER, matching


def summarise(runs: Sequence[dict]) -> list[dict]:
    """One row per (method, round, k) over the seeds: mean, standard deviation, range, and the paper's verdicts.

    ``stable`` says the mean instability is below :data:`STABLE_BARRIER`; ``matching`` says the
    mean test error is within :data:`MATCHING_TOLERANCE` of the dense network's at ``k = 0``
    (None without a dense run at ``k = 0``).
    """
    dense = [run["test_error"] for run in runs if run["method"] == "dense" and run["rewind_iteration"] == 0]
    dense_error = float(np.mean(dense)) if dense else None
    cells: dict[tuple, list[dict]] = {}
    for run in runs:
        if run["method"] != "imp":
            cells.setdefault((run["method"], run["pruning_round"], run["rewind_iteration"]), []).append(run)
    rows = []
    for (method, pruning_round, k), group in sorted(cells.items(), key=lambda item: (
            METHODS.index(item[0][0]), item[0][1], item[0][2])):
        barrier = np.array([run["instability"] for run in group])
        row = {"method": method, "pruning_round": pruning_round, "rewind_iteration": k,
               "density": float(np.mean([run["density"] for run in group])), "seeds": len(group),
               "instability": float(barrier.mean()), "instability_std": float(barrier.std(ddof=1)) if len(group) > 1
               else 0.0, "instability_min": float(barrier.min()), "instability_max": float(barrier.max()),
               "train_instability": float(np.mean([run["train_instability"] for run in group])),
               "test_error": float(np.mean([run["test_error"] for run in group])),
               "seconds": float(np.mean([run["wall_time"] for run in group]))}
        row["stable"] = row["instability"] < STABLE_BARRIER
        row["matching"] = None if dense_error is None else matching(row["test_error"], dense_error)
        rows.append(row)
    return rows


def format_table(runs: Sequence[dict]) -> str:
    """The summary as a fixed-width table, percentages of the test set, and IMP's successive-round barriers."""
    lines = [f"{'method':<15}{'round':>6}{'density %':>10}{'k':>6}{'instability %':>19}{'train inst. %':>14}"
             f"{'test err %':>11}{'stable':>7}{'matching':>9}{'seeds':>6}"]
    for row in summarise(runs):
        spread = f"{100 * row['instability']:.2f} ± {100 * row['instability_std']:.2f}"
        verdict = "-" if row["matching"] is None else ("yes" if row["matching"] else "no")
        lines.append(f"{row['method']:<15}{row['pruning_round']:>6}{100 * row['density']:>10.2f}"
                     f"{row['rewind_iteration']:>6}{spread:>19}{100 * row['train_instability']:>14.2f}"
                     f"{100 * row['test_error']:>11.2f}{'yes' if row['stable'] else 'no':>7}{verdict:>9}"
                     f"{row['seeds']:>6}")
    lines.append(f"stable: instability < {100 * STABLE_BARRIER:g} %; matching: test error within "
                 f"{100 * MATCHING_TOLERANCE:g} points of the dense network's at k = 0")
    for run in sorted((r for r in runs if r["method"] == "imp" and r["successive_barriers"]), key=lambda r: r["seed"]):
        barriers = " ".join(f"{100 * b:.1f}" for b in run["successive_barriers"])
        lines.append(f"seed {run['seed']}: barrier % between the trained networks of IMP rounds r and r+1: {barriers}")
    return "\n".join(lines)


def write_report(out: Path, settings: InstabilitySettings, runs: Sequence[dict], wall_time: float,
                 workers) -> list[Path]:
    """Write ``results.json`` and the figures into ``out``; return their paths."""
    payload = {"settings": settings.to_dict(),
               "environment": benchmark_report.environment(workers.n_jobs, workers.backend),
               "wall_time": wall_time, "cells": summarise(runs),
               "runs": [{k: v for k, v in run.items() if k != "masks"} for run in runs]}
    paths = [write_text_atomic(Path(out) / "results.json", json.dumps(payload, indent=1))]
    return paths + write_figures(out, runs)
