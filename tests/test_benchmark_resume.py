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


def _edit_job(name, edit):
    """Change the JSON record of job file ``name`` with ``edit(record)``."""
    def change(jobs):
        path = jobs / name
        record = json.loads(path.read_text())
        edit(record)
        path.write_text(json.dumps(record))
        return path
    return change


def _edit_masks(edit):
    """Change the first lottery ticket's masks file with ``edit(arrays)``."""
    def change(jobs):
        import numpy as np

        path = jobs / "lottery_ticket-seed0.npz"
        with np.load(path) as masks:
            arrays = dict(masks)
        edit(arrays)
        np.savez(path, **arrays)
        return path
    return change


def _set_record(field, value):
    return lambda record: record["result"]["records"][0].__setitem__(field, value)


JOB_PROBES = [  # (name, change of the jobs folder -> the file to blame, words): issue 24, class 2
    ("accuracy 7.0", _edit_job("dense-seed0.json", _set_record("final_test_accuracy", 7.0)),
     "final_test_accuracy must be null or a number in [0, 1], got 7.0"),
    ("a seed the settings lack", lambda jobs: shutil.copy(jobs / "dense-seed0.json", jobs / "dense-seed7.json")
     and _edit_job("dense-seed7.json", lambda r: r["result"].__setitem__("seed", 7))(jobs),
     "seed 7, not one of the settings' seeds"),
    ("a job under another job's name", _edit_job("dense-seed0.json", lambda r: r["result"].__setitem__("seed", 1)),
     "holds the result of another job"),
    ("a control round past the grid", _edit_job("random_mask-seed0-round1.json",
                                                lambda r: r["result"].__setitem__("pruning_round", 9)),
     "pruning_round must be a round"),
    ("a record of another round", _edit_job("random_mask-seed0-round1.json", _set_record("pruning_round", 2)),
     "pruning_round must be 1"),
    ("masks null", _edit_job("lottery_ticket-seed0.json", lambda r: r.__setitem__("masks", None)),
     "must name its masks file, got masks=None"),
    ("a mask of all ones in round 2", _edit_masks(lambda a: a.__setitem__("round_2_layer_0",
                                                                         a["round_0_layer_0"])),
     "round_2_layer_0 keeps weights that round 1 pruned"),
    ("a mask key no round has", _edit_masks(lambda a: a.__setitem__("round_9_layer_0", a["round_0_layer_0"])),
     "holds round_9_layer_0, which no round and layer of the grid has"),
    ("a round missing", _edit_masks(lambda a: a.pop("round_1_layer_1")), "round_1_layer_1"),
    ("a job value of the wrong kind", _edit_job("dense-seed0.json", lambda r: r.__setitem__("result", "text")),
     "is not a finished job's file"),
]


@pytest.mark.parametrize("name, change, words", JOB_PROBES, ids=[p[0] for p in JOB_PROBES])
def test_resume_refuses_a_job_file_the_grid_never_wrote_naming_it(reference, tmp_path, capsys, name, change, words):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    blamed = change(out / "jobs")
    capsys.readouterr()
    assert main([*QUICK, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and str(blamed) in err, err


def _descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (read from /proc, Linux)."""
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            child = int(stat.parent.name)
            found += [child, *_descendants(child)]
    return found


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_go_when_the_benchmark_is_killed(tmp_path):
    """Issue 24, class 12: kill -9 of a two-worker benchmark leaves no worker (nor resource tracker) running."""
    import subprocess
    import time

    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "lottery_np", *QUICK[:-2], "--n-jobs", "2", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list((out / "jobs").glob("*.json")):
        assert process.poll() is None and time.monotonic() < deadline, "no job was saved"
        time.sleep(0.02)
    family = _descendants(process.pid)
    assert family, "the pool has no worker processes"
    process.kill()
    process.wait(timeout=60)
    deadline = time.monotonic() + 30  # each worker looks for its parent every PARENT_CHECK_SECONDS
    while any(map(_alive, family)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in family if _alive(pid)], "processes of the killed benchmark are still running"
