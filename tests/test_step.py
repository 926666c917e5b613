"""Training steps: the packed sparse step takes the same updates as the plain one, on the masks it was made for."""
import numpy as np
import pytest

from lottery_np.engine.kernels import dispatch
from lottery_np.model import MLP
from lottery_np.optim import SGD, Adam
from lottery_np.engine.step import LayerwiseStep, PackedSparseStep, training_step
from lottery_np.training import TrainingConfig, TrainingDivergedError, train


def sparse_model(density=0.1, seed=0, sizes=(64, 32, 16, 10)):
    model = MLP(sizes, seed=seed)
    rng = np.random.default_rng(seed + 1)
    model.set_masks([(rng.random(w.shape) < density).astype(np.float32) for w in model.weights])
    return model


@pytest.mark.parametrize("make_optimizer", [lambda: Adam(1e-2), lambda: SGD(0.1, momentum=0.9)], ids=["adam", "sgd"])
def test_packed_step_follows_the_plain_step(tiny_digits, make_optimizer):
    packed_model, plain_model = sparse_model(), sparse_model()
    packed = PackedSparseStep(packed_model, make_optimizer())
    plain = LayerwiseStep(plain_model, make_optimizer(), "dense")
    rng = np.random.default_rng(0)
    for size in [60] * 40 + [17]:  # a last, smaller batch gets its own buffers
        batch = rng.choice(len(tiny_digits.X_train), size, replace=False)
        X, y = tiny_digits.X_train[batch], tiny_digits.y_train[batch]
        assert packed(X, y) == pytest.approx(plain(X, y), rel=1e-4)
    packed.sync()
    for a, b in zip(packed_model.weights + packed_model.biases, plain_model.weights + plain_model.biases):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_sync_writes_the_packed_weights_back_and_pruned_stay_zero(tiny_digits):
    model = sparse_model()
    before = model.get_parameters()
    step = PackedSparseStep(model, Adam(1e-2))
    for _ in range(5):
        step(tiny_digits.X_train[:60], tiny_digits.y_train[:60])
    assert all(np.array_equal(w, w0) for w, w0 in zip(model.weights, before.weights))  # packed until synced
    assert not np.array_equal(model.biases[0], before.biases[0])  # biases are updated in place
    step.sync()
    for w, w0, mask in zip(model.weights, before.weights, model.masks):
        assert np.all(w[mask == 0] == 0.0) and not np.signbit(w[mask == 0]).any()
        assert (w[mask == 1] != w0[mask == 1]).mean() > 0.5


@pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:overflow encountered")
def test_a_non_finite_loss_updates_nothing(tiny_digits):
    model = sparse_model()
    model.biases[-1][:] = np.inf
    step = PackedSparseStep(model, Adam(1e-2))
    before = model.get_parameters()
    assert not np.isfinite(step(tiny_digits.X_train[:60], tiny_digits.y_train[:60]))
    step.sync()
    for a, b in zip(model.weights + model.biases, before.weights + before.biases):
        np.testing.assert_array_equal(a, b)


def test_training_step_picks_the_packed_step_only_for_sparse_models_unless_forced():
    assert isinstance(training_step(sparse_model(), Adam()), PackedSparseStep)
    assert training_step(sparse_model(), Adam(), path="dense").path == "dense"
    assert type(training_step(sparse_model(), Adam(), path="sparse")) is LayerwiseStep  # the kernels' sparse path
    assert type(training_step(sparse_model(), Adam(), packed=False)) is LayerwiseStep
    dense = MLP((64, 32, 10))
    assert type(training_step(dense, Adam())) is LayerwiseStep and training_step(dense, Adam()).path is None
    assert isinstance(training_step(dense, Adam(), packed=True), PackedSparseStep)
    with pytest.raises(ValueError, match="float32"):
        training_step(MLP((64, 32, 10), dtype=np.float64), Adam(), packed=True)
    with pytest.raises(ValueError, match="path"):
        training_step(dense, Adam(), path="fused")
    with pytest.raises(ValueError, match="give no path, got path='dense'"):
        training_step(dense, Adam(), "dense", packed=True)


@pytest.mark.parametrize("form", [{"path": "dense"}, {"path": "sparse"}, {"packed": True}], ids=str)
def test_a_step_refuses_changed_masks_and_a_used_optimizer(tiny_digits, form):
    model, optimizer = sparse_model(), Adam()
    step = training_step(model, optimizer, **form)
    step(tiny_digits.X_train[:60], tiny_digits.y_train[:60])
    with pytest.raises(ValueError, match="optimizer has taken 1 steps"):
        training_step(model, optimizer, **form)
    model.set_masks(model.masks)  # the same masks, installed anew: a new pruning round
    with pytest.raises(ValueError, match="masks changed"):
        step(tiny_digits.X_train[:60], tiny_digits.y_train[:60])
    optimizer.reset()
    training_step(model, optimizer, **form)(tiny_digits.X_train[:60], tiny_digits.y_train[:60])


def test_bad_labels_are_refused_before_the_kernel_sees_them(tiny_digits):
    step = PackedSparseStep(sparse_model(), Adam())
    with pytest.raises(ValueError, match="labels"):
        step(tiny_digits.X_train[:3], np.array([0, 1, 10]))


def test_train_on_the_packed_step_is_reproducible_and_matches_the_layer_by_layer_step(tiny_digits):
    config = TrainingConfig(iterations=80, eval_every=40, learning_rate=5e-3)
    results = []
    for crossover in (dispatch.FUSED_CROSSOVER_DENSITY, dispatch.FUSED_CROSSOVER_DENSITY, 0.0):
        model = sparse_model(density=0.2)
        with pytest.MonkeyPatch.context() as patch:  # a crossover of 0 keeps train() off the packed step
            patch.setattr(dispatch, "FUSED_CROSSOVER_DENSITY", crossover)
            results.append((model, train(model, tiny_digits, config, seed=3)))
    (a, ra), (b, rb), (c, rc) = results
    assert ra.curve.val_loss == rb.curve.val_loss
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    np.testing.assert_allclose(ra.curve.val_loss, rc.curve.val_loss, rtol=1e-3)
    for x, y in zip(a.weights, c.weights):
        np.testing.assert_allclose(x, y, rtol=1e-2, atol=1e-4)


@pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:overflow encountered")
def test_snapshots_and_divergence_on_the_sparse_path_see_every_update(tiny_digits):
    model = sparse_model()
    result = train(model, tiny_digits, TrainingConfig(iterations=20), seed=0, snapshot_at=[10])
    replay = sparse_model()
    train(replay, tiny_digits, TrainingConfig(iterations=10), seed=0)
    np.testing.assert_array_equal(result.snapshots[10].weights[0], replay.weights[0])

    diverging, initial = sparse_model(), sparse_model()
    config = TrainingConfig(iterations=200, optimizer="sgd", learning_rate=1e8)
    with pytest.raises(TrainingDivergedError, match="iteration 3"):
        train(diverging, tiny_digits, config, seed=0)
    # the two updates before the divergence were written back; pruned weights stayed zero
    assert not np.array_equal(diverging.weights[0], initial.weights[0])
    assert all(np.all(w[m == 0] == 0.0) for w, m in zip(diverging.weights, diverging.masks))
