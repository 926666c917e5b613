"""The ``lottery-np`` command line: a run folder end to end, one-line errors, and resuming a killed run.

The resume tests start ``python -m lottery_np find-ticket`` in a subprocess, stop it
(SIGKILL, or SIGINT as Ctrl-C does) right after its first round is checkpointed, resume
it, and compare every array of the ticket and every number of the history (wall times
aside) with an uninterrupted run of the same settings.
"""
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lottery_np.cli import main
from lottery_np.data import ENV_VAR
from lottery_np.experiment import command
from lottery_np.files.storage import load_npz, read_json_array

QUICK = ["find-ticket", "--dataset", "digits", "--hidden", "32", "16", "--epochs", "2", "--eval-every", "10",
         "--rounds", "2", "--no-progress"]
# Round 0 is checkpointed after about a second; the twelve rounds after it leave the test
# seconds to stop the run, however loaded the machine (every round slows down alike).
SLOW = ["find-ticket", "--dataset", "digits", "--hidden", "64", "32", "--epochs", "3", "--eval-every", "10",
        "--rounds", "12", "--target-sparsity", "0.95", "--no-progress"]
TIMEOUT = 300  # seconds; generous, for a loaded two-core machine


def start(*args: str) -> subprocess.Popen:
    """Start ``python -m lottery_np ARGS``."""
    return subprocess.Popen([sys.executable, "-m", "lottery_np", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return process.returncode, stdout, stderr


def stop_after_first_round(process: subprocess.Popen, run_dir, signal_number: int) -> None:
    """Send ``signal_number`` as soon as the run has checkpointed a round."""
    deadline = time.monotonic() + TIMEOUT
    while not (run_dir / "checkpoint.npz").exists():
        assert process.poll() is None, f"the run ended before its first checkpoint: {process.communicate()}"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    process.send_signal(signal_number)


def checkpointed_history(run_dir) -> list[dict]:
    return read_json_array(load_npz(run_dir / "checkpoint.npz", ["meta"])["meta"])["history"]


def without_wall_times(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "wall_time"} for row in history]


def assert_same_run(run_dir, reference_dir) -> None:
    """The ticket's arrays are bit-identical and the history's numbers equal (wall times aside)."""
    ticket, reference = load_npz(run_dir / "ticket.npz", []), load_npz(reference_dir / "ticket.npz", [])
    assert sorted(ticket) == sorted(reference)
    for key in reference:
        if key != "meta":  # the ticket's meta holds the history, wall times included
            assert np.array_equal(ticket[key], reference[key]), f"ticket array {key} differs"
    history, expected = (json.loads((folder / "history.json").read_text()) for folder in (run_dir, reference_dir))
    for key in ("ticket_round", "density", "image_shape"):
        assert history[key] == expected[key], f"history.json {key} differs"
    assert without_wall_times(history["history"]) == without_wall_times(expected["history"])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """A finished two-round run on the digits, run in this process."""
    run_dir = tmp_path_factory.mktemp("quick") / "run"
    assert main([*QUICK, "--out", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted run with the ``SLOW`` settings."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    assert main([*SLOW, "--out", str(run_dir)]) == 0
    return run_dir


def test_find_ticket_writes_the_run_folder_and_prints_the_summary(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main([*QUICK[:-1], "--out", str(run_dir)]) == 0  # with progress bars
    out, err = capsys.readouterr()
    assert "pruning 1/" in err and "Traceback" not in err
    history = json.loads((run_dir / "history.json").read_text())
    assert set(history) == {"settings", "ticket_round", "density", "image_shape", "history"}
    assert history["settings"]["hidden"] == [32, 16] and history["settings"]["dataset"] == "digits"
    assert history["image_shape"] == [8, 8]
    assert [row["pruning_round"] for row in history["history"]] == [0, 1, 2]
    assert json.loads((run_dir / "settings.json").read_text()) == history["settings"]
    ticket_round = history["ticket_round"]
    assert history["density"] == history["history"][ticket_round]["density"]
    assert "density" in out and f"winning ticket: round {ticket_round}" in out
    printed = out.split("files:\n")[1].split()
    names = {os.path.basename(path) for path in printed}
    assert {"settings.json", "checkpoint.npz", "ticket.npz", "history.json"} <= names
    assert any(name.endswith(".png") for name in names), "no plots written"
    assert all(os.path.isfile(path) for path in printed)


def test_plot_redraws_a_finished_run(quick_run, capsys):
    assert main(["plot", str(quick_run)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed and all(path.endswith(".png") and os.path.isfile(path) for path in printed)


def test_help_works_as_a_module():
    result = subprocess.run([sys.executable, "-m", "lottery_np", "--help"], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("find-ticket", "benchmark", "plot"))


@pytest.mark.parametrize("argv, named", [
    (["--bogus"], "--bogus"),
    (["--bogus", "find-ticket"], "--bogus"),
    (["--bogus", "benchmark"], "--bogus"),
    (["benchmark", "--bogus"], "--bogus"),
    (["find-ticket", "--dataset", "digits", "--out", ""], "--out"),
    (["find-ticket", "--dataset", "digits", "--out", "  "], "--out"),
])
def test_a_bad_option_anywhere_is_named(argv, named, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1 and named in err, err


def test_find_ticket_help_states_the_defaults(capsys):
    assert main(["find-ticket", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default: mnist" in text and "default: 0.9" in text and "default: 300 100" in text


@pytest.mark.parametrize("arguments, named", [
    (["--dataset", "cifar"], "--dataset"),
    (["--target-sparsity", "1.5"], "--target-sparsity"),
    (["--rounds", "0"], "--rounds"),
    (["--rewind", "foo"], "--rewind"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "nan"], "--epochs"),
    (["--eval-every", "0"], "--eval-every"),
    (["--hidden", "0"], "--hidden"),
    (["--seed", "-1"], "--seed"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--iterations", "5", "--epochs", "1"], "--iterations"),
    (["--colour", "red"], "--colour"),
    (["--rewind", "iteration:1000"], "--rewind"),  # found only once the data says 40 iterations
    (["--batch-size", "5000"], "--batch-size"),
    (["--batch-size", "0"], "--batch-size"),
    (["--rounds", "2.5"], "--rounds"),
    (["--learning-rate", "inf"], "--learning-rate"),
    (["--accuracy-tolerance", "1"], "--accuracy-tolerance"),
    (["--output-rate-factor", "2"], "--output-rate-factor"),
    (["--adam-bias-correction", "pytorch"], "--adam-bias-correction"),
    (["--target-sparsity", "0.999999", "--scope", "global"], "--target-sparsity"),
    (["--learning-rate", "1000"], "smaller learning_rate"),  # diverges: the message says so and advises
])
def test_a_bad_argument_costs_one_line(arguments, named, tmp_path, capsys):
    status = main([*QUICK, "--out", str(tmp_path / "run"), *arguments])
    out, err = capsys.readouterr()
    assert status != 0 and out == ""
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1, err
    assert named in err


def test_settings_are_checked_before_anything_is_written(tmp_path, capsys):
    assert main([*QUICK, "--out", str(tmp_path / "run"), "--rounds", "0"]) != 0
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("arguments", [
    ["find-ticket", "--dataset", "digits"],  # no --out
    ["plot"],
    ["no-such-command"],
    [],
])
def test_bad_command_lines_cost_one_line(arguments, capsys):
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1, err


def test_missing_data_that_cannot_be_downloaded_costs_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "empty"))
    arguments = ["find-ticket", "--dataset", "mnist", "--no-download", "--out", str(tmp_path / "run")]
    assert main(arguments) == 1
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: mnist was not found") and err.count("\n") == 1, err
    assert "--data-dir" in err and "--no-download" in err


def test_a_data_dir_without_the_data_costs_one_line_naming_it(tmp_path, capsys):
    arguments = ["find-ticket", "--dataset", "mnist", "--data-dir", str(tmp_path / "empty"),
                 "--out", str(tmp_path / "r")]
    assert main(arguments) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--data-dir names {tmp_path / 'empty'}, which does not exist" in err, err


def test_plot_of_a_folder_that_is_no_run_costs_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1 and "history.json" in err, err


def test_a_bad_argument_prints_no_traceback_from_a_real_process(tmp_path):
    process = start(*QUICK, "--out", str(tmp_path / "run"), "--target-sparsity", "1.5")
    status, out, err = finish(process)
    assert status == 1 and out == ""
    assert err == "lottery-np: error: --target-sparsity: target_sparsity must be a finite number in [0, 1), got 1.5\n"


def test_an_earlier_run_is_not_overwritten_without_resume(quick_run, capsys):
    before = (quick_run / "ticket.npz").read_bytes()
    assert main([*QUICK, "--out", str(quick_run)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "another --out" in err
    assert (quick_run / "ticket.npz").read_bytes() == before


def test_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main([*QUICK, "--out", str(tmp_path / "file")]) == 1
    assert "--out must be a folder" in capsys.readouterr().err


def test_resume_with_other_settings_names_the_setting(quick_run, capsys):
    assert main([*QUICK, "--out", str(quick_run), "--resume", "--seed", "7", "--rounds", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed 7 (the run has 0)" in err and "--rounds 3 (the run has 2)" in err, err


def test_a_settings_file_nested_too_deeply_costs_one_line(quick_run, tmp_path, capsys):
    import shutil

    spoiled = tmp_path / "spoiled"
    shutil.copytree(quick_run, spoiled)
    (spoiled / "settings.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main([*QUICK, "--out", str(spoiled), "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "settings.json is not a settings file: JSON nested too deeply" in err, err


def test_a_run_started_by_an_older_lottery_np_is_not_resumed(quick_run, tmp_path, capsys):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(quick_run, old)
    settings = json.loads((old / "settings.json").read_text())
    del settings["numerics"]  # what settings.json of lottery_np before numerics version 2 held
    (old / "settings.json").write_text(json.dumps(settings))
    assert main([*QUICK, "--out", str(old), "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "started by an older lottery_np" in err and "another --out" in err, err


def test_resuming_a_finished_run_rewrites_the_same_ticket(quick_run, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("settings.json", "checkpoint.npz"):
        (copy / name).write_bytes((quick_run / name).read_bytes())
    assert main([*QUICK, "--out", str(copy), "--resume"]) == 0
    assert_same_run(copy, quick_run)
    assert (json.loads((copy / "history.json").read_text())["history"]
            == json.loads((quick_run / "history.json").read_text())["history"])  # nothing retrained


def test_benchmark_parses_its_options_in_one_pass(monkeypatch):
    received = []
    monkeypatch.setattr(command, "run", lambda args, parser: received.append((args, parser)) or 3)
    assert main(["benchmark", "--seeds", "3", "4", "--rounds=2", "--quick", "--out", "somewhere"]) == 3
    (args, parser), = received
    assert (args.command, args.seeds, args.rounds, args.quick, str(args.out)) == ("benchmark", [3, 4], 2, True,
                                                                                   "somewhere")
    assert parser.prog == "lottery-np benchmark"
    assert parser.parse_args(["--rounds", "7"]).rounds == 7, "run() is not given the parser of the benchmark's options"


def test_benchmark_help_comes_from_the_experiment(capsys):
    assert main(["benchmark", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: lottery-np benchmark") and "--target-sparsity" in help_text
    assert "--quick" in help_text and command.DESCRIPTION.split(",")[0] in " ".join(help_text.split())


@pytest.mark.parametrize("arguments", [["--bogus"], ["--quick", "--bogus", "--rounds", "2"], ["--quick", "extra"],
                                       ["--version"]])
def test_a_bad_benchmark_option_costs_one_line(arguments, monkeypatch, capsys):
    monkeypatch.setattr(command, "run", lambda args, parser: pytest.fail("the benchmark ran"))
    assert main(["benchmark", *arguments]) == 2
    err = capsys.readouterr().err
    unknown = " ".join(a for a in arguments if a not in ("--quick", "--rounds", "2"))
    assert err.count("\n") == 1, err
    assert err == f"lottery-np: error: unrecognized arguments: {unknown} (see 'lottery-np benchmark --help')\n"


def test_a_bad_benchmark_setting_names_its_option(tmp_path, capsys):
    assert main(["benchmark", "--quick", "--rounds", "0", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == ("lottery-np: error: --rounds: rounds must be an integer >= 1, got 0 "
                   "(see 'lottery-np benchmark --help')\n")
    assert not (tmp_path / "out").exists()


def test_a_killed_run_resumes_to_the_uninterrupted_result(reference_run, tmp_path):
    run_dir = tmp_path / "run"
    process = start(*SLOW, "--out", str(run_dir))
    stop_after_first_round(process, run_dir, signal.SIGKILL)
    if finish(process)[0] == 0:
        assert_same_run(run_dir, reference_run)
        pytest.skip("the run finished before it was killed, so resuming was not exercised")
    saved = checkpointed_history(run_dir)
    status, _, err = finish(start(*SLOW, "--out", str(run_dir), "--resume"))
    assert status == 0, err
    assert_same_run(run_dir, reference_run)
    resumed = json.loads((run_dir / "history.json").read_text())["history"]
    assert resumed[:len(saved)] == saved, "the checkpointed rounds were trained again instead of loaded"


@pytest.fixture
def children_feel_ctrl_c():
    """A child inherits an ignored SIGINT (as under ``nohup``); un-ignore it here while the test runs."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("children_feel_ctrl_c")
def test_ctrl_c_says_how_to_resume_and_that_command_finishes_the_run(reference_run, tmp_path):
    run_dir = tmp_path / "run"
    process = start(*SLOW, "--out", str(run_dir))
    stop_after_first_round(process, run_dir, signal.SIGINT)
    status, out, err = finish(process)
    if status == 0:
        assert_same_run(run_dir, reference_run)
        pytest.skip("the run finished before Ctrl-C, so resuming was not exercised")
    assert status == 130 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"the finished rounds are saved in {run_dir / 'checkpoint.npz'}" in err
    command = shlex.split(err.split("continue with: ")[1])
    assert command[0] == "lottery-np" and command[-1] == "--resume"
    status, _, err = finish(start(*command[1:]))
    assert status == 0, err
    assert_same_run(run_dir, reference_run)


def _snapshot(folder) -> dict:
    """Every file of ``folder`` with its bytes: what a refused run must leave as it was."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_second_run_on_a_folder_in_use_is_refused_and_changes_nothing(reference_run, tmp_path, capsys):
    """Issue 24, class 1: two runs on one --out; the second is refused, the first resumes and finishes."""
    run_dir = tmp_path / "run"
    first = start(*SLOW, "--out", str(run_dir))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (run_dir / "settings.json").exists():  # the first run holds the folder, in its dense round
            assert first.poll() is None and time.monotonic() < deadline, "the first run wrote no settings"
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # paused there, still holding the folder
        before = _snapshot(run_dir)
        assert main([*SLOW, "--seed", "1", "--out", str(run_dir)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--out {run_dir} is in use by another run" in err, err
        assert _snapshot(run_dir) == before  # its settings.json not rewritten
    finally:
        first.send_signal(signal.SIGKILL)  # killed: the folder is free again
        first.wait(timeout=TIMEOUT)
    assert main([*SLOW, "--out", str(run_dir), "--resume"]) == 0  # the first run's, as it started
    assert_same_run(run_dir, reference_run)


def test_two_benchmarks_on_one_out_are_one_run(tmp_path, capsys):
    from lottery_np.files import owned_folder

    out = tmp_path / "out"
    with owned_folder(out):  # as a running benchmark holds it
        assert main(["benchmark", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {out} is in use by another run" in err, err
    assert list(out.iterdir()) == []
