"""The paper's own LeNet-300-100 protocol (Frankle & Carbin, 2019, Figures 3-5), as a resumable grid.

Per seed, the grid holds

* one ``lottery_ticket`` job: IMP rewinding to the initialization at the paper's fixed
  rate (20 % of each hidden layer's survivors per round, 10 % of the output layer's)
  for ``rounds`` rounds; after round ``r`` a fraction ``Pm`` of the weights remains;
* one ``one_shot`` job: the dense network, trained once, pruned in one step to each
  control round's per-layer counts, rewound to the initialization and trained (Figure 4);
* ``random_reinit`` and ``random_mask`` jobs at every control round (Figure 4).

The control rounds (:meth:`PaperSettings.control_rounds`) are those whose ``Pm`` is
nearest the paper's 51.3, 21.1, 7.0, 3.6 and 1.9 % -- nearest on the log axis the paper
plots -- and the last round. Every network trains as the paper's do: Adam at 1.2e-3,
batch 60, evaluation every 100 iterations, early stopping at minimum validation loss.

The jobs are those of :mod:`.jobs`, run in two phases by :func:`.runner.run_phases` and
saved as they finish by :mod:`.store`, so ``--resume`` runs only the missing ones, on
any joblib backend or cluster (:mod:`.cluster`). ``benchmarks/paper_lenet.py`` is the
command line (:func:`main`).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Optional, Sequence

from .. import validation
from ..pruning import LotteryTicketPruner, RewindStrategy, fixed_rate_schedule
from ..files import owned_folder, write_text_atomic
from ..training import TrainingConfig
from . import cluster
from .jobs import Job, load_data
from .runner import CONTROLS, plan_controls, run_phases
from .settings import HIDDEN_LAYERS
from .store import load_jobs, open_jobs_folder, save_job

PAPER_PM = (51.3, 21.1, 7.0, 3.6, 1.9)
"""Percent of weights remaining at which the paper draws its controls and learning curves."""

METHODS = ("lottery_ticket", *CONTROLS, "one_shot")
"""The grid's methods, in the order tables and plots list them."""

PAPER = MappingProxyType({"dataset": "mnist", "seeds": (0, 1, 2), "rounds": 24,
                          "training": TrainingConfig(iterations=50_000, eval_every=100)})
"""The paper's protocol, past its figures: 24 rounds reach Pm = 0.50 %."""

QUICK = MappingProxyType({"dataset": "digits", "seeds": (0, 1), "rounds": 4,
                          "training": TrainingConfig(iterations=300, eval_every=20)})
"""A run of seconds on the 8x8 digits (a 64-300-100-10 network); the tests run it."""


@dataclass(frozen=True)
class PaperSettings:
    """What every job of the paper grid runs; picklable, shared by every worker.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist", "digits"}
    seeds : tuple of int
        Distinct; each draws an initialization and a data order.
    rounds : int
        IMP rounds at ``pruning_rate``.
    training : TrainingConfig
        Every network's training, counted in iterations.
    layer_sizes : tuple of int
        ``(n_features, 300, 100, n_classes)``.
    pruning_rate : float
        Hidden layers' fraction of survivors pruned per round (the output layer: half of it).
    subset : (n_train, n_val, n_test), optional
    data_dir : str, optional
    """

    dataset: str
    seeds: tuple[int, ...]
    rounds: int
    training: TrainingConfig
    layer_sizes: tuple[int, ...]
    pruning_rate: float = 0.2
    subset: Optional[tuple[int, int, int]] = None
    data_dir: Optional[str] = None

    def __post_init__(self):
        seeds = validation.distinct_integers("seeds", self.seeds)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "rounds", validation.integer("rounds", self.rounds, minimum=1))
        if not isinstance(self.training, TrainingConfig) or self.training.iterations is None:
            raise validation.SettingError("training", "a TrainingConfig counted in iterations", self.training)
        object.__setattr__(self, "layer_sizes", tuple(self.layer_sizes))
        self.lottery_pruner(seeds[0], RewindStrategy.Init)  # the builder checks the rate and the training

    @classmethod
    def for_data(cls, n_features: int, n_classes: int, **options) -> "PaperSettings":
        """The settings of ``options`` (e.g. ``PAPER``) for data of these sizes."""
        return cls(layer_sizes=(n_features, *HIDDEN_LAYERS, n_classes), **options)

    def lottery_pruner(self, seed: int, rewind: RewindStrategy, criterion: str = "large_final") -> LotteryTicketPruner:
        """IMP at the fixed ``pruning_rate`` for ``rounds`` rounds, every round trained as ``training`` says,
        pruning by ``criterion``."""
        builder = LotteryTicketPruner.builder().pruning_rate(self.pruning_rate).pruning_rounds(self.rounds)
        return builder.training(self.training).seed(seed).rewind_strategy(rewind).criterion(criterion).build()

    def layer_counts(self):
        """Weights remaining per layer after each round, shape ``(rounds + 1, n_layers)``: the pruner's schedule."""
        sizes = [fan_in * fan_out for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])]
        factors = self.lottery_pruner(self.seeds[0], RewindStrategy.Init).options.layer_rate_factors(len(sizes))
        return fixed_rate_schedule(sizes, factors, self.pruning_rate, self.rounds)

    def densities(self) -> list[float]:
        """``Pm`` of every round as a fraction (round 0 = 1.0)."""
        counts = self.layer_counts()
        return [float(c) / counts[0].sum() for c in counts.sum(axis=1)]

    def paper_rounds(self) -> list[int]:
        """The pruned rounds whose ``Pm`` is nearest (in log) each of ``PAPER_PM``, without repeats."""
        pm = [100 * d for d in self.densities()]
        nearest = [min(range(1, self.rounds + 1), key=lambda r: abs(math.log(pm[r] / target))) for target in PAPER_PM]
        return sorted(set(nearest))

    def control_rounds(self) -> list[int]:
        """:meth:`paper_rounds` and the last round: where the controls and one-shot pruning run."""
        return sorted({*self.paper_rounds(), self.rounds})

    def to_dict(self) -> dict:
        """Plain values for JSON; ``training`` as a dict of its fields."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}


def plan(settings: PaperSettings) -> list[Job]:
    """The jobs that need nothing but the settings, longest first: IMP, then one-shot, per seed."""
    return [Job(method, seed) for method in ("lottery_ticket", "one_shot") for seed in settings.seeds]


def job_count(settings: PaperSettings) -> int:
    """Jobs in the grid: IMP and one-shot, and both controls at every control round, per seed."""
    return len(settings.seeds) * (2 + len(CONTROLS) * len(settings.control_rounds()))


def run_paper(settings: PaperSettings, n_jobs: int = 1, backend: Optional[str] = None, progress: bool = True,
              finished: Sequence[dict] = (), on_result: Optional[Callable[[dict], object]] = None) -> list[dict]:
    """Run the grid (skipping ``finished`` results); results sorted by method (``METHODS``), seed and round."""
    def controls(results: dict) -> list[Job]:
        lottery = [results["lottery_ticket", seed, None] for seed in settings.seeds]
        return plan_controls(settings, lottery, settings.control_rounds())

    results = run_phases(settings, plan(settings), controls, n_jobs, backend, progress, finished, on_result)
    return sorted(results.values(),
                  key=lambda run: (METHODS.index(run["method"]), run["seed"], run.get("pruning_round") or 0))


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``benchmarks/paper_lenet.py``."""
    parser = argparse.ArgumentParser(description="Frankle & Carbin's LeNet-300-100 protocol: winning tickets at "
                                                 "20 %/round vs random reinit, random mask and one-shot pruning.")
    parser.add_argument("--quick", action="store_true", help=f"a run of seconds: {QUICK['dataset']}, "
                        f"{QUICK['rounds']} rounds, {QUICK['training'].iterations} iterations")
    parser.add_argument("--seeds", type=int, nargs="+", help=f"default {' '.join(map(str, PAPER['seeds']))}")
    parser.add_argument("--rounds", type=int, help=f"IMP rounds (default {PAPER['rounds']})")
    parser.add_argument("--iterations", type=int, help=f"iterations per training ({PAPER['training'].iterations})")
    cluster.add_arguments(parser)
    parser.add_argument("--out", type=Path, help="output folder (default results/paper_lenet, results/paper_quick)")
    parser.add_argument("--resume", action="store_true", help="load --out's finished jobs and run only the others")
    parser.add_argument("--data-dir", help="folder of the MNIST files (default $LOTTERY_NP_DATA or the user cache)")
    return parser


def options_from_args(args: argparse.Namespace) -> dict:
    """The preset (``PAPER``, or ``QUICK`` with ``--quick``) with the options given applied."""
    options = dict(QUICK if args.quick else PAPER, data_dir=args.data_dir)
    if args.seeds is not None:
        options["seeds"] = tuple(args.seeds)
    if args.rounds is not None:
        options["rounds"] = args.rounds
    if args.iterations is not None:
        options["training"] = replace(options["training"], iterations=args.iterations)
    return options


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the grid of ``argv``; print the tables, write ``results.json``, ``claims.md`` (the paper's claims
    against ours, :mod:`lottery_np.experiment.paper_claims`) and the figures; return the exit status."""
    # Here, not at the top: both draw with matplotlib, which --help should not import.
    from .paper_claims import format_claims
    from .paper_plots import format_table, write_plots
    from .report import environment

    parser = build_parser()
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        try:
            connection = cluster.options_from_args(args)
            options = options_from_args(args)
            data = load_data(options["dataset"], options["data_dir"], None)
            settings = PaperSettings.for_data(data.n_features, data.n_classes, **options)
            out = args.out or Path("results") / ("paper_quick" if args.quick else "paper_lenet")
            stack.enter_context(owned_folder(out, "--out"))  # no other run writes here until this one ends
            folder = open_jobs_folder(out, args.resume)
            finished = load_jobs(folder, settings) if args.resume else []
        except ValueError as error:  # SettingError is a ValueError
            parser.error(" ".join(str(error).split()))
        print(f"{settings.dataset} {data.sizes}, network {'-'.join(map(str, settings.layer_sizes))}, "
              f"seeds {list(settings.seeds)}, {settings.training.iterations} iterations per training, "
              f"control rounds {settings.control_rounds()}, {job_count(settings)} jobs")
        if args.resume:
            print(f"resumed {len(finished)} of {job_count(settings)} jobs from {folder}")
        with cluster.connect(**connection) as workers:  # a Dask or Ray cluster for the grid's run
            start = time.perf_counter()
            runs = run_paper(settings, workers.n_jobs, finished=finished,
                             on_result=functools.partial(save_job, folder, settings))
            wall_time = time.perf_counter() - start
        print(format_table(runs))
        # After --resume, wall_time covers this invocation only; each job's own wall_time is in runs.
        print(f"wall time {wall_time:.0f} s for {len(runs) - len(finished)} jobs ({len(finished)} resumed); "
              f"the {len(runs)} jobs took {sum(run['wall_time'] for run in runs):.0f} s between them")
        payload = {"settings": settings.to_dict(), "densities": settings.densities(),
                   "control_rounds": settings.control_rounds(), "environment": environment(workers.n_jobs, workers.backend),
                   "wall_time": wall_time, "resumed_jobs": len(finished),
                   "runs": [{k: v for k, v in run.items() if k != "masks"} for run in runs]}
        claims = format_claims(runs)
        print(claims)
        paths = [write_text_atomic(Path(out) / "results.json", json.dumps(payload, indent=1)),
                 write_text_atomic(Path(out) / "claims.md", claims + "\n")]
        paths += write_plots(out, runs, settings.paper_rounds())
        print("wrote " + ", ".join(str(p) for p in paths))
        return 0
