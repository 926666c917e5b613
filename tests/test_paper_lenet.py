"""The paper grid (``benchmarks/paper_lenet.py``): its control rounds, a quick run end to end, and a killed run resumed.

The kill test starts the quick grid in a subprocess, SIGKILLs it as soon as its first
job is saved, resumes it, and compares every number of ``results.json`` (wall times
aside) with an uninterrupted run's (the pattern of ``test_benchmark_resume.py``).
"""
import json
import math
import sys
from pathlib import Path

import pytest

from lottery_np.experiment.paper import PAPER, PAPER_PM, PaperSettings, main

from killing import kill_after_first_job

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_lenet.py"
QUICK = ["--quick", "--n-jobs", "1"]
FIGURES = ("early_stopping_vs_pm.png", "accuracy_vs_pm.png", "learning_curves.png", "iterative_vs_one_shot.png")


def without_times(runs: list[dict]) -> list[dict]:
    """The runs with every wall-clock time removed (the only numbers allowed to differ)."""
    return [{**{k: v for k, v in run.items() if k != "wall_time"},
             "records": [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]} for run in runs]


def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted quick run, in this process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main([*QUICK, "--out", str(out)]) == 0
    return out


def test_the_full_presets_controls_sit_at_the_papers_pm_and_the_last_round():
    settings = PaperSettings.for_data(784, 10, **PAPER)
    pm = [100 * d for d in settings.densities()]
    assert len(pm) == 25 and pm[-1] == pytest.approx(0.50, abs=0.01)
    nearest = {min(range(1, 25), key=lambda r: abs(pm[r] - target)) for target in PAPER_PM}
    assert settings.control_rounds() == sorted(nearest | {24}) == [3, 7, 12, 15, 18, 24]
    for r, target in zip([3, 7, 12, 15, 18], PAPER_PM):
        assert math.isclose(pm[r], target, abs_tol=0.06), (r, pm[r], target)


def test_the_quick_run_writes_every_record_and_figure(reference):
    payload = results(reference)
    settings = payload["settings"]
    rounds = payload["control_rounds"]
    assert rounds[-1] == settings["rounds"] == 4
    runs = {(run["method"], run["seed"], run.get("pruning_round")): run for run in payload["runs"]}
    seeds = settings["seeds"]
    assert len(runs) == len(seeds) * (2 + 2 * len(rounds))
    for seed in seeds:
        ticket, one_shot = runs["lottery_ticket", seed, None], runs["one_shot", seed, None]
        assert [r["pruning_round"] for r in ticket["records"]] == list(range(5))
        assert [r["pruning_round"] for r in one_shot["records"]] == [0, *rounds]
        assert {k: v for k, v in one_shot["records"][0].items() if k != "wall_time"} == \
            {k: v for k, v in ticket["records"][0].items() if k != "wall_time"}, "the dense networks differ"
        for record in one_shot["records"][1:]:  # one-shot hits the IMP round's per-layer counts exactly
            assert record["layer_densities"] == ticket["records"][record["pruning_round"]]["layer_densities"]
            for method in ("random_reinit", "random_mask"):
                control = runs[method, seed, record["pruning_round"]]["records"][0]
                assert control["layer_densities"] == record["layer_densities"]
    for name in FIGURES:
        assert (reference / name).stat().st_size > 0, name
    claims = (reference / "claims.md").read_text()
    assert claims.startswith("| claim | paper | ours") and claims.count("\n") == 2 + 7


def test_a_killed_run_resumes_to_the_uninterrupted_results(reference, tmp_path, capsys):
    out = tmp_path / "out"
    with open(tmp_path / "stderr", "w") as stderr:  # a file, not a pipe: a full pipe would stall the child
        kill_after_first_job([sys.executable, str(SCRIPT), *QUICK, "--out", str(out)], out, stderr)
    if (out / "results.json").exists():
        pytest.skip("the run finished before it was killed, so resuming was not exercised")
    saved = {path.name: json.loads(path.read_text())["result"] for path in (out / "jobs").glob("*.json")}
    assert main([*QUICK, "--out", str(out), "--resume"]) == 0
    expected = results(reference)
    assert f"resumed {len(saved)} of {len(expected['runs'])} jobs" in capsys.readouterr().out
    resumed = results(out)
    assert resumed["settings"] == expected["settings"]
    assert without_times(resumed["runs"]) == without_times(expected["runs"])
    first = {(run["method"], run["seed"], run.get("pruning_round")): run for run in saved.values()}
    for run in resumed["runs"]:
        key = run["method"], run["seed"], run.get("pruning_round")
        if key in first:
            assert run == first[key], f"{key} was trained again instead of loaded"


def test_figures_tick_the_control_rounds_zoom_on_the_top_points_and_mark_early_stopping(reference):
    from matplotlib.figure import Figure

    from lottery_np.experiment import paper_plots

    runs = results(reference)["runs"]
    points = paper_plots.method_points(runs)
    control_pm = {round(100 * p["density"], 6) for p in points["random_reinit"]}
    all_pm = {round(100 * p["density"], 6) for p in points["lottery_ticket"]}
    assert control_pm < all_pm  # the ticket has rounds the controls lack: those go unticked
    fig = Figure()
    full, zoomed = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    paper_plots.plot_with_ranges(full, points, "test_accuracy")
    paper_plots.plot_with_ranges(zoomed, points, "test_accuracy", zoom=True)
    ticks = {round(t, 6) for t in full.xaxis.get_major_locator().tick_values(0, 1)}
    assert ticks == control_pm | {max(all_pm), min(all_pm)}
    top = max(100 * p["test_accuracy"] for method in points.values() for p in method)
    low, high = zoomed.get_ylim()
    assert low == pytest.approx(max(full.get_ylim()[0], top - paper_plots.ZOOM_POINTS)) and high > top
    collapsed = [{"pruning_round": r, "density": 0.5 ** r, "seed": 0, "early_stop_iteration": 10,
                  "test_accuracy": acc} for r, acc in enumerate([0.98, 0.981, 0.5])]  # a ticket that collapses
    ax = fig.add_subplot(1, 3, 3)
    paper_plots.plot_with_ranges(ax, {"lottery_ticket": collapsed}, "test_accuracy", zoom=True)
    assert ax.get_ylim()[0] == pytest.approx(98.1 - paper_plots.ZOOM_POINTS)

    curves = paper_plots.mean_curves(runs, [0, 2])
    assert len(curves) == 2
    for curve in curves.values():  # the seeds' mean validation loss, which places the early-stopping dot
        assert len(curve["val_loss"]) == len(curve["iterations"]) == len(curve["test_accuracy"])
    tickets = [run for run in runs if run["method"] == "lottery_ticket"]
    first = next(iter(curves.values()))
    expected = sum(sum(t["records"][0]["curve"]["val_loss"][:1]) for t in tickets) / len(tickets)
    assert first["val_loss"][0] == pytest.approx(expected)
