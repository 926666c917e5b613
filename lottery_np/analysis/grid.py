"""The instability grid: rewind iterations, densities and controls, as pure jobs any joblib backend runs.

Per seed (an initialization and the data order of its first ``k`` updates) the grid holds

* ``imp`` -- iterative magnitude pruning rewinding to the initialization, every round's
  masks kept; or, for a ``lottery-np find-ticket`` run folder, that run's rounds, read from
  its checkpoint instead of run (:mod:`~lottery_np.analysis.command`). Beyond the paper it measures the error
  barrier between the trained networks of successive rounds (Paul et al., "Unmasking the
  Lottery Ticket Hypothesis", ICLR 2023);
* ``dense`` at every rewind iteration ``k`` of ``rewind_iterations``;
* ``ticket`` -- the IMP masks of each round of ``rounds`` at ``k = 0``, and those of
  ``sweep_round`` at every ``k``: the paper's subnetwork ``m ⊙ W_k`` (Section 4);
* the controls at ``k = 0`` and each round of ``rounds``: ``random_pruning`` (a random
  mask of the round's per-layer counts) and ``random_reinit`` (the round's masks over
  another initialization).

Every job but ``imp`` is one :func:`~.instability.instability_analysis`. Jobs run in two
phases (``imp`` first: the others need its masks) through the benchmark's runner, so the
numbers do not depend on ``n_jobs`` or on the backend, and each result is saved as it
arrives (:mod:`~lottery_np.analysis.store`).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np

from .. import validation
from ..config import TrainingConfig
from ..engine import SampleBlocks, threads
from ..experiment import REINIT_SEED_OFFSET, exit_with_parent, load_data, run_phases
from ..model import MLP
from ..pruning import LotteryTicketPruner, RunState, random_masks, read_checkpoint
from .barrier import PATH_POINTS, linear_path
from .instability import DATA_SEEDS, TRAIN_EXAMPLES, check_data_seeds, dense_at, instability_analysis

METHODS = ("dense", "ticket", "random_pruning", "random_reinit")
"""The networks whose instability the grid measures, in the order tables and figures list them."""

CONTROLS = ("random_pruning", "random_reinit")


@dataclass(frozen=True)
class InstabilitySettings:
    """What every job of the grid runs; picklable, checked when made.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist", "digits"}
    layer_sizes : tuple of int
    training : TrainingConfig
        The whole schedule, counted in iterations: every network trains to its end.
    seeds : tuple of int
        Distinct; each draws an initialization and the data order of the first ``k`` updates.
    rewind_iterations : tuple of int
        ``k`` of the dense network (and of ``sweep_round``'s ticket), each below the iterations.
    rounds : tuple of int
        The IMP rounds whose tickets and controls are analysed at ``k = 0``.
    sweep_round : int, optional
        The IMP round whose ticket is analysed at every ``k`` of ``rewind_iterations``.
    pruning_rate, pruning_rounds : float, int
        The ``imp`` job's IMP: ``pruning_rounds`` rounds at ``pruning_rate`` per round (0 rounds: no IMP).
    source : str
        ``"imp"``: the ``imp`` jobs run; otherwise the run folder whose rounds they are, with its
        checkpoint's digest (a resume refuses jobs of another run).
    points, train_examples, data_seeds
        As :func:`~.instability.instability_analysis` takes them.
    subset, data_dir
        As the benchmark's settings hold them.
    """

    dataset: str
    layer_sizes: tuple
    training: TrainingConfig
    seeds: tuple
    rewind_iterations: tuple
    rounds: tuple = ()
    sweep_round: Optional[int] = None
    pruning_rate: float = 0.2
    pruning_rounds: int = 0
    source: str = "imp"
    points: int = PATH_POINTS
    train_examples: int = TRAIN_EXAMPLES
    data_seeds: tuple = DATA_SEEDS
    subset: Optional[tuple] = None
    data_dir: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.training, TrainingConfig) or self.training.iterations is None:
            raise validation.SettingError("training", "a TrainingConfig counted in iterations", self.training)
        seeds = validation.distinct_integers("seeds", self.seeds)
        ks = validation.distinct_integers("rewind_iterations", self.rewind_iterations,
                                          maximum=self.training.iterations - 1)
        pruning_rounds = validation.integer("pruning_rounds", self.pruning_rounds, minimum=0)
        rounds = validation.distinct_integers("rounds", self.rounds, minimum=1, maximum=max(pruning_rounds, 1),
                                              at_least_one=False)
        if rounds and not pruning_rounds:
            raise validation.SettingError("rounds", "empty when no IMP runs (pruning_rounds 0)", list(rounds))
        if self.sweep_round is not None:
            if not pruning_rounds:
                raise validation.SettingError("sweep_round", "None when no IMP runs (pruning_rounds 0)",
                                              self.sweep_round)
            validation.integer("sweep_round", self.sweep_round, minimum=1, maximum=pruning_rounds)
        data_seeds = check_data_seeds(self.data_seeds)
        for name, value in (("seeds", seeds), ("rewind_iterations", tuple(sorted(ks))), ("rounds", rounds),
                            ("data_seeds", data_seeds), ("layer_sizes", tuple(self.layer_sizes)),
                            ("pruning_rounds", pruning_rounds),
                            ("subset", None if self.subset is None else tuple(self.subset))):
            object.__setattr__(self, name, value)
        validation.integer("points", self.points, minimum=2)
        validation.integer("train_examples", self.train_examples, minimum=1)
        if pruning_rounds:
            self.pruner(seeds[0])  # the builder checks the rate

    def pruner(self, seed: int) -> LotteryTicketPruner:
        """The ``imp`` job's pruner: ``pruning_rounds`` rounds at ``pruning_rate``, rewinding to the initialization."""
        builder = LotteryTicketPruner.builder().pruning_rate(self.pruning_rate).pruning_rounds(self.pruning_rounds)
        return builder.training(self.training).seed(seed).build()

    def to_dict(self) -> dict:
        """Plain values for JSON; ``training`` as a dict of its fields."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}


class PathJob(NamedTuple):
    """One cell of the grid; ``masks`` (every IMP round's, of the job's seed) for the sparse networks only."""

    method: str
    seed: int
    pruning_round: Optional[int] = None
    rewind_iteration: Optional[int] = None
    masks: Optional[list] = None

    @property
    def key(self) -> tuple:
        """``(method, seed, pruning_round, rewind_iteration)``, also the key of its result (:func:`result_key`)."""
        return self.method, self.seed, self.pruning_round, self.rewind_iteration


def result_key(result: dict) -> tuple:
    """The :attr:`PathJob.key` of the job that returned ``result``."""
    return result["method"], result["seed"], result.get("pruning_round"), result.get("rewind_iteration")


def plan_imp(settings: InstabilitySettings) -> list[PathJob]:
    """Phase one: the ``imp`` job of every seed (none without IMP), then the dense jobs, longest first."""
    imp = [PathJob("imp", seed) for seed in settings.seeds] if settings.pruning_rounds else []
    dense = [PathJob("dense", seed, 0, k) for k in settings.rewind_iterations for seed in settings.seeds]
    return imp + dense


def ticket_cells(settings: InstabilitySettings) -> list[tuple[int, int]]:
    """``(round, k)`` of every ticket job: each of ``rounds`` at ``k = 0``, and ``sweep_round`` at every ``k``."""
    cells = [(r, 0) for r in settings.rounds]
    if settings.sweep_round is not None:
        cells += [(settings.sweep_round, k) for k in settings.rewind_iterations if (settings.sweep_round, k) not in cells]
    return cells


def plan_sparse(settings: InstabilitySettings, results: dict) -> list[PathJob]:
    """Phase two: tickets and controls, from the masks of each seed's ``imp`` result in ``results``."""
    jobs = []
    for seed in settings.seeds if settings.pruning_rounds else ():
        masks = results["imp", seed, None, None]["masks"]
        jobs += [PathJob("ticket", seed, r, k, masks) for r, k in ticket_cells(settings)]
        jobs += [PathJob(method, seed, r, 0, masks) for r in settings.rounds for method in CONTROLS]
    return jobs


def job_count(settings: InstabilitySettings) -> int:
    """How many jobs the whole grid holds."""
    per_seed = len(settings.rewind_iterations)
    if settings.pruning_rounds:
        per_seed += 1 + len(ticket_cells(settings)) + len(settings.rounds) * len(CONTROLS)
    return len(settings.seeds) * per_seed


def run_instability(settings: InstabilitySettings, n_jobs: int = 1, backend: Optional[str] = None,
                    progress: bool = True, finished: Sequence[dict] = (),
                    on_result: Optional[Callable[[dict], object]] = None) -> list[dict]:
    """Run the whole grid (skipping ``finished`` results) and return every job's result.

    The numbers do not depend on ``n_jobs`` or ``backend``: every job is a pure, single-threaded
    function of the settings. ``on_result`` is called with each new result as it arrives (the
    command line saves it there). Results come sorted by method, seed, round and ``k``, IMP first.

    Examples
    --------
    >>> settings = InstabilitySettings(dataset="digits", layer_sizes=(64, 20, 10),
    ...                                training=TrainingConfig(iterations=40, eval_every=20), seeds=(0,),
    ...                                rewind_iterations=(0, 10), points=3)
    >>> [(run["method"], run["rewind_iteration"]) for run in run_instability(settings, progress=False)]
    [('dense', 0), ('dense', 10)]
    """
    results = run_phases(settings, plan_imp(settings), lambda done: plan_sparse(settings, done), n_jobs, backend,
                         progress, finished, on_result, run=run_path_job, key=result_key)
    order = ("imp", *METHODS)
    return sorted(results.values(), key=lambda run: (order.index(run["method"]), run["seed"],
                                                      run.get("pruning_round") or 0, run.get("rewind_iteration") or 0))


def run_path_job(job: PathJob, settings: InstabilitySettings) -> dict:
    """Run ``job`` single-threaded and return its result dict, a pure function of the job and the settings."""
    exit_with_parent()
    start = time.perf_counter()
    data = load_data(settings.dataset, settings.data_dir, settings.subset)
    with threads.limited(1):  # jobs, not threads, use the cores
        if job.method == "imp":
            result = imp_result(_run_imp(job.seed, settings, data), data, settings)
        else:
            network = _network(job, settings, data)
            analysis = instability_analysis(network, data, settings.training, start_iteration=job.rewind_iteration,
                                            data_seeds=settings.data_seeds, points=settings.points,
                                            train_examples=settings.train_examples)
            result = {"pruning_round": job.pruning_round, "rewind_iteration": job.rewind_iteration,
                      **analysis.to_dict()}
    return {"method": job.method, "seed": job.seed, **result, "wall_time": time.perf_counter() - start}


def _network(job: PathJob, settings: InstabilitySettings, data) -> MLP:
    """The job's network at its rewind iteration: ``m ⊙ W_k`` for the mask ``m`` its method takes."""
    k = job.rewind_iteration
    if job.method == "dense":
        return dense_at(settings.layer_sizes, job.seed, data, settings.training, k)
    masks = [np.asarray(m, dtype=np.float32) for m in job.masks[job.pruning_round]]
    if job.method == "random_pruning":
        rng = np.random.default_rng((job.seed, job.pruning_round))
        masks = random_masks([m.shape for m in masks], [int(m.sum()) for m in masks], rng)
    init_seed = job.seed + REINIT_SEED_OFFSET if job.method == "random_reinit" else job.seed
    return dense_at(settings.layer_sizes, init_seed, data, settings.training, k, masks)


def _run_imp(seed: int, settings: InstabilitySettings, data) -> RunState:
    """IMP of ``seed`` under the settings, every round as its checkpoint holds it."""
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "checkpoint.npz"
        settings.pruner(seed).find_ticket(MLP(settings.layer_sizes, seed=seed), data, checkpoint=checkpoint)
        return read_checkpoint(checkpoint)


def imp_result(state: RunState, data, settings: InstabilitySettings) -> dict:
    """An ``imp`` job's result from a finished IMP run: records, masks, and successive rounds' barriers.

    ``successive_barriers[r]`` is the test-error barrier between the trained networks of
    rounds ``r`` and ``r + 1`` (joined in the union of their masks: round ``r``'s).
    """
    sets = {"test": (SampleBlocks(data.X_test), data.y_test)}
    trained = []
    for finished in state.rounds:
        network = MLP(settings.layer_sizes)
        network.set_masks(finished.masks)
        network.set_parameters(finished.trained)
        trained.append(network)
    barriers = [linear_path(a, b, sets, settings.points).barrier("test") for a, b in zip(trained, trained[1:])]
    return {"records": [record.to_dict() for record in state.history], "successive_barriers": barriers,
            "masks": [[m.astype(np.uint8) for m in finished.masks] for finished in state.rounds]}
