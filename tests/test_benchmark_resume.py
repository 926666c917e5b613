"""Resuming the benchmark: every finished job is saved as it arrives, and a killed run resumes to the same results.

The kill test starts ``python -m lottery_np benchmark --quick`` in a subprocess, SIGKILLs
it as soon as its first job is saved, resumes it, and compares every number of
``results.json`` (wall times aside) with an uninterrupted run's.
"""
import json
import shutil
import sys

import pytest

from lottery_np.cli import main
from lottery_np.experiment import runner

from killing import kill_after_first_job

QUICK = ["benchmark", "--quick", "--n-jobs", "1"]


def without_times(runs: list[dict]) -> list[dict]:
    """The runs with every wall-clock time removed (the only numbers allowed to differ)."""
    return [{**{k: v for k, v in run.items() if k != "wall_time"},
             "records": [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]} for run in runs]


def results(out) -> dict:
    return json.loads((out / "results.json").read_text())


def saved_jobs(out) -> dict[str, dict]:
    """Every finished job's result in ``out/jobs``, by file name."""
    return {path.name: json.loads(path.read_text())["result"] for path in (out / "jobs").glob("*.json")}


def key(run: dict) -> tuple:
    return run["method"], run["seed"], run.get("pruning_round")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted quick benchmark, run in this process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main([*QUICK, "--out", str(out)]) == 0
    return out


def test_a_killed_benchmark_resumes_to_the_uninterrupted_results(reference, tmp_path, capsys):
    out = tmp_path / "out"
    with open(tmp_path / "stderr", "w") as stderr:  # a file, not a pipe: a full pipe would stall the child
        kill_after_first_job([sys.executable, "-m", "lottery_np", *QUICK, "--out", str(out)], out, stderr)
    if (out / "results.json").exists():
        pytest.skip("the benchmark finished before it was killed, so resuming was not exercised")
    saved = saved_jobs(out)
    assert main([*QUICK, "--out", str(out), "--resume"]) == 0
    expected = results(reference)
    assert f"resumed {len(saved)} of {len(expected['runs'])} jobs from {out / 'jobs'}" in capsys.readouterr().out
    resumed = results(out)
    assert resumed["settings"] == expected["settings"] and resumed["densities"] == expected["densities"]
    assert without_times(resumed["runs"]) == without_times(expected["runs"])
    first_run = {key(run): run for run in saved.values()}
    for run in resumed["runs"]:
        if key(run) in first_run:
            assert run == first_run[key(run)], f"{key(run)} was trained again instead of loaded"
    assert len(saved_jobs(out)) == len(expected["runs"])


def test_resuming_a_finished_benchmark_runs_no_job(reference, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    shutil.copytree(reference, out)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished job ran again")

    monkeypatch.setattr(runner, "run_job", refuse)
    assert main([*QUICK, "--out", str(out), "--resume"]) == 0
    n_runs = len(results(reference)["runs"])
    assert f"resumed {n_runs} of {n_runs} jobs" in capsys.readouterr().out
    assert results(out)["runs"] == results(reference)["runs"]
    assert (out / "first_layer_mask.png").stat().st_mtime > (reference / "first_layer_mask.png").stat().st_mtime


def test_resume_refuses_jobs_of_other_settings(reference, capsys):
    assert main([*QUICK, "--rounds", "3", "--out", str(reference), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was made with other settings: rounds=2 (now 3)" in err, err


def test_a_job_file_nested_too_deeply_costs_one_line(reference, tmp_path, capsys):
    import shutil

    spoiled = tmp_path / "spoiled"
    shutil.copytree(reference, spoiled)
    job = sorted((spoiled / "jobs").glob("*.json"))[0]
    job.write_text("[" * 100_000 + "]" * 100_000)
    assert main([*QUICK, "--out", str(spoiled), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{job} is not a finished job's file (JSON nested too deeply" in err, err


def test_resume_names_a_training_setting_that_differs(reference, capsys):
    assert main([*QUICK, "--iterations", "300", "--out", str(reference), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "training.iterations=200 (now 300)" in err and "rounds=" not in err, err


def test_finished_jobs_are_kept_unless_resuming(reference, capsys):
    assert main([*QUICK, "--out", str(reference)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --resume or choose another --out" in err, err
