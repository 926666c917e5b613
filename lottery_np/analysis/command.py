"""``lottery-np instability`` and ``benchmarks/instability_lenet.py``: the grid from the command line.

Two ways in:

* ``lottery-np instability RUN_DIR --out OUT`` -- analyse a finished (or interrupted)
  ``lottery-np find-ticket`` run: its dataset, network, training and seed, and every round's
  masks from its checkpoint; the ticket round is swept over the rewind iterations;
* ``lottery-np instability TICKET.npz --out OUT`` -- one ticket file's masks, with the data,
  training and seed the options give (a ticket does not record them);
* ``lottery-np instability --out OUT`` with no run folder -- the dense network from
  scratch (and IMP too with ``--pruning-rounds``), from the options or a preset.

Every finished job is saved as it arrives (:mod:`~lottery_np.analysis.store`); ``--resume`` runs only the
missing ones. The table, ``results.json`` and the figures are written at the end (:mod:`~lottery_np.analysis.report`).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Optional, Sequence

import numpy as np

from ..config import TrainingConfig
from ..experiment import cluster, load_data, open_jobs_folder
from ..files import owned_folder, parse_json
from ..model import MLP
from ..pruning import WinningTicket, read_checkpoint
from .grid import InstabilitySettings, imp_result, job_count, result_key, run_instability
from .store import load_results, save_result

DESCRIPTION = ("Instability analysis (Frankle, Dziugaite, Roy & Carbin, 2020): train two copies of a network from "
               "iteration k with different data orders and measure the error barrier between them.")

REWIND_ITERATIONS = (0, 25, 100, 500, 2000)
"""Default rewind iterations ``k``: 0 and a handful up to a few thousand."""

DENSE = MappingProxyType({"dataset": "mnist", "hidden": (300, 100), "seeds": (0, 1, 2),
                          "training": TrainingConfig(iterations=24_000, eval_every=1000),
                          "rewind_iterations": REWIND_ITERATIONS, "pruning_rounds": 0, "rounds": (),
                          "sweep_round": None})
"""The command's default: LeNet-300-100 on MNIST, dense, with the paper's LeNet schedule (24,000 iterations)."""

LENET = MappingProxyType({**DENSE, "pruning_rounds": 20, "rounds": (3, 7, 10, 12, 15, 18, 20), "sweep_round": 12})
"""``benchmarks/instability_lenet.py``: IMP at 20 %/round to 1.2 %, tickets and controls from 51 % to 1.2 %."""

QUICK = MappingProxyType({"dataset": "digits", "hidden": (300, 100), "seeds": (0, 1),
                          "training": TrainingConfig(iterations=300, eval_every=100),
                          "rewind_iterations": (0, 20), "pruning_rounds": 3, "rounds": (1, 3), "sweep_round": 3})
"""A grid of seconds on the 8x8 digits; the tests run it."""

PRESETS = MappingProxyType({"dense": DENSE, "lenet": LENET, "quick": QUICK})
"""The grids a command line without RUN_DIR starts from, by ``--preset``."""


def build_parser(parser: Optional[argparse.ArgumentParser] = None, preset: str = "dense") -> argparse.ArgumentParser:
    """The command's arguments, added to ``parser`` (a sub-command's) or to a new one; ``preset`` is the default."""
    parser = parser or argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, nargs="?",
                        help="a lottery-np find-ticket run folder, or a ticket file (ticket.npz, with --dataset, "
                             "--iterations and the one --seeds it was found with), to analyse; default: a network "
                             "from scratch")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=preset,
                        help="the grid without RUN_DIR: dense LeNet, LeNet with IMP and controls, or a digits smoke "
                             "run (default: %(default)s)")
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"), help="without RUN_DIR")
    parser.add_argument("--iterations", type=int, help="training length, without RUN_DIR (mnist: 24000)")
    parser.add_argument("--seeds", type=int, nargs="+", help="initializations, without RUN_DIR (0 1 2)")
    parser.add_argument("--pruning-rounds", type=int, help="IMP rounds at 20 %%/round, without RUN_DIR (0: dense only)")
    parser.add_argument("--rewind-iterations", type=int, nargs="+", metavar="K",
                        help=f"the iterations k the copies start from ({' '.join(map(str, REWIND_ITERATIONS))})")
    parser.add_argument("--rounds", type=int, nargs="+", help="IMP rounds analysed at k = 0 with the controls "
                        "(a run folder: every pruned round)")
    parser.add_argument("--sweep-round", type=int, help="the IMP round analysed at every k (a run folder: its ticket)")
    parser.add_argument("--points", type=int, help="evenly spaced points of the path, its ends included (30)")
    parser.add_argument("--data-seeds", type=int, nargs=2, metavar=("A", "B"), help="the copies' data orders")
    cluster.add_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder; each finished job is saved in its "
                        "jobs/ folder as it arrives")
    parser.add_argument("--resume", action="store_true", help="load --out's finished jobs and run only the others")
    parser.add_argument("--data-dir", help="folder of the MNIST files (default $LOTTERY_NP_DATA or the user cache)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    return parser


def settings_from_args(args: argparse.Namespace) -> tuple[InstabilitySettings, Optional[dict]]:
    """The grid's settings, and for a run folder the ``imp`` results read from it (None otherwise).

    Raises
    ------
    ValueError
        Naming a bad option, a run folder without a run, or one whose files are damaged.
    """
    if args.run_dir is not None:
        return _from_ticket(args) if args.run_dir.is_file() else _from_run_folder(args)
    preset = PRESETS[args.preset]
    options = dict(preset)
    for name in ("dataset", "pruning_rounds", "sweep_round"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    for name in ("seeds", "rounds"):
        if getattr(args, name) is not None:
            options[name] = tuple(getattr(args, name))
    if args.iterations is not None:
        options["training"] = replace(options["training"], iterations=args.iterations)
    data = load_data(options["dataset"], args.data_dir, None)
    layer_sizes = (data.n_features, *options.pop("hidden"), data.n_classes)
    return InstabilitySettings(layer_sizes=layer_sizes, data_dir=args.data_dir, **{**options, **_common(args)}), None


def _common(args: argparse.Namespace) -> dict:
    common = {"rewind_iterations": None if args.rewind_iterations is None else tuple(args.rewind_iterations),
              "points": args.points, "data_seeds": None if args.data_seeds is None else tuple(args.data_seeds)}
    return {name: value for name, value in common.items() if value is not None}


def _from_run_folder(args: argparse.Namespace) -> tuple[InstabilitySettings, dict]:
    """The settings of the run in ``args.run_dir`` and its ``imp`` result, from its settings and checkpoint."""
    run_dir = args.run_dir
    for name in ("settings.json", "checkpoint.npz"):
        if not (run_dir / name).is_file():
            raise ValueError(f"RUN_DIR {run_dir} holds no {name}: it must be the --out folder of lottery-np find-ticket")
    given = [f"--{name.replace('_', '-')}" for name in ("dataset", "iterations", "seeds", "pruning_rounds")
             if getattr(args, name) is not None]
    if given:
        raise ValueError(f"{', '.join(given)} cannot be given with RUN_DIR: the run folder's own settings are used")
    run = parse_json((run_dir / "settings.json").read_text())
    state = read_checkpoint(run_dir / "checkpoint.npz")
    if len(state.rounds) < 2:
        raise ValueError(f"the run in {run_dir} has not finished a pruned round yet: nothing to analyse")
    data = load_data(run["dataset"], args.data_dir or run.get("data_dir"), None)
    training = {name: run[name] for name in ("iterations", "epochs", "batch_size", "optimizer", "learning_rate",
                                             "momentum", "eval_every", "adam_bias_correction") if name in run}
    config = TrainingConfig(**training)
    config = replace(config, iterations=config.total_iterations(len(data.X_train)), epochs=None)
    pruned = len(state.rounds) - 1
    history = run_dir / "history.json"
    sweep = parse_json(history.read_text())["ticket_round"] if history.is_file() else pruned
    options = {"rewind_iterations": tuple(k for k in REWIND_ITERATIONS if k < config.iterations),
               "rounds": tuple(range(1, pruned + 1)), "sweep_round": sweep or pruned}
    if args.rounds is not None:
        options["rounds"] = tuple(args.rounds)
    if args.sweep_round is not None:
        options["sweep_round"] = args.sweep_round
    settings = InstabilitySettings(
        dataset=run["dataset"], layer_sizes=(data.n_features, *run["hidden"], data.n_classes), training=config,
        seeds=(run["seed"],), pruning_rounds=pruned, source=f"{run_dir.resolve()}: {pruned} pruned rounds, checkpoint sha256 "
        f"{hashlib.sha256((run_dir / 'checkpoint.npz').read_bytes()).hexdigest()[:16]}", data_dir=args.data_dir or run.get("data_dir"), **{**options, **_common(args)})
    return settings, {"method": "imp", "seed": run["seed"], **imp_result(state, data, settings), "wall_time": 0.0}


def _from_ticket(args: argparse.Namespace) -> tuple[InstabilitySettings, dict]:
    """A ticket file's masks, analysed at k = 0 and swept over k with the controls, under the options' training.

    The ticket does not record its data or training: they are the preset's and the options'
    (``--dataset``, ``--iterations``), and ``--seeds`` names the one seed whose network it was found in.
    """
    ticket = WinningTicket.load(args.run_dir)
    if ticket.density == 1.0:
        raise ValueError(f"the ticket in {args.run_dir} is the dense network (its run kept round 0): nothing is pruned")
    preset = PRESETS[args.preset]
    dataset, seeds = args.dataset or preset["dataset"], tuple(args.seeds or (0,))
    data = load_data(dataset, args.data_dir, None)
    sizes = tuple(ticket.layer_sizes)
    if (sizes[0], sizes[-1]) != (data.n_features, data.n_classes):
        raise ValueError(f"the ticket's network {'-'.join(map(str, sizes))} does not take {dataset} ({data.n_features} "
                         f"inputs, {data.n_classes} classes): pass the --dataset it was found on")
    if len(seeds) != 1 or any(not np.array_equal(w, w0) for w, w0 in
                              zip(MLP(sizes, seed=seeds[0]).weights, ticket.initial.weights)):
        raise ValueError(f"the ticket's initialization is not that of --seeds {' '.join(map(str, seeds))}: pass the "
                         "one seed of the run that found it")
    training = replace(preset["training"], iterations=args.iterations or preset["training"].iterations)
    digest = hashlib.sha256(args.run_dir.read_bytes()).hexdigest()[:16]
    settings = InstabilitySettings(
        dataset=dataset, layer_sizes=sizes, training=training, seeds=seeds, pruning_rounds=1, rounds=(1,),
        sweep_round=1, source=f"{args.run_dir.resolve()}: ticket of round {ticket.pruning_round}, sha256 {digest}",
        data_dir=args.data_dir, **{"rewind_iterations": preset["rewind_iterations"], **_common(args)})
    records = [ticket.history[0].to_dict(), {**ticket.record.to_dict(), "pruning_round": 1}]
    masks = [[np.ones(m.shape, np.uint8) for m in ticket.masks], [m.astype(np.uint8) for m in ticket.masks]]
    return settings, {"method": "imp", "seed": seeds[0], "records": records, "successive_barriers": [],
                      "masks": masks, "wall_time": 0.0}


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the grid that ``args`` describe; print the table, write ``results.json`` and the figures."""
    from .report import format_table, write_report  # matplotlib: not for --help

    with contextlib.ExitStack() as stack:
        try:
            connection = cluster.options_from_args(args)
            settings, imported = settings_from_args(args)
            stack.enter_context(owned_folder(args.out, "--out"))  # no other run writes here until this one ends
            folder = open_jobs_folder(args.out, args.resume)
            finished = load_results(folder, settings) if args.resume else []
        except ValueError as error:  # SettingError is a ValueError
            parser.error(" ".join(str(error).split()))
        if imported is not None and result_key(imported) not in {result_key(r) for r in finished}:
            save_result(folder, settings, imported)
            finished.append(imported)
        print(f"{settings.dataset}, network {'-'.join(map(str, settings.layer_sizes))}, seeds {list(settings.seeds)}, "
              f"{settings.training.iterations} iterations, k in {list(settings.rewind_iterations)}, "
              f"{job_count(settings)} jobs" + (f", resumed {len(finished)}" if args.resume else ""))
        with cluster.connect(**connection) as workers:
            start = time.perf_counter()
            runs = run_instability(settings, workers.n_jobs, progress=args.progress, finished=finished,
                                   on_result=functools.partial(save_result, folder, settings))
            wall_time = time.perf_counter() - start
        print(format_table(runs))
        print(f"wall time {wall_time:.0f} s for {len(runs) - len(finished)} jobs ({len(finished)} resumed)")
        for path in write_report(args.out, settings, runs, wall_time, workers):
            print(f"wrote {path}")
        return 0


def main(argv: Optional[Sequence[str]] = None, preset: str = "lenet") -> int:
    """``benchmarks/instability_lenet.py``: the grid with IMP and the controls by default."""
    parser = build_parser(preset=preset)
    return run(parser.parse_args(argv), parser)
