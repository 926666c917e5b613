"""Figures of a lottery-ticket experiment, after Frankle & Carbin (2019), Figure 3.

Every function draws on its own :class:`matplotlib.figure.Figure` with an Agg canvas
and never touches ``pyplot``: no global figure state, nothing to close, nothing leaks
between calls, whatever backend the caller uses.

The results format
------------------
:func:`plot_accuracy_vs_density` and :func:`plot_early_stopping` take *results*: a
mapping from a method's label to its measurements, one *point* per trained network::

    {"winning ticket": [{"density": 0.512, "test_accuracy": 0.981, "early_stop_iteration": 4200, "seed": 0},
                        {"density": 0.512, "test_accuracy": 0.979, "early_stop_iteration": 3800, "seed": 1}, ...],
     "random reinit": [...]}

``density`` is the fraction of weights remaining, in (0, 1]. ``test_accuracy`` is read
at the early-stopping iteration ``early_stop_iteration`` (the evaluation of minimum
validation loss), as the paper plots it. ``seed`` is optional. Points of one method at
the same density are averaged over seeds: the line is the mean, the band the sample
standard deviation. A method measured at a single density (the dense network) is
drawn as a dashed horizontal reference. :func:`history_points` turns a pruning
history (``RoundRecord`` objects or their ``to_dict()`` form) into points.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, NoReturn, Optional, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .files import CorruptFileError, check_fields, is_instance, parse_json
from .pruning import RoundRecord, WinningTicket, history_from_dicts

POINT_KEYS = ("density", "test_accuracy", "early_stop_iteration")


def history_points(history: Sequence, seed: int = 0) -> list[dict]:
    """Points (see the module docstring) of every round of a pruning history.

    Parameters
    ----------
    history : sequence of RoundRecord or dict
        ``WinningTicket.history``, ``PrunedNetwork.history`` or their ``to_dict()`` rows.
    seed : int
        Stored in every point.
    """
    rows = [r.to_dict() if isinstance(r, RoundRecord) else r for r in history]
    return [
        {"density": row["density"], "test_accuracy": row["early_stop_test_accuracy"],
         "early_stop_iteration": row["early_stop_iteration"], "seed": seed}
        for row in rows
    ]


def aggregate(points: Sequence[Mapping], key: str) -> list[tuple[float, float, float, int]]:
    """``(density, mean, std, n)`` of ``key`` at each density, densest first.

    ``std`` is the sample standard deviation over the ``n`` points (0 when ``n == 1``);
    missing values (``None`` or NaN) are left out.
    """
    groups: dict[float, list[float]] = {}
    for i, point in enumerate(points):
        missing = [k for k in ("density", key) if k not in point]
        if missing:
            raise ValueError(f"points[{i}] must have keys 'density' and {key!r}, got {sorted(point)}")
        density = float(point["density"])
        if not 0 < density <= 1:
            raise ValueError(f"points[{i}]['density'] must be in (0, 1], got {density!r}")
        value = point[key]
        if value is not None and not math.isnan(value):
            groups.setdefault(round(density, 12), []).append(float(value))
    return [
        (d, float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
        for d, v in sorted(groups.items(), reverse=True)
    ]


def plot_accuracy_vs_density(results: Mapping[str, Sequence[Mapping]], path: str | os.PathLike,
                             colors: Optional[Mapping[str, str]] = None) -> Path:
    """Test accuracy at early stopping against the percent of weights remaining (log axis, sparser to the right)."""
    fig = new_figure((6.4, 4.4))
    ax = fig.add_subplot()
    _plot_series(ax, results, "test_accuracy", colors, scale=100.0)
    ax.set_ylabel("test accuracy at early stopping (%)")
    ax.set_title("Accuracy of pruned networks")
    return save_figure(fig, path)


def plot_early_stopping(results: Mapping[str, Sequence[Mapping]], path: str | os.PathLike,
                        colors: Optional[Mapping[str, str]] = None) -> Path:
    """Early-stopping iteration (minimum validation loss) against the percent of weights remaining."""
    fig = new_figure((6.4, 4.4))
    ax = fig.add_subplot()
    _plot_series(ax, results, "early_stop_iteration", colors, scale=1.0)
    ax.set_ylabel("early-stopping iteration")
    ax.set_title("How fast pruned networks learn")
    return save_figure(fig, path)


def plot_learning_curves(curves: Mapping[str, Mapping[str, Sequence]], path: str | os.PathLike,
                         metric: str = "test_accuracy") -> Path:
    """Accuracy against training iteration, one line per network (the paper's Figure 3, left).

    Parameters
    ----------
    curves : mapping of label to curve
        Each curve is a ``LearningCurve.to_dict()`` (or ``RoundRecord.curve``): lists
        ``iterations`` and ``metric``; a ``val_loss`` list adds a dot at early stopping.
        The y axis starts near the 5th percentile of all values, so the first
        evaluations (far below the rest) fall off the bottom.
    metric : {"test_accuracy", "val_accuracy"}
    """
    if not curves:
        raise ValueError("curves must hold at least one learning curve, got an empty mapping")
    fig = new_figure((6.4, 4.4))
    ax = fig.add_subplot()
    values = []
    for label, curve in curves.items():
        if "iterations" not in curve or metric not in curve:
            raise ValueError(f"curves[{label!r}] must have 'iterations' and {metric!r}, got {sorted(curve)}")
        x, y = np.asarray(curve["iterations"]), 100 * np.asarray(curve[metric], dtype=float)
        (line,) = ax.plot(x, y, label=label)
        if curve.get("val_loss"):
            best = int(np.nanargmin(np.asarray(curve["val_loss"], dtype=float)))
            ax.plot(x[best], y[best], "o", color=line.get_color())
        values.extend(y.tolist())
    if np.isfinite(values).any():  # zoom past the first evaluations, where the networks differ little
        low, high = np.nanpercentile(values, 5), np.nanmax(values)
        ax.set_ylim(low - 0.1 * (high - low), high + 0.05 * (high - low) + 0.1)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    ax.set_title("Learning curves (dot: early stopping)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_first_layer_mask(mask: np.ndarray, image_shape: Sequence[int], path: str | os.PathLike) -> Path:
    """Surviving first-layer connections of each input pixel, ``mask.sum(axis=1)`` as an image.

    Parameters
    ----------
    mask : ndarray, shape (n_pixels, fan_out)
        The first layer's 0/1 mask.
    image_shape : sequence of int
        E.g. ``(28, 28)``; ``prod(image_shape)`` must equal ``n_pixels``.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.shape[0] != math.prod(image_shape):
        raise ValueError(f"mask must have shape ({math.prod(image_shape)}, fan_out) for image_shape "
                         f"{tuple(image_shape)}, got {mask.shape}")
    fig = new_figure((5.0, 4.4))
    ax = fig.add_subplot()
    image = ax.imshow(mask.sum(axis=1).reshape(image_shape), cmap="viridis", vmin=0)
    fig.colorbar(image, ax=ax, label=f"surviving connections (of {mask.shape[1]})")
    ax.set_title(f"First layer: {100 * mask.mean():.1f} % of weights remain")
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path)


def plot_run(run_dir: str | os.PathLike) -> list[Path]:
    """Draw the figures of a ``lottery-np find-ticket`` output folder into that folder.

    The folder holds ``ticket.npz`` (:meth:`WinningTicket.save`) and ``history.json``
    (``{"settings": ..., "ticket_round": int, "density": float, "image_shape": [28, 28] or null,
    "history": [RoundRecord.to_dict(), ...]}``).

    Returns
    -------
    list of Path
        ``accuracy_vs_density.png``, ``early_stopping.png``, ``learning_curves.png``
        and, when ``image_shape`` is given, ``first_layer_mask.png``.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its two files is missing.
    CorruptFileError
        Naming the file and the key, if a file is not what a run writes or the two
        files are not of one run.
    """
    run_dir = Path(run_dir)
    history_path, ticket_path = run_dir / "history.json", run_dir / "ticket.npz"
    for required in (history_path, ticket_path):
        if not required.is_file():
            raise FileNotFoundError(f"{run_dir} is not a find-ticket run folder: {required} is missing")
    ticket = WinningTicket.load(ticket_path)
    meta = _read_history(history_path, ticket)
    history, ticket_round = meta["history"], meta["ticket_round"]
    label = f"IMP, rewind {ticket.rewind}"
    ticket_label = f"ticket (round {ticket_round}, {100 * history[ticket_round].density:.3g} %)"
    paths = [
        plot_accuracy_vs_density({label: history_points(history)}, run_dir / "accuracy_vs_density.png"),
        plot_early_stopping({label: history_points(history)}, run_dir / "early_stopping.png"),
        plot_learning_curves(
            {"dense (round 0)": history[0].curve, ticket_label: history[ticket_round].curve},
            run_dir / "learning_curves.png",
        ),
    ]
    if meta["image_shape"]:
        paths.append(plot_first_layer_mask(ticket.masks[0], meta["image_shape"], run_dir / "first_layer_mask.png"))
    return paths


# The keys save_run writes into history.json; a later version may add keys, which are ignored.
_HISTORY_FIELDS = {"settings": dict, "ticket_round": int, "density": float, "image_shape": (list, type(None)),
                   "history": list}


def _read_history(path: Path, ticket: WinningTicket) -> dict:
    """``history.json``, checked against the run's ``ticket``, with its rows rebuilt as :class:`RoundRecord` objects."""
    def fail(key: str, problem: str) -> NoReturn:
        raise CorruptFileError(path, "find-ticket history", problem, key)

    try:
        meta = parse_json(path.read_text())
    except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CorruptFileError(path, "find-ticket history", f"not JSON ({error})") from error
    try:
        check_fields(meta, _HISTORY_FIELDS)
    except ValueError as error:
        raise CorruptFileError(path, "find-ticket history", str(error)) from error
    if not meta["history"]:
        fail("history", "history is empty (a run has at least its dense round)")
    try:
        meta["history"] = history_from_dicts(meta["history"])
    except ValueError as error:
        fail("history", str(error))
    if meta["ticket_round"] != ticket.pruning_round or len(meta["history"]) != len(ticket.history):
        fail("ticket_round", f"ticket_round {meta['ticket_round']} of {len(meta['history'])} rounds does not match "
                             f"{path.parent / 'ticket.npz'} (round {ticket.pruning_round} of {len(ticket.history)})")
    shape = meta["image_shape"]
    if shape is not None and (not shape or not all(is_instance(n, int) and n > 0 for n in shape)
                              or math.prod(shape) != ticket.layer_sizes[0]):
        fail("image_shape", f"image_shape must be positive integers multiplying to the ticket's "
                            f"{ticket.layer_sizes[0]} inputs, got {shape!r}")
    return meta


def _plot_series(ax, results: Mapping[str, Sequence[Mapping]], key: str,
                 colors: Optional[Mapping[str, str]], scale: float) -> None:
    """One line (mean) and band (± std) per method against percent remaining; the shared x axis."""
    if not results:
        raise ValueError("results must hold at least one method, got an empty mapping")
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    densities = set()
    for i, (label, points) in enumerate(results.items()):
        color = (colors or {}).get(label, cycle[i % len(cycle)])
        rows = aggregate(points, key)
        if not rows:
            raise ValueError(f"results[{label!r}] has no {key!r} values")
        x, mean, std = (np.array(column, dtype=float) for column in list(zip(*rows))[:3])
        x, mean, std = 100 * x, scale * mean, scale * std
        if len(rows) == 1:  # a reference level, e.g. the dense network
            ax.axhline(mean[0], color=color, linestyle="--", label=label)
            ax.axhspan(mean[0] - std[0], mean[0] + std[0], color=color, alpha=0.12, linewidth=0)
        else:
            ax.plot(x, mean, "o-", color=color, label=label, markersize=4)
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
        densities.update(x.tolist())
    density_axis(ax, sorted(densities, reverse=True))
    ax.legend(fontsize="small")


def density_axis(ax, percents: list[float], ticks: Optional[Sequence[float]] = None) -> None:
    """Log-scaled percent-remaining axis, decreasing to the right, spanning ``percents`` (largest first).

    Ticked at ``ticks``, by default at every one of ``percents``.
    """
    ax.set_xscale("log")
    high, low = percents[0] * 1.15, percents[-1] / 1.15
    ax.set_xlim(high, low if low < high / 1.5 else high / 2)
    ax.xaxis.set_major_locator(FixedLocator(percents if ticks is None else list(ticks)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.set_xlabel("percent of weights remaining")
    ax.grid(alpha=0.3)


def new_figure(size: tuple[float, float]) -> Figure:
    """A figure of ``size`` inches on its own Agg canvas (no pyplot state)."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
