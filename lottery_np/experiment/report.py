"""What the benchmark leaves behind: a table, ``results.json`` and four figures.

``results.json`` holds ``{"settings", "densities", "environment", "wall_time", "runs"}``:
``runs`` are the jobs' result dicts (every per-seed, per-round ``RoundRecord`` row with
its learning curve) without the masks, ``environment`` the machine, the library
versions and the BLAS that threadpoolctl sees.
"""
from __future__ import annotations

import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Optional, Sequence

from threadpoolctl import threadpool_info

import numpy as np

from ..plots import (aggregate, density_axis, new_figure, plot_accuracy_vs_density, plot_early_stopping,
                     plot_first_layer_mask, plot_learning_curves, save_figure)
from ..files import write_text_atomic
from ..curves import first_iteration_reaching
from .settings import ABLATED, ALL_METHODS, ANATOMY, CRITERION_METHODS, FROM_START, SUPERMASKS, TREATED, BenchmarkSettings

LABELS = {
    "dense": "dense",
    "lottery_ticket": "winning ticket (rewind to init)",
    "late_rewind": "winning ticket (late rewind)",
    "magnitude": "one-shot magnitude pruning + fine-tuning",
    "random_reinit": "random reinit (ticket's mask)",
    "random_mask": "random mask (original init)",
    "random": "random at init (uniform)",
    "erk": "random at init (ERK), static",
    "snip": "SNIP",
    "grasp": "GraSP",
    "synflow": "SynFlow",
    "set": "SET",
    "rigl": "RigL",
}
LABELS.update({method: f"{LABELS[method.split('_')[0]]}, {method.split('_')[1]}" for method in ABLATED})
LABELS.update({method: f"IMP by {method.removeprefix('imp_')}" for method in CRITERION_METHODS})
LABELS.update({method: f"ticket's mask, {method.removeprefix('ticket_').replace('_', ' ')}" for method in TREATED})
LABELS["ticket_pruned_frozen_init"] = "ticket, pruned weights frozen at init"
LABELS["ticket_pruned_zero_shrunk"] = "ticket, pruned weights 0 if shrunk, else frozen at init"
LABELS["ticket_all_zero_shrunk"] = "ticket, every weight 0 if shrunk (pruned ones frozen)"
LABELS.update({method: f"learned supermask ({method.removeprefix('supermask_').replace('_', '-')})"
               for method in SUPERMASKS})
_PALETTE = [f"C{i}" for i in range(10)] + ["black", "olive", "navy", "teal", "maroon", "gold", "indigo", "salmon",
                                           "lime", "sienna", "orchid", "slategray", "crimson"]
COLORS = {method: _PALETTE[i % len(_PALETTE)] for i, method in enumerate(ALL_METHODS)}
PACKAGES = ("lottery_np", "numpy", "numba", "joblib", "threadpoolctl", "matplotlib", "scikit-learn")


def method_points(runs: Sequence[dict]) -> dict[str, list[dict]]:
    """Every trained network as a point of the plots' results format, keyed by method.

    The dense baseline is the ``dense`` runs; every other method contributes its pruned
    rounds (round >= 1). Points carry ``pruning_round``, ``wall_time`` and
    ``iterations_to_dense_best`` (the first evaluation at which the validation accuracy
    reached the best one of the same seed's dense network; None if never, or if the seed has no dense
    run) besides the format's ``density``, ``test_accuracy``, ``early_stop_iteration`` and ``seed``.
    """
    dense_best = {run["seed"]: max(run["records"][0]["curve"]["val_accuracy"]) for run in runs if run["method"] == "dense"}
    points: dict[str, list[dict]] = {}
    for run in runs:
        for record in run["records"]:
            if run["method"] == "dense" or record["pruning_round"] >= 1:
                points.setdefault(run["method"], []).append({
                    "density": record["density"], "test_accuracy": record["early_stop_test_accuracy"],
                    "early_stop_iteration": record["early_stop_iteration"], "seed": run["seed"],
                    "pruning_round": record["pruning_round"], "wall_time": record["wall_time"],
                    "iterations_to_dense_best": None if run["seed"] not in dense_best else first_iteration_reaching(
                        record["curve"]["iterations"], record["curve"]["val_accuracy"], dense_best[run["seed"]]),
                })
    return {method: points[method] for method in ALL_METHODS if method in points}


def format_table(runs: Sequence[dict]) -> str:
    """One row per method and density: test accuracy at early stopping (mean ± std over seeds),
    mean early-stopping iteration, mean iterations to reach the dense network's best validation
    accuracy (with how many seeds reached it), and mean training time of one network."""
    lines = [f"{'method':<26} {'round':>5} {'density %':>9} {'test acc % (ES)':>16} {'ES iter':>8} "
             f"{'to dense best':>13} {'time s':>7} {'seeds':>5}"]
    for method, points in method_points(runs).items():
        accuracy = aggregate(points, "test_accuracy")
        iteration = {d: mean for d, mean, _, _ in aggregate(points, "early_stop_iteration")}
        reach = {d: (mean, n) for d, mean, _, n in aggregate(points, "iterations_to_dense_best")}
        time = {d: mean for d, mean, _, _ in aggregate(points, "wall_time")}
        rounds = {round(p["density"], 12): p["pruning_round"] for p in points}
        for density, mean, std, n in accuracy:
            reached_mean, reached = reach.get(density, (math.nan, 0))
            to_best = f"{reached_mean:.0f} ({reached}/{n})" if reached else f"never (0/{n})"
            lines.append(
                f"{method:<26} {rounds[density]:>5} {100 * density:>9.2f} {100 * mean:>9.2f} ± {100 * std:<4.2f} "
                f"{iteration[density]:>8.0f} {to_best:>13} {time[density]:>7.1f} {n:>5}"
            )
    return "\n".join(lines)


def format_tickets(runs: Sequence[dict]) -> str:
    """The round each IMP run selects (sparsest within one point of dense validation accuracy)."""
    lines = []
    for run in runs:
        if "ticket_round" in run:
            record = run["records"][run["ticket_round"]]
            lines.append(f"{run['method']:<16} seed {run['seed']}: ticket = round {run['ticket_round']} "
                         f"({100 * record['density']:.2f} % of weights, test accuracy at ES "
                         f"{100 * record['early_stop_test_accuracy']:.2f} %)")
    return "\n".join(lines)


def environment(n_jobs: int, backend: Optional[str]) -> dict:
    """The machine and software a run used."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    threading = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP", "MKL", "NUMBA"))}
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "n_jobs": n_jobs, "backend": backend, "versions": versions, "blas": threadpool_info(),
            "threading_environment": threading}


def write_results(out: Path, settings: BenchmarkSettings, runs: Sequence[dict], env: dict, wall_time: float) -> Path:
    """Write ``results.json`` (every per-seed number, without masks) into ``out``."""
    payload = {
        "settings": settings.to_dict(),
        "densities": settings.densities(),
        "environment": env,
        "wall_time": wall_time,
        "runs": [{k: v for k, v in run.items() if k != "masks"} for run in runs],
    }
    return write_text_atomic(Path(out) / "results.json", json.dumps(payload, indent=1))


def _first_ticket(runs: Sequence[dict]) -> tuple[dict, int]:
    """The first seed's ``lottery_ticket`` run and its selected round (round 1 if no pruned round qualified)."""
    first_seed = min(run["seed"] for run in runs)
    lottery = next(r for r in runs if r["method"] == "lottery_ticket" and r["seed"] == first_seed)
    return lottery, lottery["ticket_round"] or 1


def ticket_curves(runs: Sequence[dict]) -> dict[str, dict]:
    """Learning curves of the first seed: dense, and every method but magnitude pruning at the ticket's round."""
    lottery, ticket_round = _first_ticket(runs)
    curves = {}
    for run in runs:
        if run["seed"] != lottery["seed"] or run["method"] == "magnitude":
            continue
        for record in run["records"]:
            if record["pruning_round"] == (0 if run["method"] == "dense" else ticket_round):
                curves[f"{LABELS[run['method']]}, {100 * record['density']:.3g} %"] = record["curve"]
    return curves


def plot_input_connections(runs: Sequence[dict], image_shape: Sequence[int], path: Path,
                           methods: Sequence[str] = FROM_START + ABLATED) -> Path:
    """For each of ``methods`` (default: those sparse from the start), the first seed's first-layer connections per
    input at the last round.

    One image per method: each pixel is how many first-layer connections its input keeps
    (SNIP's Figure 2 and RigL's Figure 7 draw MNIST's this way).
    """
    chosen = {}
    for run in sorted(runs, key=lambda r: r["seed"]):
        if run["method"] in methods and run["method"] not in chosen:
            last = max(run["input_connections"], key=int)
            chosen[run["method"]] = (np.asarray(run["input_connections"][last]), run["records"][-1]["density"])
    columns = min(5, len(chosen))
    rows = -(-len(chosen) // columns)
    fig = new_figure((2.6 * columns, 2.8 * rows))
    for i, (method, (counts, density)) in enumerate(chosen.items()):
        ax = fig.add_subplot(rows, columns, i + 1)
        image = ax.imshow(counts.reshape(image_shape), cmap="viridis")
        ax.set_title(f"{LABELS[method]}\n{100 * density:.3g} %", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return save_figure(fig, path)


def plot_accuracy_vs_seconds(runs: Sequence[dict], path: Path) -> Path:
    """Test accuracy at early stopping against the seconds one training took, every method and density (means
    over seeds): the Pareto picture. IMP's points are single rounds; its whole search costs their sum."""
    fig = new_figure((7.5, 5))
    ax = fig.add_subplot(1, 1, 1)
    for method, points in method_points(runs).items():
        if method == "magnitude":
            continue
        rows = aggregate(points, "wall_time")
        accuracy = {d: mean for d, mean, _, _ in aggregate(points, "test_accuracy")}
        seconds = [mean for _, mean, _, _ in rows]
        ax.plot(seconds, [100 * accuracy[d] for d, _, _, _ in rows], "o-" if len(rows) > 1 else "s",
                color=COLORS[method], label=LABELS[method], markersize=4)
    ax.set_xscale("log")
    ax.set(xlabel="seconds per training (one job of two running at once)", ylabel="test accuracy % (early stopping)",
           title="accuracy against wall-clock time, each point one density")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", ncol=2)
    return save_figure(fig, path)


def plot_from_start(runs: Sequence[dict], path: Path) -> Path:
    """Accuracy against density, zoomed where the methods differ: IMP and its controls with the methods sparse from
    the start (left), and each ablated method beside the method it ablates (right). Mean and the seeds' range."""
    points = method_points(runs)
    fig = new_figure((13, 5))
    panels = [[m for m in ("lottery_ticket", "random_reinit", "random_mask", *FROM_START) if m in points],
              [m for m in points if m in ABLATED or (m in FROM_START and any(a.startswith(m + "_") for a in ABLATED))]]
    for i, methods in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        percents = set()
        for method in methods:
            rows = aggregate(points[method], "test_accuracy")
            x = [100 * d for d, _, _, _ in rows]
            ax.plot(x, [100 * m for _, m, _, _ in rows], "o-" if method not in ABLATED else "s--", markersize=3,
                    color=COLORS[method], label=LABELS[method])
            percents.update(x)
        if "dense" in points:
            ax.axhline(100 * aggregate(points["dense"], "test_accuracy")[0][1], color="grey", linestyle=":",
                       label="dense")
        if percents:
            density_axis(ax, sorted(percents, reverse=True))
        ax.set_ylim(88, 99)
        ax.set(ylabel="test accuracy % (early stopping; below 88 % off the axis)",
               title=("IMP, its controls, and sparse from the start" if i == 0 else "ablations at initialization"))
        ax.legend(fontsize="x-small", ncol=2, loc="lower left")
    return save_figure(fig, path)


def write_plots(out: Path, runs: Sequence[dict], image_shape: Sequence[int]) -> list[Path]:
    """The figures, into ``out``.

    Early stopping and learning curves (:func:`ticket_curves`) leave out magnitude
    pruning, whose iterations count fine-tuning from a trained network. The first-layer
    mask is the first seed's selected ticket (round 1 if no pruned round qualified); the
    learning curves and that mask need a ``lottery_ticket`` run, and the methods sparse from
    the start get their first-layer connections drawn (:func:`plot_input_connections`).
    """
    out = Path(out)
    points = {method: p for method, p in method_points(runs).items() if method not in ANATOMY}  # their own figures
    results = {LABELS[m]: p for m, p in points.items()}
    colors = {LABELS[m]: c for m, c in COLORS.items()}
    timing = {label: p for label, p in results.items() if label != LABELS["magnitude"]}
    paths = [] if not results else [plot_accuracy_vs_density(results, out / "accuracy_vs_density.png", colors)]
    if timing:
        paths.append(plot_early_stopping(timing, out / "early_stopping.png", colors))
    if any(run["method"] == "lottery_ticket" for run in runs):
        lottery, ticket_round = _first_ticket(runs)
        paths += [plot_learning_curves(ticket_curves(runs), out / "learning_curves.png"),
                  plot_first_layer_mask(lottery["masks"][ticket_round][0], image_shape, out / "first_layer_mask.png")]
    if any(run["method"] in FROM_START + ABLATED for run in runs):
        paths.append(plot_input_connections(runs, image_shape, out / "input_connections.png"))
        paths.append(plot_accuracy_vs_seconds(runs, out / "accuracy_vs_seconds.png"))
        paths.append(plot_from_start(runs, out / "from_start_vs_density.png"))
    return paths
