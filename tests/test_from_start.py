"""The benchmark's methods sparse from the start: every IMP density hit exactly, masks chosen before training
and depending on the seed alone, the grid's numbers whatever the number of workers, resume, and --methods."""
import json

import numpy as np
import pytest

from lottery_np import MLP, cli
from lottery_np.data import load_dataset
from lottery_np.experiment import QUICK, BenchmarkSettings, main
from lottery_np.experiment.from_start import masks_at_init
from lottery_np.experiment.runner import check_methods, job_count
from lottery_np.experiment.settings import FROM_START
from lottery_np.validation import SettingError

METHODS = ["dense", *FROM_START]
ARGS = ["--quick", "--iterations", "120", "--eval-every", "40", "--methods", *METHODS]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def run_two_workers(tmp_path_factory):
    out = tmp_path_factory.mktemp("from_start")
    assert main([*ARGS, "--n-jobs", "2", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def numbers(runs):
    """Every number of the runs but wall-clock times."""
    return [{**{k: v for k, v in run.items() if k != "wall_time"},
             "records": [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]} for run in runs]


@pytest.mark.parametrize("method", FROM_START)
def test_masks_at_init_keep_exactly_n_and_depend_on_the_seed_only(method, digits):
    net = MLP((64, 30, 10), seed=3)
    n_keep = 170
    first = masks_at_init(method, net, digits, n_keep, seed=3)
    again = masks_at_init(method, MLP((64, 30, 10), seed=3), digits, n_keep, seed=3)
    assert sum(int(m.sum()) for m in first) == n_keep
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(m.dtype == np.float32 and set(np.unique(m)) <= {0.0, 1.0} for m in first)
    assert all(np.array_equal(w, w0) for w, w0 in zip(net.weights, MLP((64, 30, 10), seed=3).weights))


def test_every_method_trains_at_every_imp_density(run_two_workers):
    out, results = run_two_workers
    assert {run["method"] for run in results["runs"]} == set(METHODS)
    densities = results["densities"]
    for run in results["runs"]:
        if run["method"] in FROM_START:
            assert [r["pruning_round"] for r in run["records"]] == list(range(1, len(densities)))
            assert [r["density"] for r in run["records"]] == densities[1:], run["method"]
            assert set(run["input_connections"]) == {str(r) for r in range(1, len(densities))}
            kept = sum(run["input_connections"][str(len(densities) - 1)])
            assert 0 < kept < 64 * 300
    assert all((out / name).stat().st_size > 1000 for name in ("input_connections.png", "accuracy_vs_seconds.png",
                                                            "from_start_vs_density.png"))
    assert not (out / "learning_curves.png").exists()  # no lottery_ticket run, no ticket's curves


def test_the_numbers_do_not_depend_on_the_workers(run_two_workers, tmp_path):
    _, two = run_two_workers
    assert main([*ARGS, "--n-jobs", "1", "--out", str(tmp_path)]) == 0
    one = json.loads((tmp_path / "results.json").read_text())
    assert numbers(one["runs"]) == numbers(two["runs"])


def test_a_resume_runs_only_the_missing_jobs(run_two_workers, tmp_path):
    _, first = run_two_workers
    assert main([*ARGS, "--n-jobs", "1", "--out", str(tmp_path)]) == 0
    (tmp_path / "jobs" / "rigl-seed1.json").unlink()
    kept = (tmp_path / "jobs" / "snip-seed0.json").stat().st_mtime_ns
    assert main([*ARGS, "--n-jobs", "1", "--out", str(tmp_path), "--resume"]) == 0
    assert (tmp_path / "jobs" / "snip-seed0.json").stat().st_mtime_ns == kept
    again = json.loads((tmp_path / "results.json").read_text())
    assert numbers(again["runs"]) == numbers(first["runs"])


def test_job_count_counts_the_methods_chosen(digits):
    settings = BenchmarkSettings.for_data(len(digits.X_train), digits.n_features, digits.n_classes, **QUICK)
    seeds = len(settings.seeds)
    assert job_count(settings, ("dense", "snip", "rigl")) == 3 * seeds
    assert job_count(settings, ("lottery_ticket", "random_mask")) == seeds * (1 + settings.rounds)


@pytest.mark.parametrize("methods, message", [(["snip", "magic"], "magic"), (["random_mask"], "lottery_ticket"),
                                              ([], "methods")])
def test_bad_methods_are_refused(methods, message):
    with pytest.raises(SettingError, match=message) as error:
        check_methods(methods)
    assert error.value.setting == "methods"


def test_the_command_line_names_a_bad_method_in_one_line(tmp_path, capsys):
    status = cli.main(["benchmark", "--quick", "--methods", "dense", "magic", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--methods" in err[0] and "magic" in err[0]
    assert not (tmp_path / "x").exists()


def test_the_speed_benchmark_runs_each_configuration_in_its_own_process(tmp_path, capsys):
    import importlib.util
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "sparse_speed.py"
    spec = importlib.util.spec_from_file_location("sparse_speed", script)
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    try:
        load_dataset("mnist", download=False)
    except Exception:
        pytest.skip("MNIST is not on disk here")
    assert speed.main(["--iterations", "40", "--repeats", "1", "--methods", "rigl", "--densities", "0.5",
                       "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "speed.json").read_text())["rows"]
    assert [(row["method"], row["density"]) for row in rows] == [("dense", 1.0), ("rigl", 0.5)]
    assert rows[0]["ratio"] == 1.0 and 0 < rows[1]["flop_ratio"] < 1
    assert "vs dense" in capsys.readouterr().out
