"""``lottery-np train-sparse``: one network trained sparse from its first step, by a named method at a density.

The mask is chosen before training (``random``, ``erk``, ``snip``, ``grasp``, ``synflow`` and
their ablations) or moves while the network learns (``set``, ``rigl``), as
:func:`lottery_np.experiment.masks_at_init` and :class:`lottery_np.sparse.Rewiring` define them;
every step runs the engine's sparse kernels at the network's density. The run saves its
:class:`~lottery_np.training_state.TrainingState` every ``--checkpoint-every`` seconds, so an
interrupted run continues with ``--resume`` to the numbers it would have given uninterrupted.
At the end the trained network is compacted (dead units removed, :func:`lottery_np.export.compact`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import fields
from pathlib import Path

from .. import schema, validation
from ..config import TrainingConfig
from ..data import load_dataset
from ..engine import threads
from ..experiment import METHODS_FROM_START, REINIT_SEED_OFFSET, masks_at_init
from ..export import compact
from ..files import owned_folder, parse_json, write_text_atomic
from ..model import MLP
from ..pruning import NUMERICS_VERSION
from ..sparse import REWIRINGS, Rewiring
from ..training import train
from ..training_state import TrainingCheckpoint
from .find_ticket import (EXCLUSIVE, INTERRUPTED, add_data_options, add_run_folder_options, add_settings,
                          _finite_float, _integer)
from .run_folder import interrupted_message, refuse_earlier_run

SETTINGS, STATE, RESULT, COMPACT = "settings.json", "state.npz", "result.json", "compact.npz"
MAY_CHANGE_ON_RESUME = ("data_dir", "download", "out", "resume", "progress", "threads", "checkpoint_every")
"""Options a resumed run may change: where files are, what is shown, how often the state is saved."""

EPILOG = """\
files written to RUN_DIR:
  settings.json    the options of this run (a resumed run must keep them)
  state.npz        the run every --checkpoint-every seconds (continue an interrupted run with --resume)
  result.json      accuracies (at early stopping, final, best seen), learning curve, connectivity updates
  compact.npz      the trained network with its dead units removed (CompactNetwork.save_npz)
  *.png            the learning curve, and the first layer's connections per input pixel

example (seconds on the 8x8 digits):
  lottery-np train-sparse --method rigl --density 0.1 --dataset digits --hidden 100 50 --epochs 20 --out runs/rigl
"""


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train-sparse`` and its options to the sub-command list ``commands``."""
    parser = commands.add_parser(
        "train-sparse", help="train one network sparse from its first step (SNIP, GraSP, SynFlow, SET, RigL, ...)",
        description="Choose a mask before training, or move it while training, and train the sparse network\n"
                    "on the sparse kernels; report its accuracy, its speed and its compacted size.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    method = parser.add_argument_group("sparse network")
    method.add_argument("--method", required=True, choices=METHODS_FROM_START, metavar="METHOD",
                        help=f"how the mask is chosen or moved: one of {', '.join(METHODS_FROM_START)}")
    method.add_argument("--density", required=True, type=_finite_float, metavar="D",
                        help="fraction of the weights kept, in (0, 1]")
    method.add_argument("--seed", type=_integer, default=0, metavar="S",
                        help="seeds the initialization, the mask's draws and the data order (default: 0)")
    defaults = {field.name: field.default for field in fields(Rewiring)}
    for name, meaning in (("update_every", "iterations between connectivity updates"),
                          ("drop_fraction", "fraction of the connections moved at the first update"),
                          ("stop_fraction", "fraction of training after which connections stay")):
        kind = _integer if name == "update_every" else _finite_float
        method.add_argument("--" + name.replace("_", "-"), type=kind, default=defaults[name], metavar="X", help=f"set and rigl: {meaning} (default: %(default)s)")
    add_data_options(parser)
    add_settings(parser, "training", schema.TRAINING, EXCLUSIVE[1])
    add_run_folder_options(parser, "folder for the settings, state, result, compact network and plots")
    parser.add_argument("--checkpoint-every", type=_finite_float, default=60.0, metavar="SECONDS",
                        help="seconds between two saves of the run's state (default: %(default)s)")
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Train the network ``args`` describes, save its run folder, print the report; the exit status."""
    if args.iterations is None and args.epochs is None:
        args.iterations = schema.PAPER_ITERATIONS  # so that settings.json records it
    threads.configure(args.threads)
    density = validation.real("density", args.density, 0.0, 1.0, low_open=True)
    validation.real("checkpoint_every", args.checkpoint_every, 0.0)
    config = TrainingConfig(**{s.name: getattr(args, s.dest) for s in schema.TRAINING})
    out = Path(args.out)
    settings = {**{k: v for k, v in vars(args).items() if k not in ("command", "command_parser")},
                "numerics": NUMERICS_VERSION}
    refuse_earlier_run(out, (STATE, RESULT), args.resume)
    if args.resume and (out / RESULT).is_file():
        print(report(parse_json((out / RESULT).read_text()), out))
        return 0
    data = load_dataset(args.dataset, args.data_dir, download=args.download)
    model = MLP((data.n_features, *args.hidden, data.n_classes), seed=args.seed)
    total = config.total_iterations(len(data.X_train))
    rewiring = (Rewiring(args.method, total, args.update_every, args.drop_fraction, args.stop_fraction, args.seed)
                if args.method in REWIRINGS else None)
    fingerprint = {**{k: v for k, v in settings.items() if k not in MAY_CHANGE_ON_RESUME}, "data": _digest(data)}
    with owned_folder(out, "--out"):
        checkpoint = TrainingCheckpoint(out / STATE, fingerprint, args.checkpoint_every)
        resume_from = checkpoint.load() if args.resume and checkpoint.exists() else None
        if resume_from is None:
            refuse_earlier_run(out, (STATE, RESULT), args.resume)  # again: another run may have started there meanwhile
            model = _masked_at_init(model, args.method, data, max(1, round(density * model.n_weights)), args.seed)
        write_text_atomic(out / SETTINGS, json.dumps(settings, indent=2) + "\n")
        try:
            result = train(model, data, config, seed=args.seed, rewiring=rewiring, checkpoint=checkpoint,
                           resume_from=resume_from, progress=args.progress, description=args.method)
        except KeyboardInterrupt:
            print(("\n" if args.progress else "") + interrupted_message(
                f"the run up to iteration {checkpoint.load().iteration} is saved in {checkpoint.path}"
                if checkpoint.exists() else None, argv), file=sys.stderr)
            return INTERRUPTED
        summary = _save(out, model, result, rewiring, settings, data.image_shape)
    print(report(summary, out))
    return 0


def _masked_at_init(model: MLP, method: str, data, n_keep: int, seed: int) -> MLP:
    """``model`` masked by ``method`` (a ``..._reinit`` ablation: the masks over a fresh initialization)."""
    masks = masks_at_init(method, model, data, n_keep, seed)
    if method.endswith("_reinit"):
        model = MLP(model.layer_sizes, seed=seed + REINIT_SEED_OFFSET)
    model.set_masks(masks)
    return model


def _save(out: Path, model: MLP, result, rewiring, settings: dict, image_shape) -> dict:
    """Write ``compact.npz``, ``result.json`` and the plots; return what ``result.json`` holds."""
    from ..plots import plot_first_layer_mask, plot_learning_curves  # matplotlib: slow to import, drawn at the end

    network = compact(model)
    network.save_npz(out / COMPACT)
    updates = [] if rewiring is None else rewiring.updates
    summary = {
        "settings": settings, "density": model.density, "layer_counts": [int(m.sum()) for m in model.masks],
        "compact_sizes": list(network.compact_sizes), "early_stop_iteration": result.early_stop_iteration,
        "early_stop_test_accuracy": result.early_stop_test_accuracy,
        "final_test_accuracy": result.final_test_accuracy,
        "best_test_accuracy": max(result.curve.test_accuracy), "wall_time": result.wall_time,
        "update_seconds": sum(u["seconds"] for u in updates), "updates": updates, "curve": result.curve.to_dict(),
    }
    write_text_atomic(out / RESULT, json.dumps(summary, indent=2) + "\n")
    plot_learning_curves({settings["method"]: summary["curve"]}, out / "learning_curve.png")
    if image_shape is not None and len(image_shape) == 2:
        plot_first_layer_mask(model.masks[0], image_shape, out / "input_connections.png")
    return summary


def report(summary: dict, out: Path) -> str:
    """Accuracies, sizes and seconds of a finished run, and where its files are."""
    settings = summary["settings"]
    return "\n".join([
        f"{settings['method']} at density {summary['density']:.4f} ({'-'.join(map(str, summary['layer_counts']))} "
        f"weights per layer), {summary['wall_time']:.1f} s, of which connectivity updates "
        f"{summary['update_seconds']:.1f} s",
        f"test accuracy: {summary['early_stop_test_accuracy']:.4f} at early stopping (iteration "
        f"{summary['early_stop_iteration']}), {summary['final_test_accuracy']:.4f} final, "
        f"{summary['best_test_accuracy']:.4f} best seen",
        f"compacted: {'-'.join(map(str, summary['compact_sizes']))} units",
        f"files: {out}",
    ])


def _digest(data) -> str:
    """The data's fingerprint: a resumed run on other data is refused."""
    sha = hashlib.sha256()
    for array in (data.X_train, data.y_train, data.X_val, data.y_val):
        sha.update(memoryview(array.tobytes()))
    return sha.hexdigest()
