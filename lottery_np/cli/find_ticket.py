"""``lottery-np find-ticket``: search for a winning ticket and keep everything about the search.

The options become a :class:`~lottery_np.pruning.LotteryTicketPruner`, built before any
data is loaded so that a typo fails at once rather than after a download; the network is
an :class:`~lottery_np.model.MLP` whose input and output sizes come from the data. What
the run folder holds is described in :mod:`.run_folder`.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .. import schema
from ..data import LOADERS, load_dataset
from ..engine import threads
from ..files import owned_folder
from ..model import MLP
from ..pruning import NUMERICS_VERSION, LotteryTicketPruner, RewindStrategy, WinningTicket
from ..validation import SettingError
from .run_folder import CHECKPOINT, check_run_folder, interrupted_message, record_settings, save_run

INTERRUPTED = 130  # the shell's exit status for a run stopped by Ctrl-C (128 + SIGINT)

EXCLUSIVE = (("target_sparsity", "pruning_rate"), ("iterations", "epochs"))
"""Settings given one or the other: each pair is a mutually exclusive group of options. Every other setting of
:mod:`lottery_np.schema` with a flag is an option of its own, in the group of its kind (pruning or training)."""

# Settings that are not the pruner's, and the rewind point (checked against the training length), by option.
OTHER_OPTIONS = {"rewind_strategy": "--rewind", "rewind_iteration": "--rewind", "threads": "--threads",
                 threads.ENVIRONMENT_VARIABLE: threads.ENVIRONMENT_VARIABLE}

EPILOG = """\
files written to RUN_DIR:
  settings.json   the options of this run (a resumed run must keep them)
  checkpoint.npz  the search after every finished round (continue an interrupted run with --resume)
  ticket.npz      the winning ticket: masks, rewound weights, initialization, history
  history.json    the settings and every round's density, accuracies and learning curve
  *.png           plots of the run (also: lottery-np plot RUN_DIR)

example (seconds on the 8x8 digits):
  lottery-np find-ticket --dataset digits --hidden 100 50 --epochs 20 --rounds 5 --out runs/digits
"""


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``find-ticket`` and its options to the sub-command list ``commands``."""
    parser = commands.add_parser(
        "find-ticket", help="find a winning ticket by iterative magnitude pruning",
        description="Train, prune the smallest surviving weights, rewind the rest, and repeat;\n"
                    "keep the sparsest round that trains as well as the dense network.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_options(parser)
    groups = {title: add_settings(parser, title, settings, pair)
              for title, settings, pair in (("pruning", schema.PRUNING, EXCLUSIVE[0]),
                                            ("training (every round)", schema.TRAINING, EXCLUSIVE[1]))}
    groups["pruning"].add_argument("--rewind", default="init", metavar="{init,iteration:K,lr}",
                                   help="where the survivors restart: their initialization, their value after K "
                                        "iterations of the dense run, or their trained value (default: %(default)s)")

    add_run_folder_options(parser, "folder for the settings, checkpoint, ticket, history and plots")
    return parser


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The options of the dataset and the network's hidden layers (shared by the commands that train)."""
    data = parser.add_argument_group("data and network")
    data.add_argument("--dataset", choices=list(LOADERS), default="mnist", help="default: %(default)s")
    data.add_argument("--data-dir", metavar="DIR",
                      help="folder holding the IDX files, or its parent (digits need none), the only one used "
                           "if given; default: $LOTTERY_NP_DATA, then the user cache, downloading into it if needed")
    data.add_argument("--no-download", dest="download", action="store_false", help="never download a dataset")
    data.add_argument("--hidden", nargs="+", type=_positive_int, default=[300, 100], metavar="SIZE",
                      help="hidden layer sizes; input and output sizes come from the data (default: 300 100)")


def add_run_folder_options(parser: argparse.ArgumentParser, holds: str) -> None:
    """--out, --resume, --no-progress and --threads (shared by the commands that train)."""
    output = parser.add_argument_group("run folder")
    output.add_argument("--out", required=True, metavar="RUN_DIR", type=_folder,
                        help=holds)
    output.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR, with its settings")
    output.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    output.add_argument("--threads", metavar="N",
                        help=f"threads of the kernels, a number or {threads.AUTO} (the cores nothing else is "
                             f"using; default: ${threads.ENVIRONMENT_VARIABLE}, else {threads.DEFAULT_THREADS}); "
                             "the numbers do not depend on it")


def add_settings(parser: argparse.ArgumentParser, title: str, settings, pair: tuple) -> argparse._ArgumentGroup:
    """A group of options, one per setting of ``settings`` with a flag; the two of ``pair`` exclude each other."""
    group = parser.add_argument_group(title)
    one_of = group.add_mutually_exclusive_group()
    for name in pair:
        add_option(one_of, name)
    for setting in settings:
        if setting.flag and setting.name not in pair:
            add_option(group, setting.name)
    return group


def add_option(group, name: str) -> None:
    """The option of setting ``name``, made from its declaration (:class:`lottery_np.schema.Setting`)."""
    setting = schema.SETTINGS[name]
    kind = {int: _integer, float: _finite_float, str: str}[setting.kind]
    text = schema.help_of(name)
    if setting.metavar and setting.choices:  # a metavar hides the choices, too many to show in the usage line
        text = f"{text}; one of {', '.join(setting.choices)}"
    group.add_argument(setting.flag, type=kind, default=setting.default, metavar=setting.metavar,
                       choices=setting.choices, help=text.replace("%", "%%"))


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Search for the ticket that ``args`` describes and save it; ``argv`` is the command line, for resuming."""
    if args.iterations is None and args.epochs is None:
        args.iterations = schema.PAPER_ITERATIONS  # so that history.json records it
    if args.target_sparsity is None and args.pruning_rate is None:
        args.target_sparsity = schema.DEFAULT_TARGET_SPARSITY  # likewise
    threads.configure(args.threads)
    pruner = build_pruner(args)
    out = Path(args.out)
    settings = {**{name: value for name, value in vars(args).items() if name not in ("command", "threads")},
                "numerics": NUMERICS_VERSION}
    check_run_folder(out, settings, args.resume)  # before the data loads: a mistake is told at once
    data = load_dataset(args.dataset, args.data_dir, download=args.download)
    model = MLP((data.n_features, *args.hidden, data.n_classes), seed=args.seed)
    with owned_folder(out, "--out"):  # no other run writes here until this one ends
        check_run_folder(out, settings, args.resume)  # again: another run may have finished there meanwhile
        record_settings(out, settings)
        checkpoint = out / CHECKPOINT
        try:
            ticket = pruner.find_ticket(model, data, checkpoint=checkpoint, resume=args.resume,
                                        progress=args.progress)
            files = save_run(out, ticket, data.image_shape, settings)
        except KeyboardInterrupt:
            print(("\n" if args.progress else "") + interrupted_message(
                f"the finished rounds are saved in {checkpoint}" if checkpoint.exists() else None, argv), file=sys.stderr)
            return INTERRUPTED
    print(report(ticket, files))
    return 0


def build_pruner(args: argparse.Namespace) -> LotteryTicketPruner:
    """The pruner the options describe.

    Raises
    ------
    ValueError
        Naming the first bad setting (a :class:`~lottery_np.validation.SettingError`; see :func:`option_of`).
    """
    builder = LotteryTicketPruner.builder().rewind_strategy(RewindStrategy.parse(args.rewind))
    given = {name: getattr(args, schema.SETTINGS[name].dest) for name in builder.SETTINGS
             if schema.SETTINGS[name].flag is not None}
    return builder.configure(**{name: value for name, value in given.items() if value is not None}).build()


def report(ticket: WinningTicket, files: list[Path]) -> str:
    """The rounds as a table, the ticket chosen, and where the files went."""
    record, dense = ticket.record, ticket.history[0]
    lines = [
        ticket.summary(),
        "",
        f"winning ticket: round {ticket.pruning_round}, density {ticket.density:.4f} "
        f"({100 * (1 - ticket.density):.1f} % of the weights pruned); test accuracy at early stopping "
        f"{record.early_stop_test_accuracy:.4f} (dense: {dense.early_stop_test_accuracy:.4f})",
        "files:",
        *(f"  {path}" for path in files),
    ]
    return "\n".join(lines)


def option_of(error: SettingError) -> str:
    """The command-line option of the setting that ``error`` names (``pruning_rounds`` -> ``--rounds``)."""
    return schema.flag_of(error.setting) or OTHER_OPTIONS.get(error.setting, "--" + error.setting.replace("_", "-"))


def _folder(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return text


def _integer(text: str) -> int:
    """An integer as typed (its range is the setting's rule, checked with the others)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value
