"""Tests of lottery_np.experiment: the quick benchmark end to end, whole settings, and numbers that do not
depend on n_jobs."""
import dataclasses
import json
import os

import numpy as np
import pytest

from lottery_np import cli
from lottery_np.config import TrainingConfig
from lottery_np.data import load_dataset
from lottery_np.experiment import FULL, METHODS, QUICK, BenchmarkSettings, build_parser, main, run_benchmark
from lottery_np.experiment import command, options_from_args
from lottery_np.experiment.runner import job_count
from lottery_np.experiment.store import load_jobs
from lottery_np.validation import SettingError

FIGURES = ("accuracy_vs_density.png", "early_stopping.png", "learning_curves.png", "first_layer_mask.png")


@pytest.fixture(scope="module")
def quick_settings():
    """The ``QUICK`` preset's settings for the digits, as ``--quick`` makes them."""
    data = load_dataset("digits")
    return BenchmarkSettings.for_data(len(data.X_train), data.n_features, data.n_classes, **QUICK)


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
    assert seen == {(m, s) for m in METHODS for s in QUICK["seeds"]}
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, f"{name} missing or empty"
    assert results["environment"]["n_jobs"] == 2 and results["environment"]["blas"] is not None
    assert results["settings"]["training"]["iterations"] == QUICK["training"].iterations


def test_every_job_is_saved_with_its_settings(quick_run, quick_settings):
    out, results = quick_run
    settings = quick_settings
    assert json.loads(json.dumps(settings.to_dict())) == results["settings"]
    assert len(list((out / "jobs").glob("*.json"))) == len(results["runs"]) == job_count(settings)
    masks_files = sorted(p.name for p in (out / "jobs").glob("*.npz"))
    assert masks_files == [f"lottery_ticket-seed{s}.npz" for s in QUICK["seeds"]]
    for path in (out / "jobs").glob("*.json"):
        assert json.loads(path.read_text())["settings"] == results["settings"], path.name
    saved = load_jobs(out / "jobs", settings)
    saved.sort(key=lambda run: (METHODS.index(run["method"]), run["seed"], run.get("pruning_round", 0)))
    assert [{k: v for k, v in run.items() if k != "masks"} for run in saved] == results["runs"]
    for run in saved:
        if run["method"] == "lottery_ticket":
            assert len(run["masks"]) == QUICK["rounds"] + 1
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
    for seed in QUICK["seeds"]:
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


def test_numbers_do_not_depend_on_n_jobs(quick_run, quick_settings):
    _, results = quick_run
    sequential = run_benchmark(quick_settings, n_jobs=1, progress=False)
    assert without_times(sequential) == without_times(results["runs"])


def test_settings_are_whole_when_made():
    settings = BenchmarkSettings.for_data(55_000, 784, 10, **FULL)  # MNIST's sizes
    assert all(getattr(settings, field.name) is not None for field in dataclasses.fields(settings)
               if field.name not in ("subset", "data_dir")), settings  # None there: all the data, the default folder
    assert settings.training == dataclasses.replace(FULL["training"], epochs=None, iterations=10 * (55_000 // 60))
    assert (settings.late_rewind_iteration, settings.fine_tune_iterations) == (92, 4_580)  # 1 % and half of 9,160
    assert settings.layer_sizes == (784, 300, 100, 10) and settings.seeds == (0, 1, 2)
    given = BenchmarkSettings.for_data(1257, 64, 10, **{**QUICK, "late_rewind_iteration": 7,
                                                        "fine_tune_iterations": 30, "seeds": [np.int64(4)]})
    assert (given.late_rewind_iteration, given.fine_tune_iterations, given.seeds) == (7, 30, (4,))
    assert type(given.seeds[0]) is int


def test_settings_are_never_half_built(quick_settings):
    with pytest.raises(SettingError, match="late_rewind_iteration must be an integer") as error:
        dataclasses.replace(quick_settings, late_rewind_iteration=None)
    assert error.value.setting == "late_rewind_iteration"
    with pytest.raises(SettingError, match="counted in iterations") as error:
        dataclasses.replace(quick_settings, training=TrainingConfig(epochs=1.0))
    assert error.value.setting == "training"
    with pytest.raises(SettingError, match=r"layer_sizes\[0\] must be an integer >= 1, got None"):
        dataclasses.replace(quick_settings, layer_sizes=(None, 300, 100, 10))


@pytest.mark.parametrize("option, value, message", [
    ("rounds", 0, "rounds must be an integer >= 1, got 0"),
    ("rounds", True, "rounds must be an integer >= 1, got True"),
    ("seeds", (0, 0), "seeds must be distinct integers"),
    ("seeds", (), "seeds must be distinct integers"),
    ("seeds", (True,), r"seeds\[0\] must be an integer >= 0"),
    ("seeds", (0, -1), r"seeds\[1\] must be an integer >= 0"),
    ("target_sparsity", 0.0, r"target_sparsity must be a finite number in \(0, 1\)"),
    ("target_sparsity", 1.0, "target_sparsity"),
    ("fine_tune_iterations", 0, "fine_tune_iterations must be an integer >= 1, got 0"),
    ("late_rewind_iteration", -1, r"late_rewind_iteration must be an integer in \[0, 199\], got -1"),
    ("late_rewind_iteration", 500, r"late_rewind_iteration must be an integer in \[0, 199\], got 500"),
    ("dataset", "cifar", "dataset must be one of"),
])
def test_bad_options_fail_when_the_settings_are_made(option, value, message):
    with pytest.raises(SettingError, match=message) as error:
        BenchmarkSettings.for_data(1257, 64, 10, **{**QUICK, option: value})
    assert error.value.setting.split("[")[0] == option


def test_a_late_rewind_past_an_epoch_length_is_named():
    training = TrainingConfig(epochs=1.0, eval_every=20)  # 1257 // 60 = 20 iterations
    with pytest.raises(SettingError, match=r"late_rewind_iteration must be an integer in \[0, 19\], got 20"):
        BenchmarkSettings.for_data(1257, 64, 10, **{**QUICK, "training": training, "late_rewind_iteration": 20})


def test_a_bad_option_on_the_command_line_stops_the_script():
    with pytest.raises(SystemExit):
        main(["--quick", "--target-sparsity", "1.5"])


def test_a_training_length_replaces_the_presets():
    quick = options_from_args(build_parser().parse_args(["--quick", "--epochs", "2"]))["training"]
    assert quick == TrainingConfig(epochs=2.0, eval_every=QUICK["training"].eval_every)
    full = options_from_args(build_parser().parse_args(["--iterations", "300", "--eval-every", "50"]))["training"]
    assert full == TrainingConfig(iterations=300, eval_every=50)
    assert options_from_args(build_parser().parse_args([]))["training"] == FULL["training"]


def test_the_options_are_the_presets_with_the_given_ones_applied():
    options = options_from_args(build_parser().parse_args(["--quick", "--seeds", "3", "--rounds", "4"]))
    assert options == {**QUICK, "seeds": (3,), "rounds": 4, "subset": None, "data_dir": None}
    mnist = options_from_args(build_parser().parse_args(["--quick", "--dataset", "mnist", "--data-dir", "d"]))
    assert (mnist["dataset"], mnist["subset"], mnist["data_dir"]) == ("mnist", command.QUICK_SUBSET, "d")


@pytest.mark.parametrize("setting", ["dataset", "seeds", "target_sparsity", "rounds", "epochs", "iterations",
                                     "eval_every", "late_rewind_iteration", "fine_tune_iterations"])
def test_every_setting_an_option_sets_maps_to_an_option_of_the_parser(setting):
    parser = build_parser()
    option = command.option_of(SettingError(f"{setting}[1]", "an integer", -1), parser)
    assert option == "--" + setting.replace("_", "-") and option in parser.format_help()


def test_a_setting_no_option_sets_has_no_option():
    assert command.option_of(SettingError("batch_size", "an integer <= 50", 60), build_parser()) is None


def test_epochs_run_through_the_command_line(tmp_path):
    out = tmp_path / "epochs"
    arguments = ["--quick", "--epochs", "1", "--seeds", "0", "--rounds", "1", "--n-jobs", "1", "--out", str(out)]
    assert cli.main(["benchmark", *arguments]) == 0
    training = json.loads((out / "results.json").read_text())["settings"]["training"]
    assert (training["epochs"], training["iterations"]) == (None, 1257 // 60)  # one pass of the digits' batches


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


@pytest.mark.usefixtures("no_job_may_run")
@pytest.mark.parametrize("arguments, named", [
    (["--rounds", "0"], "--rounds: rounds"),
    (["--seeds", "0", "0"], "--seeds: seeds"),
    (["--seeds", "-1"], "--seeds: seeds[0]"),
    (["--target-sparsity", "1.5"], "--target-sparsity: target_sparsity"),
    (["--epochs", "0"], "--epochs: epochs"),
    (["--iterations", "0"], "--iterations: iterations"),
    (["--eval-every", "0"], "--eval-every: eval_every"),
    (["--late-rewind-iteration", "200"], "--late-rewind-iteration: late_rewind_iteration"),
    (["--fine-tune-iterations", "0"], "--fine-tune-iterations: fine_tune_iterations"),
])
def test_a_bad_setting_names_its_option_before_any_job_runs(arguments, named, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["benchmark", "--quick", "--out", str(out), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lottery-np: error: {named}"), err
    assert not out.exists()


def test_the_demo_preset_is_the_measured_mnist_subset_with_imp_and_its_controls():
    from lottery_np.experiment.command import build_parser, options_from_args
    from lottery_np.experiment.settings import DEMO_SUBSET

    args = build_parser().parse_args(["--demo"])
    options = options_from_args(args)
    assert (options["dataset"], options["subset"], options["rounds"], options["target_sparsity"]) == (
        "mnist", DEMO_SUBSET, 4, 0.95)
    assert options["training"].iterations == 2000 and options["seeds"] == (0, 1, 2)
    assert options_from_args(build_parser().parse_args(["--demo", "--seeds", "5", "--rounds", "2"]))["rounds"] == 2
    with pytest.raises(SystemExit):  # one preset or the other
        build_parser().parse_args(["--demo", "--quick"])
