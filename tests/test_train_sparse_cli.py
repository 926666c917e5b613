"""``lottery-np train-sparse``: one network sparse from its first step; interrupted, it resumes to the same numbers."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lottery_np.cli import main, train_sparse
from lottery_np.files import load_npz
from lottery_np.training_state import TrainingCheckpoint

BASE = ["train-sparse", "--dataset", "digits", "--hidden", "60", "30", "--epochs", "6", "--eval-every", "20",
        "--no-progress", "--checkpoint-every", "0", "--update-every", "25"]
MEASURED = ("wall_time", "update_seconds", "seconds")


def without_times(value):
    """``value`` with every wall-clock measurement left out (the numbers must match, the seconds cannot)."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in MEASURED}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def finished(run_dir) -> tuple[dict, dict]:
    result = json.loads((run_dir / "result.json").read_text())
    result["settings"] = {k: v for k, v in result["settings"].items() if k not in ("out", "resume")}
    return without_times(result), load_npz(run_dir / "compact.npz", [])


def assert_same(run_a, run_b):
    (result_a, compact_a), (result_b, compact_b) = finished(run_a), finished(run_b)
    assert json.dumps(result_a, sort_keys=True) == json.dumps(result_b, sort_keys=True)
    assert compact_a.keys() == compact_b.keys()
    for key in compact_a:
        np.testing.assert_array_equal(compact_a[key], compact_b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted runs, by method."""
    runs = {}
    for method in ("rigl", "snip"):
        out = tmp_path_factory.mktemp("reference") / method
        assert main([*BASE, "--method", method, "--density", "0.1", "--out", str(out)]) == 0
        runs[method] = out
    return runs


@pytest.mark.parametrize("method", ["rigl", "snip"])
def test_ctrl_c_keeps_the_run_and_resume_finishes_it_to_the_same_numbers(reference, tmp_path, monkeypatch, capsys,
                                                                         method):
    saves = []
    original = TrainingCheckpoint.save

    def interrupt_on_third(self, state):
        original(self, state)
        saves.append(state.iteration)
        if len(saves) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(TrainingCheckpoint, "save", interrupt_on_third)
    command = [*BASE, "--method", method, "--density", "0.1", "--out", str(tmp_path / "run")]
    assert main(command) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"the run up to iteration {saves[-1]} is saved in {tmp_path / 'run' / 'state.npz'}" in err
    assert err.rstrip().endswith(" ".join([*command, "--resume"]))
    monkeypatch.setattr(TrainingCheckpoint, "save", original)
    assert main([*command, "--resume"]) == 0
    assert_same(tmp_path / "run", reference[method])
    assert "best seen" in capsys.readouterr().out


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    command = [sys.executable, "-m", "lottery_np", *BASE[:6], "--epochs", "120", *BASE[8:], "--method", "set",
               "--density", "0.2"]
    reference, run_dir = tmp_path / "reference", tmp_path / "run"
    subprocess.run([*command, "--out", str(reference)], check=True, capture_output=True, timeout=300)
    process = subprocess.Popen([*command, "--out", str(run_dir)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (run_dir / "state.npz").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    if (run_dir / "result.json").exists():
        pytest.skip("the run finished before it was killed, so resuming was not exercised")
    assert (run_dir / "state.npz").exists(), "the run saved no state before it was killed"
    subprocess.run([*command, "--out", str(run_dir), "--resume"], check=True, capture_output=True, timeout=300)
    assert_same(run_dir, reference)


def test_the_run_keeps_its_density_and_reports_its_compacted_size(reference, capsys):
    result = json.loads((reference["snip"] / "result.json").read_text())
    assert sum(result["layer_counts"]) == round(0.1 * (64 * 60 + 60 * 30 + 30 * 10))
    assert result["compact_sizes"][-1] == 10 and result["compact_sizes"][0] <= 64
    assert result["best_test_accuracy"] >= max(result["final_test_accuracy"], result["early_stop_test_accuracy"])
    assert result["updates"] == [] and result["best_test_accuracy"] > 0.2  # chance: 0.1
    rigl = json.loads((reference["rigl"] / "result.json").read_text())
    assert [u["iteration"] for u in rigl["updates"]] == list(range(25, round(0.75 * rigl["curve"]["iterations"][-1])
                                                                   + 1, 25))
    assert (reference["rigl"] / "input_connections.png").exists()


def test_resuming_a_finished_run_reports_it_without_training(reference, monkeypatch, capsys):
    monkeypatch.setattr(train_sparse, "train", lambda *a, **k: pytest.fail("trained again"))
    assert main([*BASE, "--method", "snip", "--density", "0.1", "--out", str(reference["snip"]), "--resume"]) == 0
    assert "snip at density 0.1" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    (["--method", "rigl", "--density", "0"], "density must be"),
    (["--method", "rigl", "--density", "1.5"], "density must be"),
    (["--method", "magic", "--density", "0.1"], "argument --method: invalid choice: 'magic'"),
    (["--method", "rigl", "--density", "0.1", "--checkpoint-every", "-1"], "checkpoint_every must be"),
    (["--method", "rigl", "--density", "0.1", "--drop-fraction", "2"], "drop_fraction must be"),
])
def test_a_bad_option_costs_one_line(tmp_path, capsys, arguments, message):
    assert main([*BASE, *arguments, "--out", str(tmp_path / "run")]) in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lottery-np: error: ") and message in err, err
    assert not (tmp_path / "run" / "state.npz").exists()


def test_a_run_is_not_overwritten_or_resumed_with_other_settings(reference, capsys, tmp_path):
    run_dir = tmp_path / "run"
    command = [*BASE, "--method", "rigl", "--density", "0.1", "--out", str(run_dir)]
    run_dir.mkdir()
    (run_dir / "state.npz").write_bytes((reference["rigl"] / "state.npz").read_bytes())
    assert main(command) == 1
    assert "already holds a run (state.npz); pass --resume" in capsys.readouterr().err
    other = [*BASE, "--method", "rigl", "--density", "0.2", "--out", str(run_dir), "--resume"]
    assert main(other) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holds another run (it differs in density)" in err, err
