"""A run stopped at an evaluation and resumed from its saved state gives the uninterrupted run's numbers, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lottery_np import MLP, TrainingConfig, train
from lottery_np.data import load_digits
from lottery_np.files import CorruptFileError, json_array, load_npz, save_npz_atomic
from lottery_np.pruning import random_masks_at
from lottery_np.sparse import Rewiring
from lottery_np.training_state import TrainingCheckpoint, TrainingState

DIGITS = load_digits()
SIZES = (64, 40, 10)
ITERATIONS = 120


def network(density: float, seed: int = 0) -> MLP:
    model = MLP(SIZES, seed=seed)
    if density < 1:
        model.set_masks(random_masks_at([(64, 40), (40, 10)], density, "erdos_renyi", np.random.default_rng(seed)))
    return model


def run(density, optimizer="adam", rewiring=None, **kwargs):
    """Train a fresh network; return it and the result."""
    model = network(density)
    config = TrainingConfig(iterations=ITERATIONS, eval_every=20, optimizer=optimizer)
    method = None if rewiring is None else Rewiring(rewiring, ITERATIONS, update_every=15, seed=3)
    result = train(model, DIGITS, config, seed=1, rewiring=method, **kwargs)
    return model, result, method


def assert_same_run(first, second):
    (model_a, result_a, rewiring_a), (model_b, result_b, rewiring_b) = first, second
    for a, b in zip(model_a.weights + model_a.biases + model_a.masks, model_b.weights + model_b.biases + model_b.masks):
        np.testing.assert_array_equal(a, b)
    for name, values in result_a.curve.to_dict().items():  # NaN where nothing was measured: equal here
        np.testing.assert_array_equal(values, getattr(result_b.curve, name), err_msg=name)
    assert result_a.early_stop_iteration == result_b.early_stop_iteration
    if rewiring_a is not None:
        strip = [[{k: v for k, v in u.items() if k != "seconds"} for u in r.updates] for r in (rewiring_a, rewiring_b)]
        assert strip[0] == strip[1] and len(strip[0]) == len(range(15, 91, 15))


def saved_states(tmp_path, density, optimizer="adam", rewiring=None):
    """Every state an uninterrupted run saves (one file per evaluation), and that run."""
    states = []

    class Keep(TrainingCheckpoint):
        def save(self, state):
            super().save(state)
            states.append(TrainingState.load(self.path, self.fingerprint))

    uninterrupted = run(density, optimizer, rewiring, checkpoint=Keep(tmp_path / "s.npz", {"run": 1}, 0))
    return states, uninterrupted


@pytest.mark.parametrize("density, optimizer, rewiring", [
    (1.0, "adam", None),      # dense: the layer-by-layer step
    (0.05, "adam", None),     # sparse float32: the packed step
    (0.05, "sgd", None),
    (0.1, "adam", "rigl"),    # masks move: the state holds them and the updates taken
    (0.1, "adam", "set"),
])
def test_resuming_at_every_evaluation_replays_the_run(tmp_path, density, optimizer, rewiring):
    states, uninterrupted = saved_states(tmp_path, density, optimizer, rewiring)
    assert [s.iteration for s in states] == [20, 40, 60, 80, 100]  # not at the last iteration: the run is done
    for state in states:
        assert_same_run(uninterrupted, run(density, optimizer, rewiring, resume_from=state))


@settings(max_examples=6, deadline=None)
@given(st.sampled_from([20, 40, 60, 80, 100]), st.sampled_from([0.05, 0.3, 1.0]))
def test_a_resumed_run_keeps_saving_the_states_of_the_uninterrupted_one(tmp_path_factory, at, density):
    tmp = tmp_path_factory.mktemp("states")
    states, _ = saved_states(tmp, density)
    later = []

    class Keep(TrainingCheckpoint):
        def save(self, state):
            later.append(state)

    run(density, resume_from=states[at // 20 - 1], checkpoint=Keep(tmp / "t.npz", {}, 0))
    for mine, theirs in zip(later, states[at // 20:], strict=True):
        assert mine.iteration == theirs.iteration and mine.optimizer_iterations == theirs.optimizer_iterations
        for a, b in zip(mine.parameters.weights + mine.masks, theirs.parameters.weights + theirs.masks):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(mine.optimizer, theirs.optimizer):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_optimizer_state_is_saved_over_every_entry_zero_at_pruned_ones(tmp_path):
    states, _ = saved_states(tmp_path, 0.05)
    state = states[0]
    assert state.optimizer_iterations == 20
    for layer, mask in enumerate(state.masks):
        for name in ("m", "v"):
            moment = state.optimizer[layer][name].reshape(mask.shape)
            assert np.all(moment[mask == 0] == 0) and np.count_nonzero(moment[mask == 1]) > 0


def test_the_checkpoint_waits_every_seconds_between_saves(tmp_path):
    checkpoint = TrainingCheckpoint(tmp_path / "s.npz", {}, every_seconds=3600)
    run(1.0, checkpoint=checkpoint)
    assert not checkpoint.exists()


def test_a_state_of_another_run_is_refused_naming_what_differs(tmp_path):
    run(0.3, checkpoint=TrainingCheckpoint(tmp_path / "s.npz", {"method": "rigl", "seed": 1}, 0))
    with pytest.raises(ValueError, match=r"holds another run \(it differs in seed\)"):
        TrainingCheckpoint(tmp_path / "s.npz", {"method": "rigl", "seed": 2}).load()


def test_a_state_is_refused_by_a_run_of_another_schedule(tmp_path):
    states, _ = saved_states(tmp_path, 0.3)
    model = network(0.3)
    with pytest.raises(ValueError, match="saved at iteration 20 of a run started at 0; this run starts at 10"):
        train(model, DIGITS, TrainingConfig(iterations=ITERATIONS, eval_every=20), start_iteration=10,
              resume_from=states[0])
    with pytest.raises(ValueError, match="ends at 15"):
        train(model, DIGITS, TrainingConfig(iterations=15), resume_from=states[0])
    with pytest.raises(ValueError, match="snapshot_at asks for iterations before 20"):
        train(model, DIGITS, TrainingConfig(iterations=ITERATIONS), resume_from=states[0], snapshot_at=[0])


@pytest.mark.parametrize("damage, message", [
    (lambda arrays: arrays.pop("masks_1"), "missing masks_1"),
    (lambda arrays: arrays.update(weights_0=np.full((64, 40), np.nan, np.float32)), "weights_0 holds 2560 NaN"),
    (lambda arrays: arrays.update(masks_0=np.full((64, 40), 2.0, np.float32)), "masks_0 must hold only 0 and 1"),
    (lambda arrays: arrays.update(optimizer_0_m=np.zeros(3, np.float32)), r"optimizer_0_m has shape \(3,\)"),
    (lambda arrays: arrays.update(info=json_array({"format": 1})), "info"),
    (lambda arrays: arrays.update(extra=np.zeros(1)), "unexpected extra"),
])
def test_a_damaged_state_file_is_refused_naming_the_culprit(tmp_path, damage, message):
    path = tmp_path / "s.npz"
    run(0.3, checkpoint=TrainingCheckpoint(path, {}, 0))
    arrays = load_npz(path, [])
    damage(arrays)
    save_npz_atomic(path, arrays)
    with pytest.raises(CorruptFileError, match=message):
        TrainingState.load(path)


def test_a_state_of_another_format_is_refused(tmp_path):
    path = tmp_path / "s.npz"
    run(0.3, checkpoint=TrainingCheckpoint(path, {}, 0))
    arrays = load_npz(path, [])
    info = TrainingState.load(path)
    arrays["info"] = np.array(str(arrays["info"]).replace('"format": 1', '"format": 99'))
    save_npz_atomic(path, arrays)
    assert info.iteration == 100
    with pytest.raises(CorruptFileError, match="has format 99, this lottery_np reads 1"):
        TrainingState.load(path)
