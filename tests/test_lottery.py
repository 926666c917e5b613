"""LotteryTicketPruner end to end on the digits: schedule, rewinding, selection, resume, bad input."""
import numpy as np
import pytest

import lottery_np.pruning.loop as loop
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner, RewindStrategy, RoundRecord, layerwise_schedule
from lottery_np.training import TrainingConfig, train

SIZES = (64, 24, 12, 10)


def make_pruner(rounds=3, rewind=RewindStrategy.Init, seed=0, **settings):
    builder = (LotteryTicketPruner.builder().target_sparsity(0.8).pruning_rounds(rounds).rewind_strategy(rewind)
               .iterations(60).eval_every(20).seed(seed))
    for name, value in settings.items():
        getattr(builder, name)(value)
    return builder.build()


@pytest.fixture(scope="module")
def init_run(tiny_digits):
    model = MLP(SIZES, seed=0)
    before = model.get_parameters()
    pruner = make_pruner()
    ticket = pruner.find_ticket(model, tiny_digits)
    return model, before, pruner, ticket


def test_the_api_as_documented_returns_a_ticket(init_run):
    _, _, pruner, ticket = init_run
    assert len(ticket.history) == 4 and [r.pruning_round for r in ticket.history] == [0, 1, 2, 3]
    assert ticket.history[0].density == 1.0
    assert ticket.pruning_round == pruner.select_round(ticket.history)
    assert pruner.tickets_[ticket.pruning_round] is ticket


def test_caller_model_is_untouched(init_run):
    model, before, _, _ = init_run
    assert model.density == 1.0
    assert all(np.array_equal(w, b) for w, b in zip(model.weights, before.weights))


def test_each_round_hits_its_scheduled_count_and_masks_only_shrink(init_run):
    model, _, pruner, _ = init_run
    sizes = [total for _, total in model.weight_counts()]
    schedule = layerwise_schedule(sizes, [1, 1, 0.5], 0.8, 3)
    previous = None
    for r, candidate in enumerate(pruner.tickets_):
        assert [int(m.sum()) for m in candidate.masks] == schedule[r].tolist()
        if previous is not None:
            assert all((new <= old).all() for new, old in zip(candidate.masks, previous))
        previous = candidate.masks
    assert pruner.tickets_[-1].density == pytest.approx(0.2, abs=1 / sum(sizes))


def test_init_rewinding_restores_the_initial_weights_exactly(init_run):
    _, before, pruner, _ = init_run
    for candidate in pruner.tickets_:
        for w, w0, m in zip(candidate.weights, before.weights, candidate.masks):
            np.testing.assert_array_equal(w[m == 1], w0[m == 1])
            assert (w[m == 0] == 0).all()


def test_pruned_weights_stay_zero_through_training(init_run, tiny_digits):
    _, _, pruner, _ = init_run
    candidate = pruner.tickets_[-1]
    model = candidate.to_model()
    train(model, tiny_digits, TrainingConfig(iterations=50), seed=0)
    assert all((w[m == 0] == 0).all() for w, m in zip(model.weights, candidate.masks))


def test_late_rewinding_restarts_from_the_dense_run_at_iteration_k(tiny_digits):
    k = 10
    pruner = make_pruner(rounds=2, rewind=RewindStrategy.Iteration(k))
    ticket = pruner.find_ticket(MLP(SIZES, seed=0), tiny_digits)
    replay = MLP(SIZES, seed=0)
    train(replay, tiny_digits, TrainingConfig(iterations=k, eval_every=20), seed=0)
    for w, w_k, m in zip(pruner.tickets_[1].weights, replay.weights, pruner.tickets_[1].masks):
        np.testing.assert_array_equal(w[m == 1], w_k[m == 1])
    assert ticket.history[1].curve["iterations"][0] == k  # the pruned round resumes at iteration k


def test_learning_rate_rewinding_keeps_the_trained_weights(tiny_digits):
    pruner = make_pruner(rounds=2, rewind=RewindStrategy.LearningRate)
    pruner.find_ticket(MLP(SIZES, seed=0), tiny_digits)
    dense_trained = MLP(SIZES, seed=0)
    train(dense_trained, tiny_digits, TrainingConfig(iterations=60, eval_every=20), seed=0)
    first = pruner.tickets_[1]
    for w, w_trained, m in zip(first.weights, dense_trained.weights, first.masks):
        np.testing.assert_array_equal(w[m == 1], w_trained[m == 1])


def test_same_seed_same_masks_and_numbers(init_run, tiny_digits):
    _, _, _, ticket = init_run
    again = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits)
    assert all(np.array_equal(a, b) for a, b in zip(ticket.masks, again.masks))
    assert [r.early_stop_test_accuracy for r in ticket.history] == [r.early_stop_test_accuracy for r in again.history]


def test_global_scope_prunes_across_layers(tiny_digits):
    pruner = make_pruner(rounds=1, scope="global")
    pruner.find_ticket(MLP(SIZES, seed=0), tiny_digits)
    last = pruner.tickets_[-1]
    n = sum(m.size for m in last.masks)
    assert sum(int(m.sum()) for m in last.masks) == round(n * 0.2)
    assert len(set(np.round(last.layer_densities, 3))) > 1  # layers end at different densities


def record(r, density, val):
    return RoundRecord(r, density, [density], val, val, 10, val, val, 0.0)


def test_selection_takes_the_sparsest_round_within_tolerance():
    pruner = make_pruner()
    history = [record(0, 1.0, 0.95), record(1, 0.5, 0.96), record(2, 0.25, 0.942), record(3, 0.12, 0.90)]
    assert pruner.select_round(history) == 2
    assert make_pruner(accuracy_tolerance=0.0).select_round(history) == 1
    assert make_pruner(accuracy_tolerance=0.2).select_round(history) == 3


def test_interrupted_run_resumes_to_the_identical_ticket(tiny_digits, tmp_path, monkeypatch):
    uninterrupted = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits)
    real_save, saves = loop.save_checkpoint, []

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        saves.append(1)
        if len(saves) == 2:
            raise KeyboardInterrupt

    path = tmp_path / "checkpoint.npz"
    monkeypatch.setattr(loop, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    resumed = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(uninterrupted.masks, resumed.masks))
    assert all(np.array_equal(a, b) for a, b in zip(uninterrupted.weights, resumed.weights))
    strip = lambda h: [{k: v for k, v in r.to_dict().items() if k != "wall_time"} for r in h]
    assert strip(uninterrupted.history) == strip(resumed.history)


def test_resume_with_other_settings_is_refused(tiny_digits, tmp_path):
    path = tmp_path / "checkpoint.npz"
    make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)
    with pytest.raises(ValueError, match="other settings"):
        make_pruner(rounds=1, seed=5).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)


def test_pair_input_holds_out_the_last_samples_for_validation(tiny_digits):
    pruner = make_pruner(rounds=1)
    ticket = pruner.find_ticket(MLP(SIZES, seed=0), (tiny_digits.X_train, tiny_digits.y_train))
    assert np.isnan(ticket.history[0].final_test_accuracy)  # no test set given
    X_val, y_val = tiny_digits.X_train[-120:], tiny_digits.y_train[-120:]
    dense_round = pruner.tickets_[0].to_model()
    assert dense_round.accuracy(X_val, y_val) == pytest.approx(ticket.history[0].curve["val_accuracy"][0])


@pytest.mark.parametrize(
    "configure, message",
    [
        (lambda b: b.target_sparsity(1.0), r"target_sparsity must be a finite number in \[0, 1\), got 1.0"),
        (lambda b: b.target_sparsity(-0.1), "target_sparsity"),
        (lambda b: b.target_sparsity("0.9"), "target_sparsity"),
        (lambda b: b.pruning_rounds(0), "pruning_rounds must be an integer >= 1, got 0"),
        (lambda b: b.pruning_rounds(2.5), "pruning_rounds"),
        (lambda b: b.scope("per-neuron"), "scope must be one of"),
        (lambda b: b.output_rate_factor(1.5), "output_rate_factor"),
        (lambda b: b.seed(None), "seed must be given a value, got None"),
        (lambda b: b.target_sparsity(None), "target_sparsity must be given a value, got None"),
        (lambda b: b.iterations(0), "iterations must be an integer >= 1"),
        (lambda b: b.epochs(-2), "epochs must be a finite number > 0"),
        (lambda b: b.batch_size(0), "batch_size"),
        (lambda b: b.optimizer("adagrad"), "optimizer must be one of"),
        (lambda b: b.learning_rate(0), "learning_rate"),
        (lambda b: b.eval_every(0), "eval_every"),
        (lambda b: b.iterations(100).rewind_strategy(RewindStrategy.Iteration(100)), r"rewind_iteration must be an integer in \[0, 99\], got 100"),
        (lambda b: b.rewind_strategy("init"), "rewind_strategy must be a RewindStrategy"),
        (lambda b: b.accuracy_tolerance(2), "accuracy_tolerance"),
        (lambda b: b.validation_data(np.zeros((3, 4)), np.zeros(2)), "validation_data"),
    ],
)
def test_builder_rejects_bad_settings(configure, message):
    with pytest.raises(ValueError, match=message):
        configure(LotteryTicketPruner.builder()).build()


def test_find_ticket_rejects_bad_input(tiny_digits):
    pruner = make_pruner(rounds=1)
    with pytest.raises(TypeError, match="model must be an MLP"):
        pruner.find_ticket("lenet", tiny_digits)
    with pytest.raises(ValueError, match=r"training set: X must have shape \(n_samples, 784\)"):
        pruner.find_ticket(MLP((784, 10)), tiny_digits)
    with pytest.raises(ValueError, match=r"training set: y must hold class labels in \[0, 3\)"):
        pruner.find_ticket(MLP((64, 3)), tiny_digits)
    with pytest.raises(ValueError, match=r"data must be a pair \(X, y\) with one label in y per row"):
        pruner.find_ticket(MLP(SIZES), (tiny_digits.X_train, tiny_digits.y_train[:5]))
    with pytest.raises(TypeError, match="data must be"):
        pruner.find_ticket(MLP(SIZES), "digits")
    late = make_pruner(rounds=1, rewind=RewindStrategy.Iteration(500), epochs=1)
    with pytest.raises(ValueError, match=r"rewind_iteration must be an integer in \[0, 19\], got 500"):
        late.find_ticket(MLP(SIZES), tiny_digits)


def test_resume_with_other_data_or_init_is_refused(tiny_digits, tmp_path):
    from types import SimpleNamespace

    path = tmp_path / "checkpoint.npz"
    make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)
    reversed_data = SimpleNamespace(**{**vars(tiny_digits), "X_train": tiny_digits.X_train[::-1]})
    with pytest.raises(ValueError, match="other settings"):
        make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=0), reversed_data, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="other settings"):
        make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=1), tiny_digits, checkpoint=path, resume=True)


def test_a_run_never_overwrites_another_runs_checkpoint(tiny_digits, tmp_path):
    path = tmp_path / "checkpoint.npz"
    first = make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)
    written = path.read_bytes()
    with pytest.raises(ValueError, match="other settings") as caught:
        make_pruner(rounds=2).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)
    assert "pruning_rounds" in str(caught.value)
    assert path.read_bytes() == written
    again = make_pruner(rounds=1).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)  # same settings
    np.testing.assert_array_equal(again.masks[0], first.masks[0])
    make_pruner(rounds=2).find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, overwrite=True)
    assert path.read_bytes() != written


@pytest.mark.parametrize("split, row, column", [("X_train", 5, 2), ("X_val", 3, 17), ("X_test", 0, 63)])
def test_non_finite_data_is_refused_before_training_naming_the_split_and_position(tiny_digits, tmp_path, split,
                                                                                 row, column):
    from types import SimpleNamespace

    X = getattr(tiny_digits, split).copy()
    X[row, column] = np.nan if split != "X_test" else np.inf
    data = SimpleNamespace(**{**vars(tiny_digits), split: X})
    with pytest.raises(ValueError, match=rf"{split} holds (nan|inf) at row {row}, column {column}"):
        make_pruner(rounds=1).find_ticket(MLP(SIZES), data, checkpoint=tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
