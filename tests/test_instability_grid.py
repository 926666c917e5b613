"""The instability grid (:mod:`lottery_np.analysis.grid`), its job files, and ``lottery-np instability``.

Settings refused by name; the jobs the grid plans, counted; the quick digits grid run
once with one worker and once with two to the same numbers; a resume that runs only the
missing jobs and refuses files of other settings or damaged ones; a ``find-ticket`` run
folder analysed end to end; and the report and figures the grid leaves behind.
"""
import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np.analysis import command, grid, store
from lottery_np.analysis.grid import InstabilitySettings, job_count, plan_imp, plan_sparse
from lottery_np.analysis.instability import matching
from lottery_np.analysis.report import summarise
from lottery_np.cli import main
from lottery_np.config import TrainingConfig
from lottery_np.pruning import WinningTicket, read_checkpoint
from lottery_np.validation import SettingError

TRAINING = TrainingConfig(iterations=100, eval_every=50)
VALID = {"dataset": "digits", "layer_sizes": (64, 20, 10), "training": TRAINING, "seeds": (0, 1),
         "rewind_iterations": (0, 10), "pruning_rounds": 2, "rounds": (1, 2), "sweep_round": 2}

# The quick preset's k, (0, 20); test_rewind_iterations_can_be_chosen_without_a_run_folder chooses others.
QUICK = ["--preset", "quick", "--seeds", "0", "--rounds", "2", "--sweep-round", "2", "--pruning-rounds", "2",
         "--iterations", "150", "--no-progress"]
PNG = b"\x89PNG\r\n\x1a\n"
TIMES = ("wall_time", "seconds")


def quick(out, *extra: str, points: int = 5, n_jobs: int = 1) -> list[str]:
    return [*QUICK, "--points", str(points), "--n-jobs", str(n_jobs), "--out", str(out), *extra]


def without_times(value):
    """``value`` with every wall-clock time removed, at any depth (the only numbers allowed to differ)."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def run_key(run: dict) -> tuple:
    return run["method"], run["seed"], run.get("pruning_round") or 0, run.get("rewind_iteration") or 0


def results(out) -> dict:
    return json.loads((out / "results.json").read_text())


def numbers(out) -> dict:
    """What two runs of one grid must share: settings, cells and runs, times and environment aside."""
    payload = results(out)
    return {"settings": payload["settings"], "cells": without_times(payload["cells"]),
            "runs": without_times(sorted(payload["runs"], key=run_key))}


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick digits grid with IMP (2 rounds), one worker."""
    out = tmp_path_factory.mktemp("quick") / "out"
    assert command.main(quick(out), preset="quick") == 0
    return out


@pytest.fixture
def quick_copy(quick_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(quick_run, out)
    return out


# ------------------------------------------------------------------ settings

@pytest.mark.parametrize("change, setting", [
    ({"seeds": (0, 0)}, "seeds"),
    ({"rewind_iterations": (0, 100)}, "rewind_iterations"),
    ({"rewind_iterations": (10, 10)}, "rewind_iterations"),
    ({"pruning_rounds": 0, "rounds": (1,), "sweep_round": None}, "rounds"),
    ({"sweep_round": 3}, "sweep_round"),
    ({"rounds": (3,)}, "rounds"),
    ({"data_seeds": (5,)}, "data_seeds"),
    ({"points": 1}, "points"),
    ({"training": TrainingConfig(epochs=1)}, "training"),
], ids=["repeated seed", "k beyond training", "repeated k", "rounds without IMP", "sweep beyond IMP",
        "round beyond IMP", "one data seed", "one point", "epochs"])
def test_a_bad_setting_is_refused_by_name(change, setting):
    with pytest.raises(SettingError) as error:
        InstabilitySettings(**{**VALID, **change})
    assert error.value.setting.split("[")[0] == setting, error.value.setting
    assert setting in str(error.value)


def test_good_settings_are_kept_in_order():
    made = InstabilitySettings(**{**VALID, "rewind_iterations": (10, 0), "seeds": [1, 0]})
    assert made.rewind_iterations == (0, 10) and made.seeds == (1, 0) and made.layer_sizes == (64, 20, 10)
    assert json.loads(json.dumps(made.to_dict()))["training"]["iterations"] == 100


def test_repeated_rounds_are_refused():
    with pytest.raises(SettingError) as error:
        InstabilitySettings(**{**VALID, "rounds": (1, 1)})
    assert error.value.setting == "rounds"


def test_a_sweep_round_without_imp_is_refused():
    with pytest.raises(SettingError) as error:
        InstabilitySettings(**{**VALID, "pruning_rounds": 0, "rounds": (), "sweep_round": 1})
    assert error.value.setting == "sweep_round"


# ---------------------------------------------------------------- job count

def fake_imp_results(made: InstabilitySettings) -> dict:
    """What ``plan_sparse`` reads of each seed's ``imp`` result: every round's masks (all ones here)."""
    shapes = list(zip(made.layer_sizes[:-1], made.layer_sizes[1:]))
    masks = [[np.ones(shape, np.uint8) for shape in shapes] for _ in range(made.pruning_rounds + 1)]
    return {("imp", seed, None, None): {"masks": masks} for seed in made.seeds}


def planned(made: InstabilitySettings) -> list:
    return plan_imp(made) + plan_sparse(made, fake_imp_results(made))


@pytest.mark.parametrize("change, tickets", [
    ({"pruning_rounds": 0, "rounds": (), "sweep_round": None}, set()),
    ({}, {(1, 0), (2, 0), (2, 10)}),  # sweep_round 2 among the rounds
    ({"pruning_rounds": 3, "rounds": (1, 2), "sweep_round": 3}, {(1, 0), (2, 0), (3, 0), (3, 10)}),  # outside
    ({"rewind_iterations": (5, 10), "rounds": (2,)}, {(2, 0), (2, 5), (2, 10)}),  # k = 0 not swept
    ({"sweep_round": None}, {(1, 0), (2, 0)}),
], ids=["dense only", "sweep among the rounds", "sweep outside the rounds", "k = 0 not swept", "no sweep"])
def test_job_count_is_the_number_of_jobs_planned(change, tickets):
    made = InstabilitySettings(**{**VALID, **change})
    jobs = planned(made)
    assert job_count(made) == len(jobs)
    assert len({job.key for job in jobs}) == len(jobs), "a job is planned twice"
    for seed in made.seeds:
        assert {(job.pruning_round, job.rewind_iteration) for job in jobs
                if job.method == "ticket" and job.seed == seed} == tickets
    assert sum(job.method == "imp" for job in jobs) == (len(made.seeds) if made.pruning_rounds else 0)
    assert all(job.masks is not None for job in jobs if job.method not in ("imp", "dense"))


@st.composite
def grids(draw):
    pruning_rounds = draw(st.integers(0, 4))
    rounds = draw(st.lists(st.integers(1, 4), unique=True, max_size=pruning_rounds)) if pruning_rounds else []
    rounds = [r for r in rounds if r <= pruning_rounds]
    sweep = draw(st.none() | st.integers(1, pruning_rounds)) if pruning_rounds else None
    return InstabilitySettings(**{**VALID, "seeds": tuple(draw(st.lists(st.integers(0, 9), unique=True, min_size=1,
                                                                         max_size=3))),
                                  "rewind_iterations": tuple(draw(st.lists(st.integers(0, 99), unique=True,
                                                                           min_size=1, max_size=4))),
                                  "pruning_rounds": pruning_rounds, "rounds": tuple(rounds), "sweep_round": sweep})


@settings(max_examples=30, deadline=None)
@given(grids())
def test_the_planned_jobs_are_the_grid_the_store_accepts(made):
    jobs = planned(made)
    assert job_count(made) == len(jobs)
    assert {job.key for job in jobs} == store._grid_keys(made)


# ------------------------------------------------------- running and resuming

def test_the_numbers_do_not_depend_on_the_number_of_workers(quick_run, tmp_path):
    out = tmp_path / "two"
    assert command.main(quick(out, n_jobs=2), preset="quick") == 0
    one, two = numbers(quick_run), numbers(out)
    assert one["settings"]["rewind_iterations"] == [0, 20] and one["settings"]["points"] == 5
    assert [run_key(run) for run in one["runs"]] == [run_key(run) for run in two["runs"]]
    for first, second in zip(one["runs"], two["runs"]):
        assert first == second, f"{run_key(first)} differs between one and two workers"
    assert one == two
    assert results(out)["environment"]["n_jobs"] == 2


def test_a_resume_runs_only_the_missing_jobs(quick_run, quick_copy, monkeypatch, capsys):
    jobs = quick_copy / "jobs"
    missing = {"ticket-seed0-round2-k20.json": ("ticket", 0, 2, 20),
               "random_reinit-seed0-round2-k0.json": ("random_reinit", 0, 2, 0)}
    for name in missing:
        (jobs / name).unlink()
    kept = {path.name: path.stat().st_mtime_ns for path in jobs.iterdir()}
    ran = []

    def recording(job, made):
        ran.append(job.key)
        return run_path_job(job, made)

    run_path_job = grid.run_path_job
    monkeypatch.setattr(grid, "run_path_job", recording)
    capsys.readouterr()
    assert command.main(quick(quick_copy, "--resume"), preset="quick") == 0
    assert sorted(ran) == sorted(missing.values())
    assert "for 2 jobs (5 resumed)" in capsys.readouterr().out
    assert numbers(quick_copy) == numbers(quick_run)
    assert {path.name: path.stat().st_mtime_ns for path in jobs.iterdir() if path.name in kept} == kept
    assert all((jobs / name).is_file() for name in missing)


def test_a_resume_with_other_settings_names_them(quick_copy, capsys):
    assert main(["instability", *quick(quick_copy, "--resume", points=6)]) == 2
    assert "was made with other settings: points=5 (now 6)" in one_line_error(capsys)


def test_a_damaged_job_file_is_refused_by_name(quick_copy, capsys):
    damaged = quick_copy / "jobs" / "dense-seed0-round0-k0.json"
    damaged.write_text('{"settings": [1, 2')
    assert main(["instability", *quick(quick_copy, "--resume")]) == 2
    err = one_line_error(capsys)
    assert f"{damaged} is not a finished job's file" in err


def test_imp_masks_that_regrow_a_pruned_weight_are_refused_by_name(quick_copy, capsys):
    masks_file = quick_copy / "jobs" / "imp-seed0.npz"
    with np.load(masks_file) as saved:
        arrays = dict(saved)
    assert (arrays["round_1_layer_0"] == 0).any()
    arrays["round_2_layer_0"] = arrays["round_0_layer_0"]  # all ones: keeps what round 1 pruned
    np.savez(masks_file, **arrays)
    assert main(["instability", *quick(quick_copy, "--resume")]) == 2
    err = one_line_error(capsys)
    assert "round_2_layer_0 keeps weights that round 1 pruned" in err and str(quick_copy / "jobs" / "imp-seed0") in err


def test_a_second_run_into_the_same_out_needs_resume(quick_run, capsys):
    before = (quick_run / "results.json").read_bytes()
    assert main(["instability", *quick(quick_run)]) == 2
    assert "--resume" in one_line_error(capsys)
    assert (quick_run / "results.json").read_bytes() == before


def test_rewind_iterations_can_be_chosen_without_a_run_folder(tmp_path, capsys):
    out = tmp_path / "out"
    arguments = ["instability", "--preset", "dense", "--dataset", "digits", "--iterations", "40", "--seeds", "0",
                 "--rewind-iterations", "0", "10", "--points", "3", "--no-progress", "--out", str(out)]
    assert main(arguments) == 0, capsys.readouterr().err
    assert results(out)["settings"]["rewind_iterations"] == [0, 10]


# ------------------------------------------------------------ a run folder

FIND_TICKET = ["find-ticket", "--dataset", "digits", "--hidden", "20", "10", "--iterations", "150", "--eval-every",
               "50", "--rounds", "2", "--no-progress"]


@pytest.fixture(scope="module")
def ticket_run(tmp_path_factory):
    """A finished two-round find-ticket run on the digits."""
    run_dir = tmp_path_factory.mktemp("ticket") / "run"
    assert main([*FIND_TICKET, "--target-sparsity", "0.6", "--out", str(run_dir)]) == 0
    return run_dir


def analyse(run_dir, out, *extra: str) -> list[str]:
    return ["instability", str(run_dir), "--rewind-iterations", "0", "20", "--points", "4", "--no-progress",
            "--out", str(out), *extra]


def test_a_find_ticket_run_is_analysed_with_its_own_settings_and_masks(ticket_run, tmp_path):
    out = tmp_path / "out"
    assert main(analyse(ticket_run, out)) == 0
    run = json.loads((ticket_run / "settings.json").read_text())
    ticket_round = json.loads((ticket_run / "history.json").read_text())["ticket_round"]
    payload = results(out)
    made = payload["settings"]
    assert made["layer_sizes"] == [64, 20, 10, 10] and made["seeds"] == [run["seed"]]
    assert made["training"]["iterations"] == 150 and made["rounds"] == [1, 2] and made["pruning_rounds"] == 2
    assert made["rewind_iterations"] == [0, 20] and made["points"] == 4
    tickets = {(r["pruning_round"], r["rewind_iteration"]) for r in payload["runs"] if r["method"] == "ticket"}
    assert tickets == {(1, 0), (2, 0), (ticket_round or 2, 20)}
    assert all(len(r["path"]["alphas"]) == 4 for r in payload["runs"] if r["method"] != "imp")
    state = read_checkpoint(ticket_run / "checkpoint.npz")
    with np.load(out / "jobs" / "imp-seed0.npz") as saved:
        for r, finished in enumerate(state.rounds):
            for layer, mask in enumerate(finished.masks):
                assert np.array_equal(saved[f"round_{r}_layer_{layer}"], mask), (r, layer)
    for r, finished in enumerate(state.rounds):
        density = [x["density"] for x in payload["runs"] if x["method"] == "ticket" and x["pruning_round"] == r]
        assert all(d == pytest.approx(finished.record.density) for d in density)
    imp, = [r for r in payload["runs"] if r["method"] == "imp"]
    assert [row["density"] for row in imp["records"]] == [finished.record.density for finished in state.rounds]
    assert len(imp["successive_barriers"]) == 2


@pytest.mark.parametrize("damage, extra, words", [
    ("checkpoint.npz", [], "checkpoint.npz"),
    (None, ["--dataset", "digits"], "--dataset cannot be given with RUN_DIR"),
    (None, ["--rewind-iterations", "500"], "rewind_iterations"),
], ids=["no checkpoint", "--dataset", "k beyond the run"])
def test_a_run_folder_mistake_costs_one_line(ticket_run, tmp_path, capsys, damage, extra, words):
    run_dir = tmp_path / "run"
    shutil.copytree(ticket_run, run_dir)
    if damage:
        (run_dir / damage).unlink()
    out = tmp_path / "out"
    assert main([*analyse(run_dir, out), *extra]) == 2
    assert words in one_line_error(capsys)
    assert not out.exists(), "a refused analysis wrote its --out"


def test_a_resume_refuses_jobs_of_another_run_in_the_same_folder(ticket_run, tmp_path, capsys):
    run_dir, out = tmp_path / "run", tmp_path / "out"
    shutil.copytree(ticket_run, run_dir)
    arguments = ["instability", str(run_dir), "--rewind-iterations", "0", "--sweep-round", "2", "--points", "3",
                 "--no-progress", "--out", str(out)]  # the sweep round given: not the runs' own ticket rounds
    assert main(arguments) == 0
    other = tmp_path / "other"
    assert main([*FIND_TICKET, "--target-sparsity", "0.8", "--out", str(other)]) == 0
    shutil.rmtree(run_dir)
    shutil.copytree(other, run_dir)  # another ticket search, two rounds as well, in the analysed folder
    old_masks = read_checkpoint(ticket_run / "checkpoint.npz").rounds[2].masks
    new_masks = read_checkpoint(run_dir / "checkpoint.npz").rounds[2].masks
    assert not all(np.array_equal(a, b) for a, b in zip(old_masks, new_masks)), "the two runs found the same masks"
    capsys.readouterr()
    assert main([*arguments, "--resume"]) == 2, "resumed the old run's jobs and masks for the new run"
    assert "source" in one_line_error(capsys)


def test_a_ticket_file_is_analysed_with_the_data_and_seed_given(tmp_path):
    run_dir = tmp_path / "run"
    assert main([*FIND_TICKET, "--target-sparsity", "0.6", "--accuracy-tolerance", "0.5", "--out", str(run_dir)]) == 0
    ticket = WinningTicket.load(run_dir / "ticket.npz")
    assert ticket.density < 1.0
    out = tmp_path / "out"
    assert main([*analyse(run_dir / "ticket.npz", out), "--dataset", "digits", "--iterations", "150"]) == 0
    payload = results(out)
    assert payload["settings"]["rounds"] == [1] and payload["settings"]["pruning_rounds"] == 1
    cells = {(r["method"], r["rewind_iteration"]) for r in payload["runs"] if r["method"] != "imp"}
    assert cells == {("dense", 0), ("dense", 20), ("ticket", 0), ("ticket", 20), ("random_pruning", 0),
                     ("random_reinit", 0)}
    assert all(r["density"] == pytest.approx(ticket.density) for r in payload["runs"] if r["method"] == "ticket")
    with np.load(out / "jobs" / "imp-seed0.npz") as saved:
        assert all(np.array_equal(saved[f"round_1_layer_{layer}"], mask) for layer, mask in enumerate(ticket.masks))


@pytest.mark.parametrize("extra, words", [(["--seeds", "3"], "not that of --seeds 3"),
                                          (["--dataset", "mnist"], "does not take mnist")])
def test_a_ticket_file_mistake_costs_one_line(ticket_run, tmp_path, capsys, extra, words):
    arguments = [*analyse(ticket_run / "ticket.npz", tmp_path / "out"), "--iterations", "150", *extra]
    if "--dataset" not in extra:
        arguments += ["--dataset", "digits"]
    status = main(arguments)
    if "mnist" in extra and status == 1:
        pytest.skip("MNIST is not on disk here")
    assert status == 2 and words in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------- report and figures

def test_the_figures_are_drawn(quick_run):
    for name in ("path_error.png", "instability_vs_k.png", "instability_vs_density.png", "successive_rounds.png"):
        with open(quick_run / name, "rb") as figure:
            assert figure.read(8) == PNG, name


def test_the_summary_has_one_row_per_cell(quick_run):
    payload = results(quick_run)
    runs = payload["runs"]
    cells = {(run["method"], run["pruning_round"], run["rewind_iteration"]) for run in runs if run["method"] != "imp"}
    rows = summarise(runs)
    in_order = sorted(cells, key=lambda cell: (grid.METHODS.index(cell[0]), cell[1], cell[2]))
    assert [(row["method"], row["pruning_round"], row["rewind_iteration"]) for row in rows] == in_order
    assert all(row["seeds"] == len(payload["settings"]["seeds"]) for row in rows)
    assert without_times(rows) == without_times(payload["cells"])


def test_the_summary_is_over_the_seeds():
    """Two seeds of each cell: the mean, spread and verdicts come from both."""
    def analysis(method, seed, k, instability, test_error, density=1.0, pruning_round=0):
        return {"method": method, "seed": seed, "pruning_round": pruning_round, "rewind_iteration": k,
                "density": density, "instability": instability, "train_instability": instability / 2,
                "test_error": test_error, "wall_time": 1.0}

    runs = [analysis("dense", 0, 0, 0.01, 0.030), analysis("dense", 1, 0, 0.05, 0.040),
            analysis("dense", 0, 20, 0.00, 0.020), analysis("dense", 1, 20, 0.02, 0.030),
            analysis("ticket", 0, 0, 0.00, 0.036, 0.5, 2), analysis("ticket", 1, 0, 0.01, 0.037, 0.5, 2),
            {"method": "imp", "seed": 0}]
    rows = {(row["method"], row["rewind_iteration"]): row for row in summarise(runs)}
    assert list(rows) == [("dense", 0), ("dense", 20), ("ticket", 0)]
    dense = rows["dense", 0]
    assert dense["seeds"] == 2 and dense["instability"] == pytest.approx(0.03)
    assert (dense["instability_min"], dense["instability_max"]) == (0.01, 0.05)
    assert dense["instability_std"] == pytest.approx(np.std([0.01, 0.05], ddof=1))
    assert dense["stable"] is False and rows["dense", 20]["stable"] is True
    assert rows["ticket", 0]["density"] == 0.5 and rows["ticket", 0]["pruning_round"] == 2
    assert rows["ticket", 0]["matching"] == matching(0.0365, 0.035) and rows["ticket", 0]["matching"] is True
    assert rows["dense", 20]["matching"] is True
