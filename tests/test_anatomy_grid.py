"""The anatomy of a ticket on the benchmark grid: IMP by every criterion at the ticket's exact counts, the treated
tickets' invariants, supermasks, their figures and table, the same numbers whatever the workers, and resume."""
import json

import numpy as np
import pytest

from lottery_np import MLP
from lottery_np.experiment import ANATOMY, CRITERION_METHODS, SUPERMASKS, TREATED, main, treated_model
from lottery_np.experiment.anatomy_report import format_untrained
from lottery_np.experiment.runner import check_methods
from lottery_np.pruning import TREATMENTS
from lottery_np.validation import SettingError

METHODS = ["dense", "lottery_ticket", "random_mask", "imp_small_final", "imp_large_final_same_sign", "imp_random",
           "ticket_constant", "ticket_signed_constant", "ticket_pruned_frozen_init", "ticket_pruned_zero_shrunk",
           "ticket_all_zero_shrunk", "supermask_top_k",
           "supermask_bernoulli"]
ARGS = ["--quick", "--iterations", "100", "--eval-every", "50", "--methods", *METHODS]


@pytest.fixture(scope="module")
def run_two_workers(tmp_path_factory):
    out = tmp_path_factory.mktemp("anatomy")
    assert main([*ARGS, "--n-jobs", "2", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def numbers(runs):
    """Every number of the runs but wall-clock times."""
    return [{**{k: v for k, v in run.items() if k != "wall_time"},
             "records": [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]} for run in runs]


def by(runs, method, seed=0):
    return [run for run in runs if run["method"] == method and run["seed"] == seed]


def test_every_criterion_prunes_to_the_tickets_counts_and_reports_its_supermask(run_two_workers):
    _, results = run_two_workers
    runs, densities = results["runs"], results["densities"]
    ticket = by(runs, "lottery_ticket")[0]
    for method in ("lottery_ticket", "imp_small_final", "imp_large_final_same_sign", "imp_random"):
        run = by(runs, method)[0]
        assert [r["density"] for r in run["records"]] == densities
        assert [r["layer_densities"] for r in run["records"]] == [r["layer_densities"] for r in ticket["records"]]
        assert len(run["untrained_accuracy"]) == len(densities)
        assert all(0.0 <= a <= 1.0 for a in run["untrained_accuracy"])
    # round 0 keeps every weight: every criterion's untrained network is the same dense initialization
    assert len({by(runs, m)[0]["untrained_accuracy"][0] for m in ("lottery_ticket", "imp_small_final")}) == 1
    # keeping the small trained weights ends elsewhere than keeping the large ones
    assert by(runs, "imp_small_final")[0]["input_connections"] != ticket["input_connections"]


def test_treated_and_supermask_jobs_sit_at_the_tickets_rounds(run_two_workers):
    out, results = run_two_workers
    runs, densities = results["runs"], results["densities"]
    for method in ("ticket_constant", "ticket_signed_constant", "ticket_pruned_frozen_init",
                   "ticket_pruned_zero_shrunk", "ticket_all_zero_shrunk"):
        jobs = by(runs, method)
        assert sorted(run["pruning_round"] for run in jobs) == list(range(1, len(densities)))
        assert all(run["records"][0]["density"] == densities[run["pruning_round"]] for run in jobs)
    top_k = by(runs, "supermask_top_k")[0]
    assert [r["pruning_round"] for r in top_k["records"]] == list(range(1, len(densities)))
    assert all(abs(r["density"] - d) < 0.01 for r, d in zip(top_k["records"], densities[1:]))
    assert [r["pruning_round"] for r in by(runs, "supermask_bernoulli")[0]["records"]] == [1]
    for name in ("criteria_vs_density", "criteria_masks", "signs_vs_density", "supermask_vs_density"):
        assert (out / f"{name}.png").stat().st_size > 1000, name


def test_the_untrained_table_has_a_row_per_criterion_run(run_two_workers):
    _, results = run_two_workers
    lines = format_untrained(results["runs"]).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["large_final", "small_final", "random", "large_final_same_sign"]
    assert all(line.count("±") == len(results["densities"]) - 1 for line in lines[1:])


def test_the_numbers_do_not_depend_on_the_workers(run_two_workers, tmp_path):
    _, two = run_two_workers
    assert main([*ARGS, "--n-jobs", "1", "--out", str(tmp_path)]) == 0
    one = json.loads((tmp_path / "results.json").read_text())
    assert numbers(one["runs"]) == numbers(two["runs"])
    (tmp_path / "jobs" / "imp_random-seed1.json").unlink()
    assert main([*ARGS, "--n-jobs", "1", "--out", str(tmp_path), "--resume"]) == 0
    assert numbers(json.loads((tmp_path / "results.json").read_text())["runs"]) == numbers(two["runs"])


@pytest.mark.parametrize("treatment", [t for t in TREATMENTS if t != "rewind"])
def test_a_treated_ticket_keeps_the_mask_and_what_its_treatment_promises(treatment):
    rng = np.random.default_rng(4)
    masks = [(rng.random((12, 8)) < 0.4).astype(np.float32), (rng.random((8, 3)) < 0.6).astype(np.float32)]
    original = MLP((12, 8, 3), seed=2).weights
    net = treated_model((12, 8, 3), 2, masks, treatment, pruning_round=3)
    for w, w0, m in zip(net.weights, original, masks):
        assert (w[m == 1] != 0).all()
        assert (w[m == 0] == 0).all()
        if treatment.startswith("signed"):
            assert (np.sign(w[m == 1]) == np.sign(w0[m == 1])).all()
        if treatment.endswith("reshuffle"):
            assert np.array_equal(np.sort(np.abs(w[m == 1])), np.sort(np.abs(w0[m == 1])))
    again = treated_model((12, 8, 3), 2, masks, treatment, pruning_round=3)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, again.weights))


def test_the_anatomys_methods_are_named_and_treated_ones_need_the_ticket():
    assert set(CRITERION_METHODS + TREATED + SUPERMASKS) == set(ANATOMY)
    assert "imp_large_final" not in ANATOMY and "ticket_rewind" not in ANATOMY  # they are lottery_ticket
    with pytest.raises(SettingError, match="lottery_ticket"):
        check_methods(["dense", "ticket_signed_reinit"])
    assert check_methods(["supermask_top_k", "imp_movement"]) == ("imp_movement", "supermask_top_k")


def test_frozen_pruned_weights_keep_their_initial_values_and_the_kept_ones_take_the_full_networks_step():
    from lottery_np.data import load_digits
    from lottery_np.training import TrainingConfig, train
    data, config = load_digits(), TrainingConfig(iterations=1, eval_every=1, optimizer="sgd", momentum=0.0,
                                                 learning_rate=0.5)
    rng = np.random.default_rng(1)
    masks = [(rng.random((64, 20)) < 0.3).astype(np.float32), (rng.random((20, 10)) < 0.5).astype(np.float32)]
    frozen, free = MLP((64, 20, 10), seed=1), MLP((64, 20, 10), seed=1)
    initial = [w.copy() for w in frozen.weights]
    train(frozen, data, config, seed=0, trainable=masks)
    train(free, data, config, seed=0)  # every weight steps, on the same network and batch: the same gradient
    for w, w_free, w0, m in zip(frozen.weights, free.weights, initial, masks):
        assert np.array_equal(w[m == 0], w0[m == 0]) and (w0[m == 0] != 0).all()  # frozen, and not at zero
        assert np.array_equal(w[m == 1], w_free[m == 1])
        assert (w[m == 1] != w0[m == 1]).any()
    pruned = MLP((64, 20, 10), seed=1)
    pruned.set_masks([masks[0], np.ones((20, 10), dtype=np.float32)])
    with pytest.raises(ValueError, match=r"trainable\[0\] keeps weights the model's mask prunes"):
        train(pruned, data, config, trainable=[np.ones((64, 20), dtype=np.float32), masks[1]])


def test_the_anatomy_tables_are_written_in_markdown(run_two_workers):
    out, results = run_two_workers
    text = (out / "anatomy.md").read_text()
    pruned = len(results["densities"]) - 1
    for heading, rows in (("IMP by each mask criterion", ["lottery_ticket", "imp_small_final", "random_mask"]),
                          ("The ticket's mask, its kept weights", ["ticket_constant", "ticket_pruned_frozen_init"]),
                          ("Supermasks: each criterion's mask", ["large_final", "large_final_same_sign"]),
                          ("Learned top-k supermasks", ["supermask_top_k"]),
                          ("Learned Bernoulli supermasks", ["supermask_bernoulli"])):
        section = text.split(heading, 1)[1].split("###", 1)[0]
        for row in rows:
            line = next(line for line in section.splitlines() if line.startswith(f"| `{row}` |"))
            assert line.count("±") >= (2 if row == "supermask_bernoulli" else pruned), line


def test_the_mnist_anatomy_script_asks_for_every_method_of_the_anatomy():
    import importlib.util
    from pathlib import Path
    from lottery_np.experiment import build_parser
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "anatomy_lenet.py"
    spec = importlib.util.spec_from_file_location("anatomy_lenet", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = build_parser().parse_args(script.OPTIONS)
    assert set(ANATOMY) <= set(args.methods) and "lottery_ticket" in args.methods
    assert check_methods(args.methods)  # a grid the benchmark accepts


def test_a_grid_without_the_dense_network_still_reports(tmp_path, capsys):
    assert main(["--quick", "--iterations", "40", "--eval-every", "20", "--methods", "supermask_top_k",
                 "--out", str(tmp_path)]) == 0
    assert "supermask_top_k" in capsys.readouterr().out and (tmp_path / "anatomy.md").exists()
