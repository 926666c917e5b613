"""Running the benchmark grid through joblib: on local cores, or on a Dask or Ray cluster.

The grid runs in two phases. Phase one trains, for every seed, the dense baseline
and the three pruning methods; phase two trains the two controls at every pruned
round of the ``lottery_ticket`` run of the same seed, whose masks they need. Each
phase is one ``joblib.Parallel`` call over independent jobs sent longest first, so
the cores stay busy until the end of the phase.

The backend is joblib's: ``n_jobs`` worker processes of ``loky`` by default. On a
cluster, connect a client and pick its backend, either on the command line
(``--backend dask``) or around the call::

    from dask.distributed import Client
    client = Client("scheduler-address:8786")
    with joblib.parallel_config(backend="dask"):
        run_benchmark(settings, n_jobs=-1)

(``ray.util.joblib.register_ray()`` then ``backend="ray"`` works the same way.) Jobs load
their data themselves, so workers need the package and the data, nothing else.
"""
from __future__ import annotations

from typing import Iterable, Optional

from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .jobs import Job, run_job
from .settings import METHODS, BenchmarkSettings

PHASE_ONE = ("lottery_ticket", "late_rewind", "magnitude", "dense")
"""Phase-one methods, the longest jobs first (IMP runs ``rounds + 1`` trainings)."""

CONTROLS = ("random_reinit", "random_mask")


def plan_phase_one(settings: BenchmarkSettings) -> list[Job]:
    """Every (method, seed) job that needs nothing but the settings, longest first."""
    return [Job(method, seed) for method in PHASE_ONE for seed in settings.seeds]


def plan_controls(settings: BenchmarkSettings, lottery_runs: Iterable[dict]) -> list[Job]:
    """The control jobs at every pruned round of each seed's ``lottery_ticket`` run, densest rounds first."""
    by_seed = {run["seed"]: run for run in lottery_runs}
    return [
        Job(method, seed, r, by_seed[seed]["masks"][r])
        for r in range(1, settings.rounds + 1) for seed in settings.seeds for method in CONTROLS
    ]


def run_jobs(jobs: list[Job], settings: BenchmarkSettings, n_jobs: int = 1, backend: Optional[str] = None,
             progress: bool = True, description: str = "jobs") -> list[dict]:
    """Run ``jobs`` in parallel and return their result dicts (in completion order).

    Parameters
    ----------
    n_jobs : int
        Workers, as joblib counts them (-1: all cores).
    backend : str, optional
        A joblib backend name; None uses the one of an enclosing ``joblib.parallel_config``, else loky.
    progress : bool
        A progress bar over finished jobs.
    """
    calls = (delayed(run_job)(job, settings) for job in jobs)
    try:
        results = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")(calls)
    except ValueError as error:  # a backend that cannot stream results: they arrive all at once
        if "return_as" not in str(error):
            raise
        results = Parallel(n_jobs=n_jobs, backend=backend)(calls)
    return list(tqdm(results, total=len(jobs), desc=description, unit="job", disable=not progress))


def run_benchmark(settings: BenchmarkSettings, n_jobs: int = 1, backend: Optional[str] = None,
                  progress: bool = True) -> list[dict]:
    """Run every method for every seed; results sorted by method (as in ``METHODS``), seed and round.

    ``settings`` must be resolved (:meth:`BenchmarkSettings.resolve`). The numbers do
    not depend on ``n_jobs`` or ``backend``: every job is a pure, single-threaded function.
    """
    first = run_jobs(plan_phase_one(settings), settings, n_jobs, backend, progress, "methods")
    lottery = [run for run in first if run["method"] == "lottery_ticket"]
    controls = run_jobs(plan_controls(settings, lottery), settings, n_jobs, backend, progress, "controls")
    return sorted(first + controls,
                  key=lambda run: (METHODS.index(run["method"]), run["seed"], run.get("pruning_round", 0)))
