"""WinningTicket: to_model, save/load round trip, malformed files, and the controls."""
import zipfile

import numpy as np
import pytest

from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, WinningTicket, random_mask_model, random_reinit_model

SIZES = (64, 20, 10)


@pytest.fixture(scope="module")
def ticket(tiny_digits):
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.7).pruning_rounds(2).iterations(40).eval_every(20)
              .accuracy_tolerance(0.99).build())  # accept any round: the sparsest one is returned
    return pruner.find_ticket(MLP(SIZES, seed=3), tiny_digits)


def test_ticket_reports_densities_and_builds_a_model(ticket, tiny_digits):
    assert ticket.pruning_round == 2
    assert ticket.density == pytest.approx(0.3, abs=1e-3)
    assert len(ticket.layer_densities) == 2
    model = ticket.to_model()
    assert model.density == pytest.approx(ticket.density)
    assert all(np.array_equal(w, t) for w, t in zip(model.weights, ticket.weights))
    assert ticket.record is ticket.history[2]
    assert "*" in ticket.summary().splitlines()[3]


def test_save_load_round_trip(ticket, tmp_path):
    path = tmp_path / "ticket.npz"
    ticket.save(path)
    loaded = WinningTicket.load(path)
    for name in ("masks", "weights", "biases"):
        assert all(np.array_equal(a, b) for a, b in zip(getattr(ticket, name), getattr(loaded, name)))
    assert all(np.array_equal(a, b) for a, b in zip(ticket.initial.weights, loaded.initial.weights))
    assert (loaded.layer_sizes, loaded.pruning_round, loaded.rewind) == (SIZES, 2, "init")
    assert [r.to_dict() for r in loaded.history] == [r.to_dict() for r in ticket.history]
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_malformed_files_are_rejected_clearly(ticket, tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz is not a valid winning ticket"):
        WinningTicket.load(garbage)

    other = tmp_path / "other.npz"
    np.savez(other, something=np.zeros(3))
    with pytest.raises(ValueError, match="missing layer_sizes"):
        WinningTicket.load(other)

    good = tmp_path / "good.npz"
    ticket.save(good)
    with np.load(good) as archive:
        arrays = dict(archive)
    arrays["mask_0"] = arrays["mask_0"][:5]
    np.savez(tmp_path / "bad_shape.npz", **arrays)
    with pytest.raises(ValueError, match="mask_0 has shape"):
        WinningTicket.load(tmp_path / "bad_shape.npz")
    del arrays["weights_1"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match="missing weights_1"):
        WinningTicket.load(tmp_path / "missing.npz")

    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as archive:  # an object array needs pickle
        np.save(archive.open("layer_sizes.npy", "w"), np.array([object()], dtype=object), allow_pickle=True)
        archive.writestr("meta.npy", b"")
    with pytest.raises(ValueError, match="not a valid winning ticket"):
        WinningTicket.load(tmp_path / "pickled.npz")


def test_random_reinit_control_keeps_the_mask_with_new_weights(ticket):
    control = random_reinit_model(ticket, seed=99)
    assert all(np.array_equal(a, b) for a, b in zip(control.masks, ticket.masks))
    survivors = ticket.masks[0] == 1
    assert not np.array_equal(control.weights[0][survivors], ticket.weights[0][survivors])
    assert all((w[m == 0] == 0).all() for w, m in zip(control.weights, ticket.masks))


def test_random_reinit_refuses_the_tickets_own_seed(ticket):
    with pytest.raises(ValueError, match="redraws the ticket's own initialization"):
        random_reinit_model(ticket, seed=3)  # the fixture's network was built with seed 3


def test_random_mask_control_keeps_per_layer_counts_and_the_original_init(ticket):
    control = random_mask_model(ticket, seed=1)
    assert [int(m.sum()) for m in control.masks] == [int(m.sum()) for m in ticket.masks]
    assert not np.array_equal(control.masks[0], ticket.masks[0])
    for w, w0, m in zip(control.weights, ticket.initial.weights, control.masks):
        np.testing.assert_array_equal(w[m == 1], w0[m == 1])
    again = random_mask_model(ticket, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(control.masks, again.masks))


def test_round_records_tell_when_the_dense_best_was_reached(ticket):
    dense = ticket.history[0]
    best = max(dense.curve["val_accuracy"])
    assert dense.iterations_to_reach(best) == dense.curve["iterations"][dense.curve["val_accuracy"].index(best)]
    assert ticket.record.iterations_to_reach(1.01) is None


def test_records_of_identical_runs_compare_equal_whatever_their_wall_times():
    from lottery_np.pruning import RoundRecord

    row = dict(pruning_round=1, density=0.5, layer_densities=[0.5], final_val_accuracy=0.9, final_test_accuracy=0.8,
               early_stop_iteration=10, early_stop_val_accuracy=0.9, early_stop_test_accuracy=0.8)
    assert RoundRecord(**row, wall_time=1.0) == RoundRecord(**row, wall_time=2.5)
    assert RoundRecord(**row, wall_time=1.0) != RoundRecord(**{**row, "density": 0.4}, wall_time=1.0)
