"""Running the benchmark grid through joblib: on local cores, or on a Dask or Ray cluster.

The grid runs in two phases. Phase one trains, for every seed, the dense baseline
and the three pruning methods; phase two trains the two controls at every pruned
round of the ``lottery_ticket`` run of the same seed, whose masks they need. Each
phase is one ``joblib.Parallel`` call over independent jobs sent longest first, so
the cores stay busy until the end of the phase.

Results arrive in completion order and are handed, one by one as they arrive, to an
``on_result`` callback (the command line saves each, :mod:`.store`); results passed
back in as ``finished`` are not run again, so an interrupted run can resume with the
jobs it lacks. Either way every job computes the same numbers, so the final results
do not depend on what was resumed, nor on ``n_jobs``.

The backend is joblib's: ``n_jobs`` worker processes of ``loky`` by default, or the
backend of an enclosing ``joblib.parallel_config``. :func:`.cluster.connect` sets one
up for a Dask or Ray cluster, as the command lines' ``--backend dask --scheduler
ADDRESS`` do::

    from lottery_np.experiment.cluster import connect
    with connect("dask", "tcp://10.0.0.1:8786") as workers:
        run_benchmark(settings, n_jobs=workers.n_jobs)

Jobs load their data themselves, so workers need the package and the data, nothing
else. A backend that cannot stream results (Ray's) hands a phase's back when it ends.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, Sequence

from joblib import Parallel, delayed

from ..progress import progress_bar
from ..validation import SettingError
from .jobs import Job, result_key, run_job
from .settings import (ABLATED, ALL_METHODS, CRITERION_METHODS, FROM_START, METHODS, SUPERMASKS, TREATED,
                       BenchmarkSettings)

PHASE_ONE = ("lottery_ticket", "late_rewind", *CRITERION_METHODS, *FROM_START, *ABLATED, *SUPERMASKS, "magnitude",
             "dense")
"""Phase-one methods, the longest jobs first (IMP runs ``rounds + 1`` trainings, a method from the start ``rounds``)."""

CONTROLS = ("random_reinit", "random_mask")
"""Frankle & Carbin's two controls of a ticket (the paper grid runs these)."""

MASK_JOBS = CONTROLS + TREATED
"""The methods that train the ``lottery_ticket`` run's mask of one round, a job per round, in phase two."""


def check_methods(methods) -> tuple:
    """``methods`` as a tuple in the benchmark's order, refusing unknown ones and controls without IMP.

    Raises
    ------
    SettingError
        Naming ``methods``.
    """
    methods = tuple(methods)
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown or not methods:
        raise SettingError("methods", f"some of {', '.join(ALL_METHODS)}", list(methods))
    if any(m in MASK_JOBS for m in methods) and "lottery_ticket" not in methods:
        raise SettingError("methods", "lottery_ticket too when a control is chosen (the controls use its masks)",
                           list(methods))
    return tuple(m for m in ALL_METHODS if m in methods)


def plan_phase_one(settings: BenchmarkSettings, methods=METHODS) -> list[Job]:
    """Every (method, seed) job of ``methods`` that needs nothing but the settings, longest first."""
    return [Job(method, seed) for method in PHASE_ONE if method in methods for seed in settings.seeds]


def plan_controls(settings: BenchmarkSettings, lottery_runs: Iterable[dict],
                  rounds: Optional[Sequence[int]] = None, methods: Sequence[str] = CONTROLS) -> list[Job]:
    """The jobs of ``methods`` (default: the two controls) at ``rounds`` (default: every pruned round) of each
    seed's ``lottery_ticket`` run, densest rounds first."""
    by_seed = {run["seed"]: run for run in lottery_runs}
    rounds = range(1, settings.rounds + 1) if rounds is None else rounds
    return [Job(method, seed, r, by_seed[seed]["masks"][r])
            for r in rounds for seed in settings.seeds for method in methods]


def job_count(settings: BenchmarkSettings, methods=METHODS) -> int:
    """How many jobs the grid of ``methods`` holds: one per phase-one method, and each control at every pruned
    round, per seed."""
    controls = sum(1 for m in MASK_JOBS if m in methods)
    return len(settings.seeds) * (sum(1 for m in PHASE_ONE if m in methods) + settings.rounds * controls)


def run_jobs(jobs: list, settings, n_jobs: int = 1, backend: Optional[str] = None,
             progress: bool = True, description: str = "jobs",
             on_result: Optional[Callable[[dict], object]] = None, run: Optional[Callable] = None) -> list[dict]:
    """Run ``jobs`` in parallel and return their result dicts (in completion order).

    Parameters
    ----------
    n_jobs : int
        Workers, as joblib counts them (-1: all cores).
    backend : str, optional
        A joblib backend name; None uses the one of an enclosing ``joblib.parallel_config``, else loky.
        Leave it None on a cluster: :func:`.cluster.connect` sets the backend (joblib 1.6 cannot
        take ``"dask"`` here).
    progress : bool
        A progress bar over finished jobs (in a log: one line per job).
    on_result : callable, optional
        Called with each result as soon as it arrives, before the next one is awaited.
    run : callable
        ``run(job, settings) -> dict``, a pure function (default: the benchmark's :func:`.jobs.run_job`).
    """
    run = run or run_job
    calls = (delayed(run)(job, settings) for job in jobs)
    try:
        results = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")(calls)
    except ValueError as error:  # a backend that cannot stream results: they arrive all at once
        if "return_as" not in str(error):
            raise
        results = Parallel(n_jobs=n_jobs, backend=backend)(calls)
    finished = []
    bar = progress_bar(len(jobs), description, progress, unit="jobs")
    for result in results:
        if on_result is not None:
            on_result(result)
        finished.append(result)
        bar.set_postfix(method=result["method"], seed=result["seed"])
        bar.update(1)
    bar.close()
    return finished


def run_benchmark(settings: BenchmarkSettings, n_jobs: int = 1, backend: Optional[str] = None,
                  progress: bool = True, finished: Sequence[dict] = (),
                  on_result: Optional[Callable[[dict], object]] = None, methods: Sequence[str] = METHODS) -> list[dict]:
    """Run every method of ``methods`` for every seed; results sorted by method (as in ``ALL_METHODS``), seed and round.

    The numbers do not depend on ``n_jobs`` or ``backend``: every job is a pure,
    single-threaded function.

    Parameters
    ----------
    finished : sequence of dict
        Results of jobs of these settings that already ran (``lottery_ticket``'s with
        their masks); they are returned as they are, and only the other jobs run.
    on_result : callable, optional
        Called with each new result as it arrives (see :func:`run_jobs`).
    methods : sequence of str
        Which methods run (default: ``METHODS``); the controls need ``lottery_ticket``
        (:func:`check_methods`). Results of other methods in ``finished`` are returned too.
    """
    methods = check_methods(methods)

    def controls(results: dict) -> list[Job]:
        chosen = [m for m in MASK_JOBS if m in methods]
        if not chosen:
            return []
        return plan_controls(settings, [results["lottery_ticket", seed, None] for seed in settings.seeds],
                             methods=chosen)

    results = run_phases(settings, plan_phase_one(settings, methods), controls, n_jobs, backend, progress, finished,
                         on_result)
    return sorted(results.values(),
                  key=lambda run: (ALL_METHODS.index(run["method"]), run["seed"], run.get("pruning_round", 0)))


def run_phases(settings, phase_one: list, plan_phase_two: Callable[[dict], list], n_jobs: int = 1,
               backend: Optional[str] = None, progress: bool = True, finished: Sequence[dict] = (),
               on_result: Optional[Callable[[dict], object]] = None, run: Optional[Callable] = None,
               key: Callable[[dict], tuple] = result_key) -> dict[tuple, dict]:
    """Run the jobs of ``phase_one``, then those ``plan_phase_two`` plans from its results; skip ``finished`` ones.

    Parameters
    ----------
    settings
        What every job runs under (:class:`BenchmarkSettings`, or the paper grid's settings).
    plan_phase_two : callable
        Takes the results so far, keyed by :attr:`Job.key`, and returns the second phase's jobs.
    finished, on_result
        As :func:`run_benchmark` takes them.
    run, key
        The grid's job function (as :func:`run_jobs` takes it) and the key of a job's result
        (``key(result) == job.key``); default: the benchmark's.

    Returns
    -------
    dict
        Every result of both phases, keyed by :attr:`Job.key`.
    """
    results = {key(result): result for result in finished}

    def run_missing(jobs: list, description: str) -> None:
        missing = [job for job in jobs if job.key not in results]
        for result in run_jobs(missing, settings, n_jobs, backend, progress, description, on_result, run):
            results[key(result)] = result

    run_missing(phase_one, "methods")
    run_missing(plan_phase_two(results), "controls")
    return results
