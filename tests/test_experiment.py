"""Tests of lottery_np.experiment: the quick benchmark end to end, and numbers that do not depend on n_jobs."""
import dataclasses
import json

import pytest

from lottery_np.data import load_dataset
from lottery_np.experiment import METHODS, QUICK, BenchmarkSettings, main, run_benchmark

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
    with pytest.raises(ValueError, match="late_rewind_iteration must be less than the 200 iterations, got 500"):
        dataclasses.replace(QUICK, late_rewind_iteration=500).resolve(1257, 64, 10)
    with pytest.raises(SystemExit):
        main(["--quick", "--target-sparsity", "1.5"])
