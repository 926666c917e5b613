"""``lottery-np find-ticket``: search for a winning ticket and keep everything about the search.

The options become a :class:`~lottery_np.pruning.LotteryTicketPruner`, built before any
data is loaded so that a typo fails at once rather than after a download; the network is
an :class:`~lottery_np.model.MLP` whose input and output sizes come from the data. What
the run folder holds is described in :mod:`.run_folder`.
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from ..engine import threads
from ..data import LOADERS, load_dataset
from ..model import MLP
from ..optim import Adam
from ..pruning import (DEFAULT_ACCURACY_TOLERANCE, NUMERICS_VERSION, LotteryTicketPruner, PruningOptions,
                       RewindStrategy, WinningTicket)
from ..validation import SettingError
from .run_folder import CHECKPOINT, check_run_folder, record_settings, save_run

INTERRUPTED = 130  # the shell's exit status for a run stopped by Ctrl-C (128 + SIGINT)
DEFAULTS = PruningOptions()  # the paper's settings for LeNet-300-100 on MNIST

# The pruner's errors name its settings (SettingError.setting); the user typed these options.
OPTION_NAMES = {
    "target_sparsity": "--target-sparsity", "pruning_rate": "--pruning-rate", "pruning_rounds": "--rounds", "rewind": "--rewind",
    "rewind_strategy": "--rewind", "rewind_iteration": "--rewind", "iterations": "--iterations", "epochs": "--epochs",
    "adam_bias_correction": "--adam-bias-correction",
    "eval_every": "--eval-every", "seed": "--seed", "batch_size": "--batch-size", "optimizer": "--optimizer",
    "learning_rate": "--learning-rate", "scope": "--scope", "output_rate_factor": "--output-rate-factor",
    "accuracy_tolerance": "--accuracy-tolerance", "threads": "--threads",
    threads.ENVIRONMENT_VARIABLE: threads.ENVIRONMENT_VARIABLE,
}

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
    data = parser.add_argument_group("data and network")
    data.add_argument("--dataset", choices=list(LOADERS), default="mnist", help="default: %(default)s")
    data.add_argument("--data-dir", metavar="DIR",
                      help="folder holding the IDX files, or its parent (digits need none); default: "
                           "$LOTTERY_NP_DATA, then the user cache, downloading into it if needed")
    data.add_argument("--no-download", dest="download", action="store_false", help="never download a dataset")
    data.add_argument("--hidden", nargs="+", type=_positive_int, default=[300, 100], metavar="SIZE",
                      help="hidden layer sizes; input and output sizes come from the data (default: 300 100)")

    pruning = parser.add_argument_group("pruning")
    amount = pruning.add_mutually_exclusive_group()
    amount.add_argument("--target-sparsity", type=_finite_float, metavar="S",
                        help=f"fraction of the weights removed after the last round (default: {DEFAULTS.target_sparsity})")
    amount.add_argument("--pruning-rate", type=_finite_float, metavar="P",
                        help="instead: fraction of each layer's surviving weights pruned every round, the output "
                             "layer's times --output-rate-factor (the paper's: 0.2)")
    pruning.add_argument("--rounds", type=int, default=DEFAULTS.pruning_rounds, metavar="N",
                         help="prune-and-retrain rounds after the dense one (default: %(default)s)")
    pruning.add_argument("--rewind", default="init", metavar="{init,iteration:K,lr}",
                         help="where the survivors restart: their initialization, their value after K "
                              "iterations of the dense run, or their trained value (default: %(default)s)")
    pruning.add_argument("--scope", choices=["layerwise", "global"], default=DEFAULTS.scope,
                         help="prune each layer by the same rate, or all by one threshold (default: %(default)s)")
    pruning.add_argument("--output-rate-factor", type=_finite_float, default=DEFAULTS.output_rate_factor,
                         metavar="F", help="output layer's rate relative to the others' (default: %(default)s)")
    pruning.add_argument("--accuracy-tolerance", type=_finite_float, default=DEFAULT_ACCURACY_TOLERANCE, metavar="T",
                         help="how far below the dense validation accuracy a ticket may fall (default: %(default)s)")

    training = parser.add_argument_group("training (every round)")
    length = training.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=int, metavar="N",
                        help=f"default: {DEFAULTS.training.iterations:,}, the paper's")
    length.add_argument("--epochs", type=_finite_float, metavar="E",
                        help="passes over the training set, instead of --iterations")
    training.add_argument("--eval-every", type=int, default=DEFAULTS.training.eval_every, metavar="N",
                          help="iterations between evaluations (default: %(default)s)")
    training.add_argument("--batch-size", type=int, default=DEFAULTS.training.batch_size, metavar="N",
                          help="default: %(default)s")
    training.add_argument("--optimizer", choices=["adam", "sgd"], default=DEFAULTS.training.optimizer,
                          help="default: %(default)s")
    training.add_argument("--learning-rate", type=_finite_float, default=DEFAULTS.training.learning_rate,
                          metavar="LR", help="default: %(default)s")
    training.add_argument("--adam-bias-correction", choices=list(Adam.FORMS),
                          default=DEFAULTS.training.adam_bias_correction,
                          help="Adam's form: bias correction folded into the step size (TensorFlow 1's, the paper's) "
                               "or applied to the moments (PyTorch's); default: %(default)s")
    training.add_argument("--seed", type=_non_negative_int, default=DEFAULTS.seed, metavar="S",
                          help="seeds the initialization and the data order (default: %(default)s)")

    output = parser.add_argument_group("run folder")
    output.add_argument("--out", required=True, metavar="RUN_DIR", type=_folder,
                        help="folder for the settings, checkpoint, ticket, history and plots")
    output.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR, with its settings")
    output.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    output.add_argument("--threads", metavar="N",
                        help=f"threads of the kernels, a number or {threads.AUTO} (the cores nothing else is "
                             f"using; default: ${threads.ENVIRONMENT_VARIABLE}, else {threads.DEFAULT_THREADS}); "
                             "the numbers do not depend on it")
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Search for the ticket that ``args`` describes and save it; ``argv`` is the command line, for resuming."""
    if args.iterations is None and args.epochs is None:
        args.iterations = DEFAULTS.training.iterations  # so that history.json records it
    if args.target_sparsity is None and args.pruning_rate is None:
        args.target_sparsity = DEFAULTS.target_sparsity  # likewise
    threads.configure(args.threads)
    pruner = build_pruner(args)
    out = Path(args.out)
    settings = {**{name: value for name, value in vars(args).items() if name not in ("command", "threads")},
                "numerics": NUMERICS_VERSION}
    check_run_folder(out, settings, args.resume)
    data = load_dataset(args.dataset, args.data_dir, download=args.download)
    model = MLP((data.n_features, *args.hidden, data.n_classes), seed=args.seed)
    record_settings(out, settings)
    checkpoint = out / CHECKPOINT
    try:
        ticket = pruner.find_ticket(model, data, checkpoint=checkpoint, resume=args.resume, progress=args.progress)
        files = save_run(out, ticket, data.image_shape, settings)
    except KeyboardInterrupt:
        print(("\n" if args.progress else "") + interrupted_message(checkpoint, argv), file=sys.stderr)
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
    builder = (LotteryTicketPruner.builder()
               .pruning_rounds(args.rounds)
               .rewind_strategy(RewindStrategy.parse(args.rewind))
               .scope(args.scope)
               .output_rate_factor(args.output_rate_factor)
               .accuracy_tolerance(args.accuracy_tolerance)
               .eval_every(args.eval_every)
               .batch_size(args.batch_size)
               .optimizer(args.optimizer, args.learning_rate)
               .adam_bias_correction(args.adam_bias_correction)
               .seed(args.seed))
    if args.target_sparsity is not None:
        builder.target_sparsity(args.target_sparsity)
    if args.pruning_rate is not None:
        builder.pruning_rate(args.pruning_rate)
    if args.epochs is not None:
        builder.epochs(args.epochs)
    else:
        builder.iterations(args.iterations)
    return builder.build()


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


def interrupted_message(checkpoint: Path, argv: list[str]) -> str:
    """One line: what an interrupted run kept, and the command that continues it."""
    command = shlex.join(["lottery-np", *argv, *([] if "--resume" in argv else ["--resume"])])
    if checkpoint.exists():
        return f"lottery-np: interrupted; the finished rounds are saved in {checkpoint}; continue with: {command}"
    return f"lottery-np: interrupted before the first round finished, nothing saved; start again with: {command}"


def option_of(error: SettingError) -> str:
    """The command-line option of the setting that ``error`` names (``pruning_rounds`` -> ``--rounds``)."""
    return OPTION_NAMES.get(error.setting, "--" + error.setting.replace("_", "-"))


def _folder(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return text


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _non_negative_int(text: str) -> int:
    return _integer(text, 0, "a non-negative integer")


def _integer(text: str, lowest: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lowest - 1
    if value < lowest:
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value
