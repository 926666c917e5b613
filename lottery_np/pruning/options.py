"""Settings shared by every pruner, and the fluent builder that validates them.

Defaults follow Frankle & Carbin (2019) for LeNet-300-100 on MNIST: Adam at
learning rate 1.2e-3, batch 60, 50,000 training iterations per round, layerwise
pruning with the output layer pruned at half the hidden layers' rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from ..training import TrainingConfig

SCOPES = ("layerwise", "global")
PAPER_ITERATIONS = 50_000


@dataclass(frozen=True)
class PruningOptions:
    """Everything a pruning run needs to know besides the model and the data."""

    target_sparsity: float = 0.9
    pruning_rounds: int = 10
    scope: str = "layerwise"
    output_rate_factor: float = 0.5
    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(iterations=PAPER_ITERATIONS))
    seed: int = 0
    validation_data: Optional[tuple] = None

    def layer_rate_factors(self, n_layers: int) -> list[float]:
        """Each layer's pruning rate as a multiple of the hidden layers' rate."""
        return [1.0] * (n_layers - 1) + [self.output_rate_factor]

    def fingerprint(self) -> dict:
        """The settings that determine a run's result, as plain values (to check a resumed run)."""
        training = self.training
        return {
            "target_sparsity": self.target_sparsity,
            "pruning_rounds": self.pruning_rounds,
            "scope": self.scope,
            "output_rate_factor": self.output_rate_factor,
            "training": repr(training),
            "seed": self.seed,
        }


def _fail(name: str, rule: str, value) -> None:
    raise ValueError(f"{name} must be {rule}, got {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def validate_options(options: PruningOptions) -> None:
    """Raise ``ValueError`` naming the first bad setting and its value."""
    sparsity = options.target_sparsity
    if not (isinstance(sparsity, (int, float)) and 0.0 <= sparsity < 1.0):
        _fail("target_sparsity", "in [0, 1)", sparsity)
    if not (_is_int(options.pruning_rounds) and options.pruning_rounds >= 1):
        _fail("pruning_rounds", "an integer >= 1", options.pruning_rounds)
    if options.scope not in SCOPES:
        _fail("scope", f"one of {SCOPES}", options.scope)
    factor = options.output_rate_factor
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and 0.0 <= factor <= 1.0):
        _fail("output_rate_factor", "in [0, 1]", factor)
    if not _is_int(options.seed):
        _fail("seed", "an integer", options.seed)
    if options.validation_data is not None:
        X, y = _pair("validation_data", options.validation_data)
        if X.ndim != 2 or y.shape != (len(X),):
            raise ValueError(f"validation_data must be (X, y) with X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")


def _pair(name: str, data) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return np.asarray(data[0]), np.asarray(data[1])


class PrunerBuilder:
    """Fluent setters shared by the pruners' builders; ``build()`` validates everything."""

    def __init__(self):
        self._options = PruningOptions()
        self._training: dict = {}

    def _set(self, **changes) -> "PrunerBuilder":
        self._options = replace(self._options, **changes)
        return self

    def target_sparsity(self, sparsity: float) -> "PrunerBuilder":
        """Fraction of all weights removed after the last round, in [0, 1) (0.9 keeps 10 %)."""
        return self._set(target_sparsity=sparsity)

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

    def eval_every(self, iterations: int) -> "PrunerBuilder":
        """Iterations between evaluations on the validation and test sets."""
        self._training["eval_every"] = iterations
        return self

    def _build_options(self) -> PruningOptions:
        settings = dict(self._training)
        if "iterations" not in settings and "epochs" not in settings:
            settings["iterations"] = PAPER_ITERATIONS
        options = replace(self._options, training=TrainingConfig(**settings))
        validate_options(options)
        return options
