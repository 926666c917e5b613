"""Where a grid's jobs run: on local cores, or on a Dask or Ray cluster connected for the run.

joblib runs every grid of the library (:mod:`.runner`). Its ``dask`` and ``ray`` backends
work only once a client is connected (and, for Ray, the backend registered); :func:`connect`
does both around a run and undoes them after it::

    with connect("dask", "tcp://10.0.0.1:8786") as workers:
        run_benchmark(settings, n_jobs=workers.n_jobs)

Without an address, ``dask`` starts a local cluster of one-thread worker processes and
``ray`` a local instance, ``n_jobs`` of them (default: one per core), both shut down
when the run ends. A remote cluster's workers need the package and, for MNIST, the data.

The numbers are those of a local run: a job pins BLAS and Numba to one thread
(``threads.limited(1)`` in :func:`.jobs.run_job`) wherever it runs. That setting is the
process's, so jobs, not threads, should share a worker's cores: start Dask workers with
``--nthreads 1`` (a local cluster's have one; Ray runs one job per process).

Both command lines (``lottery-np benchmark``, ``benchmarks/paper_lenet.py``) take the same
options (:func:`add_arguments`) and check them the same way (:func:`options_from_args`).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
from types import ModuleType
from typing import Iterator, NamedTuple, Optional

import joblib

LOCAL_BACKENDS = ("loky", "multiprocessing", "threading", "sequential")
"""joblib's own backends: they need no connection."""

CLUSTERS = {"dask": ("distributed", "--scheduler"), "ray": ("ray", "--address")}
"""Per cluster backend: the module its extra installs, and the option that names the cluster."""


class Workers(NamedTuple):
    """What a grid runs on: the joblib backend :func:`connect` set (None: loky), and how many jobs run at once."""

    backend: Optional[str]
    n_jobs: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--n-jobs``, ``--backend``, ``--scheduler`` and ``--address`` to ``parser``."""
    parser.add_argument("--n-jobs", type=int, help="jobs at once (-1: all cores); default 1, on a cluster all "
                        "its workers (a local cluster: one per core)")
    parser.add_argument("--backend", choices=(*LOCAL_BACKENDS, *CLUSTERS),
                        help="joblib backend (default loky); dask and ray start a local cluster unless "
                             "--scheduler or --address names one")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --backend dask: the scheduler to connect to, e.g. tcp://10.0.0.1:8786")
    parser.add_argument("--address", metavar="ADDRESS",
                        help="with --backend ray: the cluster to connect to, e.g. 10.0.0.1:6379")


def options_from_args(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`connect` that ``args`` (parsed with :func:`add_arguments`) give.

    Raises
    ------
    ValueError
        One line naming the option: ``--scheduler`` without ``--backend dask``, ``--address``
        without ``--backend ray``, ``--n-jobs 0``, or a cluster backend whose extra is not installed.
    """
    for backend, (_, option) in CLUSTERS.items():
        if getattr(args, option[2:]) is not None and args.backend != backend:
            raise ValueError(f"{option} needs --backend {backend}")
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be a number of jobs or -1 (all cores), got 0")
    if args.backend in CLUSTERS:
        _require(args.backend)
    return {"backend": args.backend, "address": args.scheduler or args.address, "n_jobs": args.n_jobs}


@contextlib.contextmanager
def connect(backend: Optional[str] = None, address: Optional[str] = None,
            n_jobs: Optional[int] = None) -> Iterator[Workers]:
    """Connect to the cluster of ``backend`` (or start a local one) for the duration of the block.

    Parameters
    ----------
    backend : str, optional
        A joblib backend; ``"dask"`` and ``"ray"`` connect, the others (None: loky) run on local cores.
    address : str, optional
        The Dask scheduler's or the Ray cluster's address; None starts a local cluster.
    n_jobs : int, optional
        Jobs at once, as joblib counts them (-1: all cores). Default: 1 on local cores,
        every worker on a cluster; a local cluster gets this many workers (default: one per
        core). A Dask cluster always runs on all its worker threads.

    Yields
    ------
    Workers
        The backend, set for the block (``joblib.parallel_config``), and the ``n_jobs``
        to hand to the grid (:func:`.runner.run_jobs`, leaving its ``backend`` None).
    """
    if backend not in CLUSTERS:
        if address is not None:
            raise ValueError(f"address {address!r} needs backend 'dask' or 'ray', got {backend!r}")
        with joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext():
            yield Workers(backend, 1 if n_jobs is None else n_jobs)
        return
    with contextlib.ExitStack() as stack:
        start = _connect_dask if backend == "dask" else _connect_ray
        n_jobs = start(stack, _require(backend), address, n_jobs)
        # Set here, never passed to Parallel: joblib 1.6 forwards Parallel(backend="dask")'s nesting_level
        # to every task, which then fails.
        stack.enter_context(joblib.parallel_config(backend=backend))
        yield Workers(backend, n_jobs)


def _connect_dask(stack: contextlib.ExitStack, distributed: ModuleType, address: Optional[str],
                  n_jobs: Optional[int]) -> int:
    """A client of the scheduler at ``address`` (or of a new local cluster); the threads of its workers."""
    if address is None:
        address = stack.enter_context(distributed.LocalCluster(n_workers=_local_size(n_jobs), threads_per_worker=1,
                                                               processes=True, dashboard_address=None))
    client = stack.enter_context(distributed.Client(address))
    return sum(client.nthreads().values())  # joblib's dask backend runs on every thread, whatever n_jobs says


def _connect_ray(stack: contextlib.ExitStack, ray: ModuleType, address: Optional[str], n_jobs: Optional[int]) -> int:
    """Ray connected to ``address`` (or a new local instance), its joblib backend registered; jobs at once."""
    if address is None:
        n_jobs = _local_size(n_jobs)
        ray.init(num_cpus=n_jobs, include_dashboard=False)
    else:
        ray.init(address=address)
    stack.callback(ray.shutdown)
    from ray.util.joblib import register_ray

    register_ray()
    return n_jobs if n_jobs is not None and n_jobs > 0 else int(ray.cluster_resources()["CPU"])


def _local_size(n_jobs: Optional[int]) -> int:
    """The workers of a local cluster: ``n_jobs`` as joblib counts them, by default one per core."""
    return joblib.effective_n_jobs(-1 if n_jobs is None else n_jobs)


def _require(backend: str) -> ModuleType:
    """The module of ``backend``'s extra; a ValueError saying how to install it if it is missing."""
    module, _ = CLUSTERS[backend]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        advice = f'pip install "lottery_np[{backend}]"'
        raise ValueError(f"--backend {backend} needs the {backend} extra: {advice}") from error
