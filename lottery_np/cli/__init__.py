"""The ``lottery-np`` command line (also ``python -m lottery_np``).

Five commands:

* ``lottery-np find-ticket ...`` -- iterative magnitude pruning with rewinding on one
  dataset; the run folder ends up holding the ticket, its history and the plots
  (:mod:`.find_ticket`, :mod:`.run_folder`);
* ``lottery-np train-sparse --method M --density D ...`` -- one network trained sparse from its
  first step, the mask chosen at initialization or moved while it learns (:mod:`.train_sparse`);
* ``lottery-np benchmark ...`` -- the paper's experiments, with the options of
  :mod:`lottery_np.experiment.command` (also ``benchmarks/lth_vs_magnitude.py``);
* ``lottery-np instability [RUN_DIR] ...`` -- instability analysis of a ``find-ticket`` run's
  tickets, or of a network from scratch (:mod:`lottery_np.analysis.command`);
* ``lottery-np plot RUN_DIR`` -- redraw the plots of a finished ``find-ticket`` run.

A mistake on the command line or in the data costs the user one line on stderr,
``lottery-np: error: ...``, and a non-zero exit status -- never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from .. import __version__
from ..analysis import command as instability
from ..data import DatasetNotFoundError
from ..experiment import command as benchmark
from ..failure import DidNotLearnError, TrainingDivergedError
from ..validation import SettingError
from . import find_ticket, train_sparse

PROG = "lottery-np"
USAGE_ERROR, RUN_ERROR = 2, 1  # exit statuses; an interrupted run exits with 130 (128 + SIGINT)


class UsageError(Exception):
    """The command line could not be parsed."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises its errors for :func:`main` to print as one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The ``lottery-np`` parser with its five sub-commands."""
    parser = _Parser(prog=PROG, description="The Lottery Ticket Hypothesis (Frankle & Carbin, 2019), "
                                            "in NumPy and Numba.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    find_ticket.add_parser(commands)
    train_sparse.add_parser(commands)
    benchmark_parser = benchmark.build_parser(commands.add_parser(
        "benchmark", help="run the paper's experiments (see 'lottery-np benchmark --help')",
        description=benchmark.DESCRIPTION,
    ))
    benchmark_parser.set_defaults(command_parser=benchmark_parser)  # reports the benchmark's bad settings
    instability_parser = instability.build_parser(commands.add_parser(
        "instability", help="instability analysis: the error barrier between two copies trained from iteration k",
        description=instability.DESCRIPTION,
    ))
    instability_parser.set_defaults(command_parser=instability_parser)
    plot = commands.add_parser("plot", help="redraw the plots of a find-ticket run",
                               description="Redraw the plots of a finished find-ticket run folder.")
    plot.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="the --out folder of a finished find-ticket run")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one ``lottery-np`` command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _refuse_unknown_before_command(argv)
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:  # left over by the command's parser: its help lists what it takes
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see '{PROG} {args.command} --help')")
    except UsageError as error:
        return _fail(str(error), USAGE_ERROR)
    except SystemExit as stop:  # --help and --version
        return _exit_status(stop)
    try:
        if args.command == "benchmark":
            return benchmark.run(args, args.command_parser)
        if args.command == "instability":
            return instability.run(args, args.command_parser)
        if args.command == "plot":
            return _plot(args.run_dir)
        if args.command == "train-sparse":
            return train_sparse.run(args, argv)
        return find_ticket.run(args, argv)
    except UsageError as error:  # the benchmark's settings or --out, refused before any job runs
        return _fail(str(error), USAGE_ERROR)
    except DatasetNotFoundError as error:
        return _fail(_dataset_not_found(error), RUN_ERROR)
    except SettingError as error:
        return _fail(f"{find_ticket.option_of(error)}: {_one_line(error)}", RUN_ERROR)
    except (ValueError, TypeError, OSError, TrainingDivergedError, DidNotLearnError) as error:
        return _fail(_one_line(error), RUN_ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", find_ticket.INTERRUPTED)


def _refuse_unknown_before_command(argv: list[str]) -> None:
    """Name an unknown option given where the command belongs (argparse would only say a command is missing)."""
    for argument in argv:
        if not argument.startswith("-"):
            return
        if argument not in ("-h", "--help", "--version"):
            raise UsageError(f"unrecognized arguments: {argument} (see '{PROG} --help')")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _plot(run_dir: Path) -> int:
    from ..plots import plot_run  # here: matplotlib takes a third of a second to import, --help should not wait

    for path in plot_run(run_dir):
        print(path)
    return 0


def _dataset_not_found(error: DatasetNotFoundError) -> str:
    """The loader's advice, rephrased for the command line."""
    reason = str(error).splitlines()[-1].replace("(download=False)", "(--no-download)")
    reason = reason.replace("data_dir names ", "--data-dir names ", 1)
    folders = ", ".join(str(folder) for folder in error.searched)
    return (f"{error.dataset} was not found in {folders}; pass --data-dir with the folder holding its four IDX "
            f"files (or its parent). {reason}")


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _exit_status(stop: SystemExit) -> int:
    return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
