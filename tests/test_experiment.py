"""Tests of lottery_np.experiment: the quick benchmark end to end, and numbers that do not depend on n_jobs."""
import dataclasses
import json
import os

import numpy as np
import pytest

from lottery_np import cli
from lottery_np.data import load_dataset
from lottery_np.experiment import FULL, METHODS, QUICK, BenchmarkSettings, build_parser, main, run_benchmark
from lottery_np.experiment import command, settings_from_args
from lottery_np.experiment.runner import job_count
from lottery_np.experiment.store import load_jobs

FIGURES = ("accuracy_vs_density.png", "early_stopping.png", "learning_curves.png", "first_layer_mask.png")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``--quick --n-jobs 2`` through ``main``: the output folder and its results.json."""
    out = tmp_path_factory.mktemp("quick")
    assert main(["--quick", "--n-jobs", "2", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def without_times(runs):
    """The runs with every wall-clock time removed (the only numbers allowed to differ)."""
    return [{**{k: v for k, v in run.items() if k not in ("wall_time", "masks")},
             "records": [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]} for run in runs]


def test_quick_run_writes_every_method_seed_and_figure(quick_run):
    out, results = quick_run
    seen = {(run["method"], run["seed"]) for run in results["runs"]}
    assert seen == {(m, s) for m in METHODS for s in QUICK.seeds}
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, f"{name} missing or empty"
    assert results["environment"]["n_jobs"] == 2 and results["environment"]["blas"] is not None
    assert results["settings"]["iterations"] == QUICK.iterations


def test_every_job_is_saved_with_its_settings(quick_run):
    out, results = quick_run
    settings = BenchmarkSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in results["settings"].items()})
    assert len(list((out / "jobs").glob("*.json"))) == len(results["runs"]) == job_count(settings)
    assert sorted(p.name for p in (out / "jobs").glob("*.npz")) == [f"lottery_ticket-seed{s}.npz" for s in QUICK.seeds]
    for path in (out / "jobs").glob("*.json"):
        assert json.loads(path.read_text())["settings"] == results["settings"], path.name
    saved = load_jobs(out / "jobs", settings)
    saved.sort(key=lambda run: (METHODS.index(run["method"]), run["seed"], run.get("pruning_round", 0)))
    assert [{k: v for k, v in run.items() if k != "masks"} for run in saved] == results["runs"]
    for run in saved:
        if run["method"] == "lottery_ticket":
            assert len(run["masks"]) == QUICK.rounds + 1
            assert all(m.dtype == np.uint8 and m.shape == (fan_in, fan_out) for masks in run["masks"]
                       for m, fan_in, fan_out in zip(masks, settings.layer_sizes[:-1], settings.layer_sizes[1:]))
            assert all(m.all() for m in run["masks"][0]) and not any(m.all() for m in run["masks"][-1])


def test_every_method_runs_at_the_imp_densities(quick_run):
    _, results = quick_run
    densities = results["densities"]
    for run in results["runs"]:
        if run["method"] in ("lottery_ticket", "late_rewind", "magnitude"):
            assert [r["density"] for r in run["records"]] == pytest.approx(densities, abs=1e-12), run["method"]
        elif run["method"] != "dense":
            assert run["records"][0]["density"] == pytest.approx(densities[run["pruning_round"]], abs=1e-12)


def test_dense_baseline_equals_round_zero_of_imp_and_magnitude(quick_run):
    _, results = quick_run
    runs = {(run["method"], run["seed"]): run for run in results["runs"] if "pruning_round" not in run}
    for seed in QUICK.seeds:
        dense = runs["dense", seed]["records"][0]["curve"]
        for method in ("lottery_ticket", "late_rewind"):
            assert runs[method, seed]["records"][0]["curve"] == dense, method
        assert runs["magnitude", seed]["records"][0]["early_stop_test_accuracy"] == dense["test_accuracy"][-1]


def test_random_reinit_is_not_the_ticket_itself(quick_run):
    _, results = quick_run
    tickets = {run["seed"]: run for run in results["runs"] if run["method"] == "lottery_ticket"}
    for run in results["runs"]:
        if run["method"] == "random_reinit":
            ticket = tickets[run["seed"]]["records"][run["pruning_round"]]
            assert run["records"][0]["curve"]["val_loss"][0] != ticket["curve"]["val_loss"][0]


def test_numbers_do_not_depend_on_n_jobs(quick_run):
    _, results = quick_run
    data = load_dataset("digits")
    settings = QUICK.resolve(len(data.X_train), data.n_features, data.n_classes)
    sequential = run_benchmark(settings, n_jobs=1, progress=False)
    assert without_times(sequential) == without_times(results["runs"])


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="rounds must be an integer >= 1, got 0"):
        BenchmarkSettings(rounds=0)
    with pytest.raises(ValueError, match=r"late_rewind_iteration must be an integer in \[0, 199\], got 500"):
        dataclasses.replace(QUICK, late_rewind_iteration=500).resolve(1257, 64, 10)
    for bad in ({"seeds": (0, 0)}, {"seeds": (True,)}, {"seeds": (-1,)}, {"rounds": True},
                {"target_sparsity": 0.0}, {"fine_tune_iterations": 0}, {"late_rewind_iteration": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            BenchmarkSettings(**bad)
    with pytest.raises(SystemExit):
        main(["--quick", "--target-sparsity", "1.5"])


def test_a_training_length_replaces_the_presets():
    quick = settings_from_args(build_parser().parse_args(["--quick", "--epochs", "2"]))
    assert (quick.epochs, quick.iterations) == (2.0, None)
    full = settings_from_args(build_parser().parse_args(["--iterations", "300"]))
    assert (full.epochs, full.iterations) == (None, 300)
    assert FULL.with_length(iterations=300) == full and QUICK.with_length(epochs=2) == quick
    with pytest.raises(ValueError, match="exactly one of iterations and epochs"):
        QUICK.with_length()


def test_epochs_run_through_the_command_line(tmp_path):
    out = tmp_path / "epochs"
    arguments = ["--quick", "--epochs", "1", "--seeds", "0", "--rounds", "1", "--n-jobs", "1", "--out", str(out)]
    assert cli.main(["benchmark", *arguments]) == 0
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert (settings["epochs"], settings["iterations"]) == (None, 1257 // 60)  # one pass of the digits' batches


@pytest.fixture
def no_job_may_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a job ran although --out was bad")

    monkeypatch.setattr(command, "run_benchmark", refuse)


@pytest.mark.usefixtures("no_job_may_run")
@pytest.mark.parametrize("where", ["file", "inside a file", "empty", "read-only folder"])
def test_a_bad_out_is_refused_before_any_job_runs(where, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    out = {"file": a_file, "inside a file": a_file / "out", "empty": "", "read-only folder": tmp_path / "locked"}[where]
    if where == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        out.mkdir(mode=0o555)
    assert cli.main(["benchmark", "--quick", "--n-jobs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lottery-np: error:") and "--out" in err, err
    assert not list(tmp_path.rglob("jobs")), "a jobs folder was created"
