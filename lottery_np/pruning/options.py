"""Settings shared by every pruner, and the fluent builder that validates them.

Defaults follow Frankle & Carbin (2019) for LeNet-300-100 on MNIST: Adam at
learning rate 1.2e-3, batch 60, 50,000 training iterations per round, layerwise
pruning with the output layer pruned at half the hidden layers' rate.

How much to prune is said in one of two ways, exactly one in force: a
``target_sparsity`` reached by the last round (default 0.9), or the paper's fixed
``pruning_rate`` per round (20 % for LeNet), from which the sparsity follows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from .. import validation
from ..data import rules
from ..training import TrainingConfig

SCOPES = ("layerwise", "global")
PAPER_ITERATIONS = 50_000
DEFAULT_TARGET_SPARSITY = 0.9


@dataclass(frozen=True)
class PruningOptions:
    """Everything a pruning run needs to know besides the model and the data.

    Validated on construction (NumPy scalars become Python numbers); a bad value
    raises :class:`~lottery_np.validation.SettingError` naming the setting. With
    neither ``target_sparsity`` nor ``pruning_rate`` given, ``target_sparsity`` is
    0.9; with ``pruning_rate`` given, ``target_sparsity`` stays None (the schedule
    decides the sparsity); giving both is refused.
    """

    target_sparsity: Optional[float] = None
    pruning_rounds: int = 10
    scope: str = "layerwise"
    output_rate_factor: float = 0.5
    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(iterations=PAPER_ITERATIONS))
    seed: int = 0
    validation_data: Optional[tuple] = None
    pruning_rate: Optional[float] = None

    def __post_init__(self):
        if self.pruning_rate is not None and self.target_sparsity is not None:
            raise validation.SettingError("pruning_rate", "", None, message="give target_sparsity or pruning_rate, "
                                          f"not both, got target_sparsity={self.target_sparsity!r}, "
                                          f"pruning_rate={self.pruning_rate!r}")
        if self.pruning_rate is None:
            sparsity = DEFAULT_TARGET_SPARSITY if self.target_sparsity is None else self.target_sparsity
            object.__setattr__(self, "target_sparsity", validation.real("target_sparsity", sparsity, 0.0, 1.0,
                                                                        high_open=True))
        else:
            object.__setattr__(self, "pruning_rate", validation.real("pruning_rate", self.pruning_rate, 0.0, 1.0,
                                                                     low_open=True, high_open=True))
        checked = {
            "pruning_rounds": validation.integer("pruning_rounds", self.pruning_rounds, minimum=1),
            "scope": validation.choice("scope", self.scope, SCOPES),
            "output_rate_factor": validation.real("output_rate_factor", self.output_rate_factor, 0.0, 1.0),
            "seed": validation.integer("seed", self.seed, minimum=0),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if not isinstance(self.training, TrainingConfig):
            raise validation.SettingError("training", "a TrainingConfig", self.training)
        pair = self.validation_data
        if pair is not None:  # checked by the data rules now, so build() refuses a bad pair
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise validation.SettingError("validation_data", "a pair (X, y)", type(pair).__name__)
            X = rules.features_of("validation_data X", pair[0])
            rules.require_samples("validation_data X", X, "validation")
            object.__setattr__(self, "validation_data", (X, rules.labels_of("validation_data y", pair[1], len(X),
                                                                              "validation_data X")))

    def layer_rate_factors(self, n_layers: int) -> list[float]:
        """Each layer's pruning rate as a multiple of the hidden layers' rate."""
        return [1.0] * (n_layers - 1) + [self.output_rate_factor]

    def fingerprint(self) -> dict:
        """The settings that determine a run's result, as plain values (to check a resumed run)."""
        return {
            "target_sparsity": self.target_sparsity,
            "pruning_rate": self.pruning_rate,
            "pruning_rounds": self.pruning_rounds,
            "scope": self.scope,
            "output_rate_factor": self.output_rate_factor,
            "training": asdict(self.training),
            "seed": self.seed,
        }


class PrunerBuilder:
    """Fluent setters shared by the pruners' builders; ``build()`` validates everything."""

    def __init__(self):
        self._options: dict = {}
        self._training: dict = {}

    def _set(self, **changes) -> "PrunerBuilder":
        self._options.update(changes)  # validated by build(), all together
        return self

    def target_sparsity(self, sparsity: float) -> "PrunerBuilder":
        """Fraction of all weights removed after the last round, in [0, 1) (0.9 keeps 10 %; the default)."""
        return self._set(target_sparsity=sparsity)

    def pruning_rate(self, rate: float) -> "PrunerBuilder":
        """Fraction of each layer's surviving weights pruned every round, in (0, 1) (paper: 0.2).

        Instead of :meth:`target_sparsity`: the rounds are as given and the output layer is
        pruned at ``rate * output_rate_factor`` (see :func:`~lottery_np.pruning.schedule.fixed_rate_schedule`).
        """
        return self._set(pruning_rate=rate)

    def pruning_rounds(self, rounds: int) -> "PrunerBuilder":
        """Number of prune-and-retrain rounds (1 = one-shot)."""
        return self._set(pruning_rounds=rounds)

    def scope(self, scope: str) -> "PrunerBuilder":
        """``"layerwise"`` (the paper's LeNet setting) or ``"global"`` (one threshold for all layers)."""
        return self._set(scope=scope)

    def output_rate_factor(self, factor: float) -> "PrunerBuilder":
        """Output layer's pruning rate relative to the hidden layers' (paper: 0.5); layerwise scope only."""
        return self._set(output_rate_factor=factor)

    def seed(self, seed: int) -> "PrunerBuilder":
        """Seed of the data order (and of any random control)."""
        return self._set(seed=seed)

    def validation_data(self, X: np.ndarray, y: np.ndarray) -> "PrunerBuilder":
        """Held-out data for early stopping and ticket selection (default: the dataset's validation split)."""
        return self._set(validation_data=(X, y))

    def iterations(self, iterations: int) -> "PrunerBuilder":
        """Training iterations per round (paper: 50,000). Replaces any ``epochs``."""
        self._training.pop("epochs", None)
        self._training["iterations"] = iterations
        return self

    def epochs(self, epochs: float) -> "PrunerBuilder":
        """Training epochs per round. Replaces any ``iterations``."""
        self._training.pop("iterations", None)
        self._training["epochs"] = epochs
        return self

    def batch_size(self, batch_size: int) -> "PrunerBuilder":
        """Mini-batch size (paper: 60)."""
        self._training["batch_size"] = batch_size
        return self

    def optimizer(self, name: str, learning_rate: Optional[float] = None) -> "PrunerBuilder":
        """``"adam"`` or ``"sgd"`` (with momentum), optionally with its learning rate."""
        self._training["optimizer"] = name
        if learning_rate is not None:
            self._training["learning_rate"] = learning_rate
        return self

    def learning_rate(self, learning_rate: float) -> "PrunerBuilder":
        """Optimizer step size (paper: Adam at 1.2e-3)."""
        self._training["learning_rate"] = learning_rate
        return self

    def momentum(self, momentum: float) -> "PrunerBuilder":
        """Momentum of the ``"sgd"`` optimizer."""
        self._training["momentum"] = momentum
        return self

    def adam_bias_correction(self, form: str) -> "PrunerBuilder":
        """Which Adam: ``"step_size"`` (TensorFlow 1's, the paper's; default) or ``"moments"`` (PyTorch's)."""
        self._training["adam_bias_correction"] = form
        return self

    def eval_every(self, iterations: int) -> "PrunerBuilder":
        """Iterations between evaluations on the validation and test sets."""
        self._training["eval_every"] = iterations
        return self

    def _build_options(self) -> PruningOptions:
        settings = dict(self._training)
        if "iterations" not in settings and "epochs" not in settings:
            settings["iterations"] = PAPER_ITERATIONS
        return PruningOptions(**self._options, training=TrainingConfig(**settings))
