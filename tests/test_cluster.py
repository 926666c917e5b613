"""The grids on a cluster (:mod:`lottery_np.experiment.cluster`): the same numbers as a local run.

The ``cluster`` tests (``python -m pytest -m cluster``; they skip without the ``dask``
or ``ray`` extra) start a real Dask scheduler and two one-thread worker processes on
localhost, run the quick benchmark and a small paper grid through them from the
command line (and a small instability grid), and compare every number of ``results.json`` (wall times and the
environment aside) with a local run's; then a local Dask cluster and a local Ray
instance, each started and shut down by the command itself. Every process a test
starts runs in its own process group, killed at teardown whatever happened.

The default suite checks the command lines' one-line errors: an option for the other
backend, ``--n-jobs 0``, and a cluster backend whose extra is missing.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lottery_np.cli import main
from lottery_np.experiment import cluster, command, paper

TIMEOUT = 300  # seconds; generous, for a loaded two-core machine
PAPER_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_lenet.py"
BENCHMARK = [sys.executable, "-m", "lottery_np", "benchmark", "--quick"]
FROM_START = ["--methods", "dense", "lottery_ticket", "snip", "rigl", "set", "synflow_shuffled", "grasp_reinit",
              "imp_small_final", "ticket_signed_constant", "ticket_pruned_frozen_init", "supermask_top_k"]
"""The methods sparse from the start, and the anatomy of a ticket's (IMP by a criterion, treated tickets, supermasks)."""
INSTABILITY = [sys.executable, "-m", "lottery_np", "instability", "--preset", "quick", "--seeds", "0",
               "--iterations", "120", "--points", "5", "--no-progress"]
PAPER_GRID = [sys.executable, str(PAPER_SCRIPT), "--quick", "--seeds", "0", "--rounds", "2", "--iterations", "100"]


def numbers(out: Path) -> dict:
    """``results.json`` of ``out`` without the wall times and the environment: what must not depend on the backend."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("wall_time", "seconds")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    payload = json.loads((out / "results.json").read_text())
    return {key: strip(value) for key, value in payload.items() if key not in ("environment", "wall_time")}


def ran_on(out: Path) -> tuple:
    """The backend and ``n_jobs`` that ``results.json`` of ``out`` records."""
    environment = json.loads((out / "results.json").read_text())["environment"]
    return environment["backend"], environment["n_jobs"]


@pytest.fixture(scope="module")
def processes():
    """Start commands in process groups of their own; every group is killed at teardown, even after a failure."""
    started = []

    def start(command: list, log: Path) -> subprocess.Popen:
        with open(log, "w") as stream:
            process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # then SIGKILL whatever of the group is left
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)


def run(processes, command: list, out: Path) -> None:
    """Run ``command`` (writing ``out``) to the end; assert it succeeded and left no process of its group behind."""
    log = out.parent / f"{out.name}.log"
    process = processes([*command, "--out", str(out)], log)
    assert process.wait(timeout=TIMEOUT) == 0, log.read_text()
    deadline = time.monotonic() + 30
    while _group_alive(process.pid):
        assert time.monotonic() < deadline, f"{command} left processes running:\n{log.read_text()}"
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict:
    """The quick benchmark's and the small paper grid's numbers, run here on the default backend."""
    folder = tmp_path_factory.mktemp("local")
    assert main(["benchmark", "--quick", "--out", str(folder / "benchmark")]) == 0
    assert main(["benchmark", "--quick", *FROM_START, "--out", str(folder / "from_start")]) == 0
    assert paper.main([*PAPER_GRID[2:], "--out", str(folder / "paper")]) == 0
    assert main([*INSTABILITY[3:], "--out", str(folder / "instability")]) == 0
    return {"benchmark": numbers(folder / "benchmark"), "from_start": numbers(folder / "from_start"),
            "paper": numbers(folder / "paper"),
            "instability": numbers(folder / "instability")}


@pytest.fixture(scope="module")
def scheduler(processes, tmp_path_factory):
    """A Dask scheduler and two one-thread worker processes on localhost; yields ``(address, client)``."""
    distributed = pytest.importorskip("distributed")
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    processes([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
               "--no-dashboard", "--scheduler-file", str(scheduler_file)], folder / "scheduler.log")
    for name in ("worker-a", "worker-b"):
        processes([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                   "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--name", name],
                  folder / f"{name}.log")
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            address = json.loads(scheduler_file.read_text())["address"]
            break
        except (FileNotFoundError, ValueError):  # not written yet, or half written
            assert time.monotonic() < deadline, f"no scheduler file:\n{(folder / 'scheduler.log').read_text()}"
            time.sleep(0.1)
    with distributed.Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        yield address, client


@pytest.mark.cluster
def test_the_benchmark_runs_on_a_dask_scheduler_and_its_two_workers(scheduler, local, processes, tmp_path):
    address, client = scheduler
    run(processes, [*BENCHMARK, "--backend", "dask", "--scheduler", address], tmp_path / "benchmark")
    assert numbers(tmp_path / "benchmark") == local["benchmark"]
    assert ran_on(tmp_path / "benchmark") == ("dask", 2)
    ran_jobs = client.run(lambda: "lottery_np.experiment.jobs" in sys.modules)
    assert list(ran_jobs.values()) == [True, True], f"not every worker ran a job: {ran_jobs}"


@pytest.mark.cluster
def test_the_methods_sparse_from_the_start_and_the_anatomy_run_on_a_dask_scheduler_unchanged(scheduler, local, processes, tmp_path):
    address, _ = scheduler
    run(processes, [*BENCHMARK, *FROM_START, "--backend", "dask", "--scheduler", address], tmp_path / "from_start")
    assert numbers(tmp_path / "from_start") == local["from_start"]


@pytest.mark.cluster
def test_the_paper_grid_runs_on_a_dask_scheduler(scheduler, local, processes, tmp_path):
    address, _ = scheduler
    run(processes, [*PAPER_GRID, "--backend", "dask", "--scheduler", address], tmp_path / "paper")
    assert numbers(tmp_path / "paper") == local["paper"]


@pytest.mark.cluster
def test_the_instability_grid_runs_on_a_dask_scheduler(scheduler, local, processes, tmp_path):
    address, _ = scheduler
    run(processes, [*INSTABILITY, "--backend", "dask", "--scheduler", address], tmp_path / "instability")
    assert numbers(tmp_path / "instability") == local["instability"]


@pytest.mark.cluster
@pytest.mark.parametrize("backend, module", [("dask", "distributed"), ("ray", "ray")])
def test_without_an_address_the_backend_starts_a_local_cluster_and_shuts_it_down(backend, module, local, processes,
                                                                                  tmp_path):
    pytest.importorskip(module)
    run(processes, [*BENCHMARK, "--backend", backend, "--n-jobs", "2"], tmp_path / "benchmark")
    assert numbers(tmp_path / "benchmark") == local["benchmark"]
    assert ran_on(tmp_path / "benchmark") == (backend, 2)


@pytest.fixture
def no_job_may_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a job ran although the backend options were bad")

    monkeypatch.setattr(command, "run_benchmark", refuse)
    monkeypatch.setattr(paper, "run_paper", refuse)


@pytest.mark.parametrize("backend, module", [("dask", "distributed"), ("ray", "ray")])
def test_a_missing_extra_costs_one_line(backend, module, monkeypatch, capsys, tmp_path, no_job_may_run):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails as if it were not installed
    assert main(["benchmark", "--quick", "--backend", backend, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f'lottery-np: error: --backend {backend} needs the {backend} extra: pip install '
                                       f'"lottery_np[{backend}]" (see \'lottery-np benchmark --help\')\n')
    with pytest.raises(SystemExit) as stop:
        paper.main(["--quick", "--backend", backend, "--out", str(tmp_path / "paper")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f'needs the {backend} extra: pip install '
                                                             f'"lottery_np[{backend}]"')
    assert not (tmp_path / "out").exists() and not (tmp_path / "paper").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --backend dask"),
    (["--backend", "ray", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --backend dask"),
    (["--backend", "dask", "--address", "127.0.0.1:6379"], "--address needs --backend ray"),
    (["--n-jobs", "0"], "--n-jobs must be a number of jobs or -1 (all cores), got 0"),
])
def test_backend_options_that_do_not_fit_cost_one_line(arguments, message, capsys, tmp_path, no_job_may_run):
    assert main(["benchmark", "--quick", *arguments, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"lottery-np: error: {message} (see 'lottery-np benchmark --help')\n"
    with pytest.raises(SystemExit):
        paper.main(["--quick", *arguments, "--out", str(tmp_path / "paper")])
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


def test_local_backends_connect_to_nothing():
    with cluster.connect() as workers:
        assert workers == cluster.Workers(None, 1)
    with cluster.connect("threading", n_jobs=2) as workers:
        assert workers == cluster.Workers("threading", 2)
    with pytest.raises(ValueError, match="needs backend 'dask' or 'ray'"):
        with cluster.connect("loky", "tcp://127.0.0.1:8786"):
            pass
