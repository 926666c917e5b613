"""The benchmark's command line: ``lottery-np benchmark`` and ``benchmarks/lth_vs_magnitude.py``."""
from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from pathlib import Path
from typing import Optional, Sequence

from ..validation import SettingError
from .jobs import load_data
from .report import environment, format_table, format_tickets, write_plots, write_results
from .runner import job_count, run_benchmark
from .settings import FULL, QUICK, BenchmarkSettings
from .store import load_jobs, open_jobs_folder, save_job

DESCRIPTION = "Winning tickets vs magnitude pruning vs random controls, over several seeds (LeNet-300-100)."

QUICK_SUBSET = (5_000, 1_000, 2_000)
"""``--quick`` on MNIST or Fashion-MNIST keeps this many train, validation and test images."""


def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    """The benchmark's arguments, added to ``parser`` (e.g. a subcommand's) or to a new parser."""
    parser = parser or argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"),
                        help="default mnist (digits with --quick); digits trains a 64-300-100-10 network")
    parser.add_argument("--seeds", type=int, nargs="+", help="default 0 1 2 (0 1 with --quick)")
    parser.add_argument("--target-sparsity", type=float,
                        help="fraction of weights removed by the last IMP round (0.95)")
    parser.add_argument("--rounds", type=int, help="IMP rounds; every method runs at each round's density (5)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float, help="training length of every network (10)")
    length.add_argument("--iterations", type=int, help="training length in mini-batch iterations")
    parser.add_argument("--eval-every", type=int, help="iterations between evaluations (200)")
    parser.add_argument("--late-rewind-iteration", type=int,
                        help="late rewinding to this iteration of the dense run (default 1%% of the iterations)")
    parser.add_argument("--fine-tune-iterations", type=int,
                        help="magnitude pruning's fine-tuning (default half the training iterations)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel jobs (-1: all cores); default 1")
    parser.add_argument("--backend", help="joblib backend, e.g. loky (default), dask or ray after connecting a client")
    parser.add_argument("--out", type=_folder, help="output folder (default results/<dataset>, results/quick); "
                        "every finished job is saved in its jobs/ folder as it arrives")
    parser.add_argument("--resume", action="store_true",
                        help="load the finished jobs of --out (same settings only) and run just the missing ones")
    parser.add_argument("--data-dir", help="folder of the MNIST files (default $LOTTERY_NP_DATA or the user cache)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of seconds: digits, 2 rounds, 200 iterations, 2 seeds")
    return parser


def _folder(text: str) -> Path:
    """``--out``'s type: ``Path("")`` would quietly mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return Path(text)


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    """The preset (``FULL`` or ``QUICK``) with every given option applied.

    Raises
    ------
    ValueError
        Naming a bad option and its value.
    """
    preset = QUICK if args.quick else FULL
    given = {field: getattr(args, field) for field in
             ("dataset", "target_sparsity", "rounds", "eval_every", "late_rewind_iteration",
              "fine_tune_iterations", "data_dir")}
    changes = {k: v for k, v in given.items() if v is not None}
    if args.seeds is not None:
        changes["seeds"] = tuple(args.seeds)
    if args.quick and changes.get("dataset", preset.dataset) != "digits":
        changes["subset"] = QUICK_SUBSET
    settings = dataclasses.replace(preset, **changes)
    if args.epochs is not None or args.iterations is not None:
        settings = settings.with_length(epochs=args.epochs, iterations=args.iterations)
    return settings


def main(argv: Optional[Sequence[str]] = None, parser: Optional[argparse.ArgumentParser] = None) -> int:
    """Run the benchmark, print its table and write ``results.json`` and the figures; return the exit status.

    The output folder is checked (and created) before anything runs, and every job's
    result is saved into its ``jobs/`` folder as it arrives (:mod:`.store`), so that
    ``--resume`` after an interruption runs only the jobs still missing.

    ``parser``, when given, receives the benchmark's arguments and reports the
    errors (the ``lottery-np`` command passes its own, which prints one line).
    """
    parser = build_parser(parser)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        data = load_data(settings.dataset, settings.data_dir, settings.subset)
        settings = settings.resolve(len(data.X_train), data.n_features, data.n_classes)
        out = args.out or Path("results") / ("quick" if args.quick else settings.dataset)
        folder = open_jobs_folder(out, args.resume)
        finished = load_jobs(folder, settings) if args.resume else []
    except SettingError as error:  # the benchmark's options are its settings' names, dashed
        parser.error(f"--{error.setting.split('[')[0].replace('_', '-')}: {' '.join(str(error).split())}")
    except ValueError as error:
        parser.error(" ".join(str(error).split()))
    sizes = "-".join(map(str, settings.layer_sizes))
    print(f"{settings.dataset} {data.sizes}, network {sizes}, seeds {list(settings.seeds)}, "
          f"{settings.iterations} iterations per training (eval every {settings.eval_every}), "
          f"late rewind to iteration {settings.late_rewind_iteration}, n_jobs {args.n_jobs}")
    print("densities %: " + ", ".join(f"{100 * d:.2f}" for d in settings.densities()))
    if args.resume:
        print(f"resumed {len(finished)} of {job_count(settings)} jobs from {folder}")
    start = time.perf_counter()
    runs = run_benchmark(settings, n_jobs=args.n_jobs, backend=args.backend, finished=finished,
                         on_result=functools.partial(save_job, folder, settings))
    wall_time = time.perf_counter() - start
    print(format_table(runs))
    print(format_tickets(runs))
    print(f"wall time {wall_time:.0f} s")
    paths = [write_results(out, settings, runs, environment(args.n_jobs, args.backend), wall_time)]
    paths += write_plots(out, runs, data.image_shape)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
