"""Compaction: a hand-worked bias fold, predictions equal to the sparse network's, the plain npz, torch export."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lottery_np.export.compaction as compaction
from lottery_np.export import compact, to_torch
from lottery_np.model import MLP, Parameters
from lottery_np.pruning import LotteryTicketPruner
from lottery_np.training import TrainingConfig, train

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_compact.py"


def network(sizes, masks, weights, biases) -> MLP:
    model = MLP(sizes)
    model.set_masks([np.array(m, dtype=np.float32) for m in masks])
    model.set_parameters(Parameters([np.array(w, dtype=np.float32) for w in weights],
                                    [np.array(b, dtype=np.float32) for b in biases]))
    return model


def hand_worked() -> MLP:
    """2-3-2: hidden unit 1 has no input (bias 0.5, out [2, -1]); hidden unit 2 no output, so input 1 dies too."""
    return network((2, 3, 2),
                   masks=[[[1, 0, 1], [0, 0, 1]], [[1, 1], [1, 1], [0, 0]]],
                   weights=[[[1.5, 9, -2], [9, 9, 3]], [[1, -3], [2, -1], [9, 9]]],
                   biases=[[0.25, 0.5, 7], [0.125, 0.25]])


def test_hand_worked_fold_and_removals():
    small = compact(hand_worked())
    # b_1 += relu(0.5) * [2, -1] = [0.125 + 1.0, 0.25 - 0.5]
    np.testing.assert_array_equal(small.biases[1], np.array([1.125, -0.25], dtype=np.float32))
    np.testing.assert_array_equal(small.weights[1], np.array([[1, -3]], dtype=np.float32))
    np.testing.assert_array_equal(small.weights[0], np.array([[1.5]], dtype=np.float32))
    np.testing.assert_array_equal(small.biases[0], np.array([0.25], dtype=np.float32))
    np.testing.assert_array_equal(small.input_features, [0])
    np.testing.assert_array_equal(small.kept_units[0], [0])
    assert small.compact_sizes == (1, 1, 2) and small.layer_sizes == (2, 3, 2)


def test_a_negative_constant_folds_to_nothing_and_deaths_cascade():
    # hidden-1 unit 0 has no input (bias -1: relu = 0); hidden-2 unit 0 fed only by it becomes constant in turn,
    # relu(0.5 + 0) = 0.5, folded into the outputs through [4, 8]
    model = network((2, 2, 2, 2),
                    masks=[[[0, 1], [0, 1]], [[1, 0], [0, 1]], [[1, 1], [1, 1]]],
                    weights=[[[0, 1], [0, 2]], [[3, 0], [0, 5]], [[4, 8], [1, 1]]],
                    biases=[[-1, 0.5], [0.5, 0], [0.25, -0.25]])
    small = compact(model)
    assert small.compact_sizes == (2, 1, 1, 2)
    np.testing.assert_array_equal(small.kept_units[0], [1])
    np.testing.assert_array_equal(small.kept_units[1], [1])
    np.testing.assert_array_equal(small.biases[2], np.array([0.25 + 2.0, -0.25 + 4.0], dtype=np.float32))
    X = np.random.default_rng(0).normal(size=(50, 2))
    np.testing.assert_allclose(small.logits(X), model.forward(X.astype(np.float32).T)[-1].T, rtol=1e-6, atol=1e-6)


def assert_same_predictions(model: MLP, X: np.ndarray) -> None:
    small = compact(model)
    np.testing.assert_array_equal(small.predict(X), model.predict(X))
    np.testing.assert_allclose(small.predict_proba(X), model.predict_proba(X), rtol=1e-5, atol=1e-6)


@given(seed=st.integers(0, 2**16), density=st.sampled_from([0.02, 0.05, 0.2, 0.6, 1.0]))
def test_predictions_equal_the_sparse_network(seed, density):
    rng = np.random.default_rng(seed)
    model = MLP((12, 9, 7, 4), seed=seed)
    model.set_masks([(rng.random(w.shape) < density).astype(np.float32) for w in model.weights])
    model.set_parameters(Parameters(model.weights, [rng.normal(size=b.shape) for b in model.biases]))
    assert_same_predictions(model, rng.normal(size=(64, 12)))


@pytest.fixture(scope="module")
def trained_ticket_model(tiny_digits):
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.95).pruning_rounds(3).iterations(60).eval_every(30)
              .seed(0).build())
    pruner.find_ticket(MLP((64, 40, 20, 10), seed=0), tiny_digits)
    ticket = pruner.tickets_[-1]
    model = ticket.to_model()
    train(model, tiny_digits, TrainingConfig(iterations=60, eval_every=30), seed=0)
    return ticket, model


def test_a_trained_ticket_compacts_to_the_same_predictions(trained_ticket_model, tiny_digits):
    ticket, model = trained_ticket_model
    small = compact(model)
    assert sum(small.compact_sizes) < sum(model.layer_sizes)
    assert_same_predictions(model, tiny_digits.X_test)
    assert_same_predictions(ticket.to_model(), tiny_digits.X_test)
    from_ticket, from_model = compact(ticket), compact(ticket.to_model())
    assert from_ticket.compact_sizes == from_model.compact_sizes
    for a, b in zip(from_ticket.weights + from_ticket.biases, from_model.weights + from_model.biases):
        np.testing.assert_array_equal(a, b)


def test_the_npz_is_read_by_plain_numpy(trained_ticket_model, tiny_digits, tmp_path):
    _, model = trained_ticket_model
    path = compact(model).save_npz(tmp_path / "compact.npz")
    with np.load(path, allow_pickle=False) as f:  # the docstring's recipe, no lottery_np
        A = tiny_digits.X_test[:, f["input_features"]].astype(np.float32)
        n_layers = len(f["layer_sizes"]) - 1
        for l in range(n_layers):
            A = A @ f[f"weights_{l}"] + f[f"biases_{l}"]
            if l < n_layers - 1:
                A = np.maximum(A, 0)
        assert sorted(f.files) == sorted(["layer_sizes", "input_features",
                                          *(f"{k}_{l}" for k in ("weights", "biases") for l in range(n_layers)),
                                          *(f"kept_units_{l}" for l in range(n_layers - 1))])
    np.testing.assert_array_equal(A.argmax(axis=1), model.predict(tiny_digits.X_test))


def test_full_width_input_is_required():
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\)"):
        compact(hand_worked()).predict(np.zeros((3, 1)))
    with pytest.raises(TypeError, match="model must be an MLP or a WinningTicket, got str"):
        compact("not a model")


def test_to_torch_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setattr(compaction.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install lottery_np\[torch\]"):
        compact(hand_worked()).to_torch()
    with pytest.raises(ImportError, match=r"pip install lottery_np\[torch\]"):
        to_torch(hand_worked())


def test_torch_exports_predict_alike(trained_ticket_model, tiny_digits):
    torch = pytest.importorskip("torch")
    ticket, model = trained_ticket_model
    X = tiny_digits.X_test
    small = compact(model)
    with torch.no_grad():
        sparse_logits = to_torch(model)(torch.from_numpy(X)).numpy()
        compact_logits = small.to_torch()(torch.from_numpy(X[:, small.input_features])).numpy()
        ticket_logits = to_torch(ticket)(torch.from_numpy(X)).numpy()
    np.testing.assert_array_equal(sparse_logits.argmax(axis=1), model.predict(X))
    np.testing.assert_array_equal(compact_logits.argmax(axis=1), model.predict(X))
    np.testing.assert_array_equal(ticket_logits.argmax(axis=1), ticket.to_model().predict(X))
    first = to_torch(model)[0]
    assert torch.equal(first.weight_mask, torch.from_numpy(model.masks[0].T))


def test_bench_compact_quick_runs():
    completed = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "kept/removed: inputs, hidden 1, hidden 2, outputs" in lines[1]
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 2 * 2  # two rounds' tickets, batches 1 and 1000
    assert [row[3] for row in rows] == ["1", "1000"] * 2 and all(row[2] == "True" for row in rows)
    assert all(row[1].endswith(",10/0") for row in rows)  # every class is kept
    densities = [float(row[0]) for row in rows]
    assert densities[0] > densities[2]  # densest first
