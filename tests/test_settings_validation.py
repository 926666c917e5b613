"""Every bad setting is refused early, in one line, by one rule (lottery_np.validation).

A table of probes: each entry builds something with one bad value and names the setting
the error must carry. Every error is a :class:`SettingError` (a ``ValueError``, never a
raw ``TypeError``) whose ``setting`` attribute and message both name the culprit.
"""
import math

import numpy as np
import pytest

from lottery_np.estimator import LotteryTicketClassifier
from lottery_np.model import MLP
from lottery_np.optim import SGD, Adam
from lottery_np.pruning import LotteryTicketPruner, MagnitudePruner, RewindStrategy
from lottery_np.pruning.options import PruningOptions
from lottery_np.training import TrainingConfig
from lottery_np.validation import SettingError


def build(**setters):
    builder = LotteryTicketPruner.builder()
    for name, value in setters.items():
        getattr(builder, name)(value)
    return builder.build()


PROBES = {
    # booleans are not numbers here
    "iterations(True)": (lambda: build(iterations=True), "iterations"),
    "epochs(True)": (lambda: build(epochs=True), "epochs"),
    "learning_rate(True)": (lambda: build(learning_rate=True), "learning_rate"),
    "target_sparsity(False)": (lambda: build(target_sparsity=False), "target_sparsity"),
    "pruning_rounds(True)": (lambda: build(pruning_rounds=True), "pruning_rounds"),
    "batch_size(True)": (lambda: build(batch_size=True), "batch_size"),
    "eval_every(False)": (lambda: build(eval_every=False), "eval_every"),
    "seed(True)": (lambda: build(seed=True), "seed"),
    "Iteration(True)": (lambda: RewindStrategy.Iteration(True), "rewind_iteration"),
    "accuracy_tolerance(True)": (lambda: build(accuracy_tolerance=True), "accuracy_tolerance"),
    # strings, None and other objects where a number belongs: ValueError naming the setting
    "learning_rate('0.1')": (lambda: build(learning_rate="0.1"), "learning_rate"),
    "target_sparsity('0.9')": (lambda: build(target_sparsity="0.9"), "target_sparsity"),
    "pruning_rounds(None)": (lambda: build(pruning_rounds=None), "pruning_rounds"),
    "epochs([1])": (lambda: build(epochs=[1]), "epochs"),
    "Iteration('3')": (lambda: RewindStrategy.Iteration("3"), "rewind_iteration"),
    # out of range, refused at build()
    "epochs(inf)": (lambda: build(epochs=math.inf), "epochs"),
    "epochs(nan)": (lambda: build(epochs=math.nan), "epochs"),
    "learning_rate(inf)": (lambda: build(learning_rate=math.inf), "learning_rate"),
    "seed(-1)": (lambda: build(seed=-1), "seed"),
    "target_sparsity(1.0)": (lambda: build(target_sparsity=1.0), "target_sparsity"),
    "output_rate_factor(1.5)": (lambda: build(output_rate_factor=1.5), "output_rate_factor"),
    "scope('per-neuron')": (lambda: build(scope="per-neuron"), "scope"),
    "adam_bias_correction('x')": (lambda: build(adam_bias_correction="x"), "adam_bias_correction"),
    "momentum(1.0)": (lambda: build(momentum=1.0), "momentum"),
    "iterations + rewind 100": (lambda: LotteryTicketPruner.builder().iterations(100)
                                .rewind_strategy(RewindStrategy.Iteration(100)).build(), "rewind_iteration"),
    "fine_tune_iterations(True)": (lambda: MagnitudePruner.builder().fine_tune_iterations(True).build(), "iterations"),
    # every settings object validates itself on construction
    "PruningOptions(target_sparsity=1.5)": (lambda: PruningOptions(target_sparsity=1.5), "target_sparsity"),
    "PruningOptions(seed=-3)": (lambda: PruningOptions(seed=-3), "seed"),
    "PruningOptions(training=None)": (lambda: PruningOptions(training=None), "training"),
    "TrainingConfig(iterations=True)": (lambda: TrainingConfig(iterations=True), "iterations"),
    "TrainingConfig(both lengths)": (lambda: TrainingConfig(iterations=5, epochs=1.0), "iterations"),
    "TrainingConfig(no length)": (lambda: TrainingConfig(), "iterations"),
    "Adam(beta2=1)": (lambda: Adam(beta2=1.0), "beta2"),
    "Adam(epsilon=0)": (lambda: Adam(epsilon=0.0), "epsilon"),
    "Adam(bias_correction='pytorch')": (lambda: Adam(bias_correction="pytorch"), "bias_correction"),
    "SGD(momentum=True)": (lambda: SGD(momentum=True), "momentum"),
    "MLP(seed=-1)": (lambda: MLP((4, 2), seed=-1), "seed"),
    "MLP((4, True))": (lambda: MLP((4, True)), "layer_sizes[1]"),
    "MLP((4,))": (lambda: MLP((4,)), "layer_sizes"),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_bad_setting_is_refused_naming_it(probe):
    make, setting = PROBES[probe]
    with pytest.raises(SettingError) as caught:
        make()
    assert caught.value.setting == setting
    assert setting in str(caught.value) or "iterations and epochs" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_numpy_scalars_are_accepted_and_become_python_numbers():
    pruner = (LotteryTicketPruner.builder().target_sparsity(np.float32(0.5)).pruning_rounds(np.int64(3))
              .iterations(np.int32(200)).learning_rate(np.float64(1e-3)).seed(np.uint8(4)).build())
    options = pruner.options
    assert (options.target_sparsity, options.pruning_rounds, options.seed) == (0.5, 3, 4)
    assert type(options.pruning_rounds) is int and type(options.training.iterations) is int
    assert type(options.target_sparsity) is float
    assert RewindStrategy.Iteration(np.int64(5)).start_iteration == 5


@pytest.mark.parametrize("scope, sizes, target, factor", [
    ("global", (64, 16, 10), 0.999999, 0.5),   # the whole network would keep no weight
    ("layerwise", (4, 2, 2), 0.95, 1.0),      # 8 + 4 weights, 1 kept: one layer would be empty
])
def test_a_target_that_empties_the_network_or_a_layer_is_refused_before_training(tiny_digits, tmp_path, scope,
                                                                                  sizes, target, factor):
    pruner = (LotteryTicketPruner.builder().scope(scope).target_sparsity(target).output_rate_factor(factor)
              .pruning_rounds(2).iterations(10).build())
    model = MLP(sizes)
    data = (tiny_digits.X_train[:, :sizes[0]], tiny_digits.y_train % sizes[-1])
    with pytest.raises(SettingError, match="target_sparsity must be low enough to keep a weight") as caught:
        pruner.find_ticket(model, data, checkpoint=tmp_path / "checkpoint.npz")
    assert caught.value.setting == "target_sparsity"
    assert not (tmp_path / "checkpoint.npz").exists()  # refused before anything trained or was written


# --- issue 24, classes 8 and 11: a bad value anywhere is one error naming the setting, never a raw one --------
def _fit(**params):
    X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
    return LotteryTicketClassifier(epochs=1, **params).fit(X, y)


RAW_ERROR_PROBES = [  # (name, call, error type, words of the message)
    ("MLP of one size", lambda: MLP(64), SettingError, "layer_sizes must be a sequence of at least two"),
    ("MLP of a bogus dtype", lambda: MLP(dtype="bogus"), TypeError, "dtype must be float32 or float64, got 'bogus'"),
    ("epochs beyond any run", lambda: TrainingConfig(epochs=1e308).total_iterations(600), SettingError,
     "epochs must be a finite number <="),
    ("rewind None", lambda: RewindStrategy.parse(None), SettingError, "rewind must be 'init', 'iteration:K' or 'lr'"),
    ("rewind an int", lambda: RewindStrategy.parse(3), SettingError, "got 3"),
    ("estimator rewind None", lambda: _fit(rewind=None), SettingError, "rewind must be"),
    ("estimator target_sparsity None", lambda: _fit(target_sparsity=None), SettingError,
     "target_sparsity must be a finite number in [0, 1), got None"),
    ("estimator learning_rate None", lambda: _fit(learning_rate=None), SettingError, "learning_rate must be"),
    ("estimator epochs 1e308", lambda: LotteryTicketClassifier(epochs=1e308).fit(
        np.zeros((40, 4)), np.arange(40) % 2), SettingError, "epochs must be a finite number <="),
]


@pytest.mark.parametrize("name, call, kind, words", RAW_ERROR_PROBES, ids=[p[0] for p in RAW_ERROR_PROBES])
def test_a_bad_value_is_one_error_naming_the_setting(name, call, kind, words):
    with pytest.raises(kind) as caught:
        call()
    assert words in str(caught.value)
