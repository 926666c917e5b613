"""The benchmark's command line: ``lottery-np benchmark`` and ``benchmarks/lth_vs_magnitude.py``.

Both parse the command line once, on a parser that holds :func:`build_parser`'s
arguments, and hand the namespace to :func:`run`. The options given replace the
preset's values (``FULL``, or ``QUICK`` with ``--quick``; :func:`options_from_args`),
and the settings are made from them once the data is loaded.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from ..files import owned_folder, write_text_atomic
from ..validation import SettingError
from . import cluster
from .jobs import load_data
from .runner import check_methods, job_count, run_benchmark
from .settings import (ABLATED, ANATOMY, DEMO, DEMO_METHODS, DEMO_SUBSET, FROM_START, FULL, METHODS, QUICK,
                       BenchmarkSettings)
from .store import load_jobs, open_jobs_folder, save_job

DESCRIPTION = "Winning tickets vs magnitude pruning vs random controls, over several seeds (LeNet-300-100)."

QUICK_SUBSET = (5_000, 1_000, 2_000)
"""``--quick`` on MNIST or Fashion-MNIST keeps this many train, validation and test images."""

def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    """The benchmark's arguments, added to ``parser`` (e.g. a subcommand's) or to a new parser."""
    parser = parser or argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"),
                        help=f"default {FULL['dataset']} ({QUICK['dataset']} with --quick); "
                             "digits trains a 64-300-100-10 network")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help=f"default {_words(FULL['seeds'])} ({_words(QUICK['seeds'])} with --quick)")
    parser.add_argument("--target-sparsity", type=float,
                        help=f"fraction of weights removed by the last IMP round ({FULL['target_sparsity']:g})")
    parser.add_argument("--rounds", type=int,
                        help=f"IMP rounds; every method runs at each round's density ({FULL['rounds']})")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float, help=f"training length of every network ({FULL['training'].epochs:g})")
    length.add_argument("--iterations", type=int, help="training length in mini-batch iterations")
    parser.add_argument("--eval-every", type=int,
                        help=f"iterations between evaluations ({FULL['training'].eval_every})")
    parser.add_argument("--late-rewind-iteration", type=int,
                        help="late rewinding to this iteration of the dense run (default 1%% of the iterations)")
    parser.add_argument("--fine-tune-iterations", type=int,
                        help="magnitude pruning's fine-tuning (default half the training iterations)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"which methods run (default: {_words(METHODS)}); also the methods sparse from the "
                             f"start: {_words(FROM_START + ABLATED)}; and the anatomy of a ticket: {_words(ANATOMY)}")
    cluster.add_arguments(parser)
    parser.add_argument("--out", type=_folder, help="output folder (default results/<dataset>, results/quick); "
                        "every finished job is saved in its jobs/ folder as it arrives")
    parser.add_argument("--resume", action="store_true",
                        help="load the finished jobs of --out (same settings only) and run just the missing ones")
    parser.add_argument("--data-dir", help="folder of the MNIST files, the only one used if given (default $LOTTERY_NP_DATA or the user cache)")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true",
                        help=f"a smoke run of seconds: {QUICK['dataset']}, {QUICK['rounds']} rounds, "
                             f"{QUICK['training'].iterations} iterations, {len(QUICK['seeds'])} seeds")
    preset.add_argument("--demo", action="store_true",
                        help=f"the ticket's effect in about a minute (with --n-jobs 2): {DEMO_SUBSET[0]:,} MNIST "
                             f"images, {DEMO['training'].iterations} iterations, {DEMO['rounds']} rounds to "
                             f"{100 * (1 - DEMO['target_sparsity']):g} %%, {len(DEMO['seeds'])} seeds, "
                             f"{_words(DEMO_METHODS)}")
    return parser


def _words(values: Sequence) -> str:
    return " ".join(map(str, values))


def _folder(text: str) -> Path:
    """``--out``'s type: ``Path("")`` would quietly mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return Path(text)


def options_from_args(args: argparse.Namespace) -> dict:
    """The preset (``FULL``, or ``QUICK`` with ``--quick``) with every option given in ``args`` applied.

    Returns
    -------
    dict
        The keyword arguments of :meth:`BenchmarkSettings.for_data`, the data's sizes aside.

    Raises
    ------
    SettingError
        Naming a bad training setting (``epochs``, ``iterations``, ``eval_every``).
    """
    options = dict(QUICK if args.quick else DEMO if args.demo else FULL)
    given = {name: getattr(args, name) for name in
             ("dataset", "target_sparsity", "rounds", "late_rewind_iteration", "fine_tune_iterations")}
    options.update({name: value for name, value in given.items() if value is not None})
    if args.seeds is not None:
        options["seeds"] = tuple(args.seeds)
    training = {} if args.eval_every is None else {"eval_every": args.eval_every}
    if args.epochs is not None or args.iterations is not None:  # the length given replaces the preset's
        training.update(epochs=args.epochs, iterations=args.iterations)
    options["training"] = replace(options["training"], **training)
    options["subset"] = (DEMO_SUBSET if args.demo else
                         QUICK_SUBSET if args.quick and options["dataset"] != "digits" else None)
    options["data_dir"] = args.data_dir
    return options


def option_of(error: SettingError, parser: argparse.ArgumentParser) -> Optional[str]:
    """The option of ``parser`` that sets the setting ``error`` names (``seeds[1]``: ``--seeds``); None if none does.

    The benchmark's options are its settings' names spelled as options, so the option is read off the parser.
    """
    option = "--" + error.setting.split("[")[0].replace("_", "-")
    return option if option in parser.format_usage().replace("[", " ").replace("]", " ").split() else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``benchmarks/lth_vs_magnitude.py``: parse ``argv`` (default ``sys.argv[1:]``) and :func:`run` it."""
    parser = build_parser()
    return run(parser.parse_args(argv), parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the benchmark, print its table and write ``results.json`` and the figures; return the exit status.

    The options and the output folder are checked (and the folder created) before
    anything runs, and every job's result is saved into its ``jobs/`` folder as it
    arrives (:mod:`.store`), so that ``--resume`` after an interruption runs only the
    jobs still missing. ``--backend dask`` or ``ray`` connects to (or starts) a cluster
    for the run (:mod:`.cluster`).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by ``parser``, which holds :func:`build_parser`'s arguments.
    parser : argparse.ArgumentParser
        Reports bad options and a bad ``--out`` (``parser.error``), before any job runs.
    """
    # Here, not at the top: the report draws with matplotlib, which `lottery-np --help` should not import.
    from .anatomy_report import format_anatomy_markdown, format_untrained, untrained_points, write_anatomy_plots
    from .report import environment, format_table, format_tickets, write_plots, write_results
    from .time_to_accuracy import closest_round, format_time_to_accuracy, time_to_ticket_accuracy

    with contextlib.ExitStack() as stack:
        try:
            connection = cluster.options_from_args(args)
            methods = check_methods(args.methods or (DEMO_METHODS if args.demo else METHODS))
            options = options_from_args(args)
            data = load_data(options["dataset"], options["data_dir"], options["subset"])
            settings = BenchmarkSettings.for_data(len(data.X_train), data.n_features, data.n_classes, **options)
            out = args.out or Path("results") / ("quick" if args.quick else "demo" if args.demo else settings.dataset)
            stack.enter_context(owned_folder(out, "--out"))  # no other run writes here until this one ends
            folder = open_jobs_folder(out, args.resume)
            finished = load_jobs(folder, settings) if args.resume else []
        except SettingError as error:
            option = option_of(error, parser)
            parser.error(f"{option}: {_one_line(error)}" if option else _one_line(error))
        except ValueError as error:
            parser.error(_one_line(error))
        with cluster.connect(**connection) as workers:  # a Dask or Ray cluster for the grid's run
            sizes = "-".join(map(str, settings.layer_sizes))
            print(f"{settings.dataset} {data.sizes}, network {sizes}, seeds {list(settings.seeds)}, "
                  f"{settings.training.iterations} iterations per training (eval every {settings.training.eval_every}), "
                  f"late rewind to iteration {settings.late_rewind_iteration}, n_jobs {workers.n_jobs}")
            print("densities %: " + ", ".join(f"{100 * d:.2f}" for d in settings.densities()))
            if args.resume:
                print(f"resumed {len(finished)} of {job_count(settings, methods)} jobs from {folder}")
            start = time.perf_counter()
            runs = run_benchmark(settings, n_jobs=workers.n_jobs, finished=finished,
                                 on_result=functools.partial(save_job, folder, settings), methods=methods)
            wall_time = time.perf_counter() - start
        print(format_table(runs))
        if any("ticket_round" in run for run in runs):
            print(format_tickets(runs))
        if any(run["method"] in FROM_START for run in runs) and closest_round(runs, 0.05) is not None:
            ticket_round = closest_round(runs, 0.05)
            print(f"time to reach the ticket's test accuracy (less half a point) at round {ticket_round}, "
                  "against IMP's search to it:")
            one_training = [run for run in runs if run["method"] in ("lottery_ticket", *FROM_START, *ABLATED)]
            print(format_time_to_accuracy(time_to_ticket_accuracy(one_training, ticket_round, tolerance=0.005)))
        if any(run["method"] in ANATOMY for run in runs) and untrained_points(runs):
            print("supermasks: test accuracy % of the untrained initialization under each criterion's mask:")
            print(format_untrained(runs))
        print(f"wall time {wall_time:.0f} s")
        paths = [write_results(out, settings, runs, environment(workers.n_jobs, workers.backend), wall_time)]
        paths += write_plots(out, runs, data.image_shape) + write_anatomy_plots(out, runs, data.image_shape)
        if any(run["method"] in ANATOMY for run in runs):
            paths.append(write_text_atomic(out / "anatomy.md", format_anatomy_markdown(runs)))
        print("wrote " + ", ".join(str(p) for p in paths))
        return 0


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
