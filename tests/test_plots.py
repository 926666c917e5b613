"""Tests of lottery_np.plots: every figure is a real PNG, plot_run reads a find-ticket folder, bad input is named."""
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lottery_np.model import MLP
from lottery_np.plots import (aggregate, history_points, plot_accuracy_vs_density, plot_early_stopping,
                              plot_first_layer_mask, plot_learning_curves, plot_run)
from lottery_np.pruning import LotteryTicketPruner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000, f"{path} is not a non-empty PNG"


@pytest.fixture
def results():
    """Two seeds of a pruned method at three densities, and a dense reference."""
    pruned = [{"density": d, "test_accuracy": 0.97 - 0.01 * k + 0.002 * seed, "early_stop_iteration": 1000 - 100 * k,
               "seed": seed} for k, d in enumerate((0.5, 0.2, 0.05)) for seed in (0, 1)]
    dense = [{"density": 1.0, "test_accuracy": 0.975 + 0.001 * seed, "early_stop_iteration": 1200, "seed": seed}
             for seed in (0, 1)]
    return {"ticket": pruned, "dense": dense}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_digits):
    """A find-ticket run folder, from two short pruning rounds on the 8x8 digits."""
    folder = tmp_path_factory.mktemp("run")
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.7).pruning_rounds(2).iterations(60).eval_every(20)
              .build())
    ticket = pruner.find_ticket(MLP((64, 32, 10), seed=0), tiny_digits)
    ticket.save(folder / "ticket.npz")
    meta = {"settings": {"dataset": "digits"}, "ticket_round": ticket.pruning_round, "density": ticket.density,
            "image_shape": [8, 8], "history": [r.to_dict() for r in ticket.history]}
    (folder / "history.json").write_text(json.dumps(meta))
    return folder


def test_aggregate_mean_and_sample_std_per_density(results):
    rows = aggregate(results["ticket"], "test_accuracy")
    assert [d for d, *_ in rows] == [0.5, 0.2, 0.05]
    density, mean, std, n = rows[0]
    assert n == 2 and mean == pytest.approx(0.971) and std == pytest.approx(np.std([0.97, 0.972], ddof=1))


def test_aggregate_skips_missing_values_and_names_bad_density():
    assert aggregate([{"density": 1.0, "test_accuracy": None}], "test_accuracy") == []
    with pytest.raises(ValueError, match=r"density.*\(0, 1\].*1\.5"):
        aggregate([{"density": 1.5, "test_accuracy": 0.9}], "test_accuracy")


def test_each_plot_writes_a_png_and_leaves_no_pyplot_figure(tmp_path, results):
    curve = {"iterations": [0, 10, 20], "test_accuracy": [0.1, 0.8, 0.9], "val_loss": [2.0, 0.5, 0.6]}
    mask = (np.random.default_rng(0).random((64, 30)) < 0.3).astype(np.float32)
    paths = [
        plot_accuracy_vs_density(results, tmp_path / "accuracy.png"),
        plot_early_stopping(results, tmp_path / "early.png"),
        plot_learning_curves({"dense": curve, "ticket": curve}, tmp_path / "curves.png"),
        plot_first_layer_mask(mask, (8, 8), tmp_path / "sub" / "mask.png"),
    ]
    for path in paths:
        assert_png(path)
    assert plt.get_fignums() == []


def test_plots_name_bad_input(tmp_path, results):
    with pytest.raises(ValueError, match="results"):
        plot_accuracy_vs_density({}, tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"\(784, fan_out\)"):
        plot_first_layer_mask(np.ones((64, 3)), (28, 28), tmp_path / "m.png")
    with pytest.raises(ValueError, match="val_accuracy"):
        plot_learning_curves({"dense": {"iterations": [0]}}, tmp_path / "c.png", metric="val_accuracy")


def test_history_points_read_records_and_dicts(run_dir):
    rows = json.loads((run_dir / "history.json").read_text())["history"]
    points = history_points(rows, seed=3)
    assert [p["density"] for p in points] == [r["density"] for r in rows]
    assert all(p["seed"] == 3 and p["test_accuracy"] == r["early_stop_test_accuracy"] for p, r in zip(points, rows))


def test_plot_run_draws_the_four_figures_into_the_folder(run_dir):
    paths = plot_run(run_dir)
    names = {"accuracy_vs_density.png", "early_stopping.png", "learning_curves.png", "first_layer_mask.png"}
    assert {p.name for p in paths} == names and all(p.parent == run_dir for p in paths)
    for path in paths:
        assert_png(path)


def test_plot_run_without_image_shape_skips_the_mask(run_dir, tmp_path):
    for name in ("ticket.npz", "history.json"):
        (tmp_path / name).write_bytes((run_dir / name).read_bytes())
    meta = json.loads((tmp_path / "history.json").read_text())
    (tmp_path / "history.json").write_text(json.dumps({**meta, "image_shape": None}))
    assert "first_layer_mask.png" not in {p.name for p in plot_run(tmp_path)}


def test_plot_run_rejects_a_folder_that_is_not_a_run(tmp_path, run_dir):
    with pytest.raises(FileNotFoundError, match="history.json"):
        plot_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a find-ticket run folder"):
        plot_run(tmp_path / "missing")
    (tmp_path / "ticket.npz").write_bytes((run_dir / "ticket.npz").read_bytes())
    (tmp_path / "history.json").write_text("{not json")
    with pytest.raises(ValueError, match="history.json"):
        plot_run(tmp_path)
    (tmp_path / "history.json").write_text(json.dumps({"history": [{"density": 1.0}]}))
    with pytest.raises(ValueError, match="history.json"):
        plot_run(tmp_path)
