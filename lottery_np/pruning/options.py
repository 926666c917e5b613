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
from typing import Any, Optional

import numpy as np

from .. import schema, validation
from ..data import rules
from ..training import TrainingConfig

_DEFAULT = {setting.name: setting.default for setting in schema.PRUNING}
_CHECKED = ("pruning_rounds", "scope", "criterion", "output_rate_factor", "seed")  # the settings without a rule between them
_OPTION_FIELDS = ("target_sparsity", "pruning_rate") + _CHECKED  # the PruningOptions fields that are settings
_LENGTHS = ("iterations", "epochs")  # a training length is one of them: setting one drops the other


@dataclass(frozen=True)
class PruningOptions:
    """Everything a pruning run needs to know besides the model and the data.

    Validated on construction, each setting by its rule in :mod:`lottery_np.schema` (NumPy
    scalars become Python numbers); a bad value raises
    :class:`~lottery_np.validation.SettingError` naming the setting. With neither
    ``target_sparsity`` nor ``pruning_rate`` given, ``target_sparsity`` is 0.9; with
    ``pruning_rate`` given, ``target_sparsity`` stays None (the schedule decides the
    sparsity); giving both is refused.

    Examples
    --------
    >>> options = PruningOptions(pruning_rate=0.2, pruning_rounds=3, criterion="movement")
    >>> options.target_sparsity, options.pruning_rate, options.criterion, options.layer_rate_factors(3)
    (None, 0.2, 'movement', [1.0, 1.0, 0.5])
    """

    target_sparsity: Optional[float] = _DEFAULT["target_sparsity"]
    pruning_rounds: int = _DEFAULT["pruning_rounds"]
    scope: str = _DEFAULT["scope"]
    output_rate_factor: float = _DEFAULT["output_rate_factor"]
    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(iterations=schema.PAPER_ITERATIONS))
    seed: int = _DEFAULT["seed"]
    validation_data: Optional[tuple] = None
    pruning_rate: Optional[float] = _DEFAULT["pruning_rate"]
    criterion: str = _DEFAULT["criterion"]

    def __post_init__(self):
        if self.pruning_rate is not None and self.target_sparsity is not None:
            raise validation.SettingError("pruning_rate", "", None, message="give target_sparsity or pruning_rate, "
                                          f"not both, got target_sparsity={self.target_sparsity!r}, "
                                          f"pruning_rate={self.pruning_rate!r}")
        if self.pruning_rate is None:
            sparsity = schema.DEFAULT_TARGET_SPARSITY if self.target_sparsity is None else self.target_sparsity
            object.__setattr__(self, "target_sparsity", schema.check("target_sparsity", sparsity))
        else:
            object.__setattr__(self, "pruning_rate", schema.check("pruning_rate", self.pruning_rate))
        for name in _CHECKED:
            object.__setattr__(self, name, schema.check(name, getattr(self, name)))
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
        """The settings that determine a run's result, as plain values (to check a resumed run).

        ``criterion`` appears only when it is not magnitude pruning's, so that the checkpoints of runs made
        before it was a setting still resume.
        """
        criterion = {} if self.criterion == _DEFAULT["criterion"] else {"criterion": self.criterion}
        return {**criterion,
            "target_sparsity": self.target_sparsity,
            "pruning_rate": self.pruning_rate,
            "pruning_rounds": self.pruning_rounds,
            "scope": self.scope,
            "output_rate_factor": self.output_rate_factor,
            "training": asdict(self.training),
            "seed": self.seed,
        }


class PrunerBuilder:
    """Fluent setters shared by the pruners' builders; ``build()`` validates everything.

    Every setting of :mod:`lottery_np.schema` the builder takes has a setter of its name
    (made from its declaration: see :data:`SETTINGS`), and :meth:`configure` sets any of
    them by name. Setters return the builder, so that calls chain.

    Examples
    --------
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = LotteryTicketPruner.builder().pruning_rounds(3).configure(epochs=2, seed=1).build()
    >>> pruner.options.pruning_rounds, pruner.options.training.epochs, pruner.options.seed
    (3, 2.0, 1)
    """

    SETTINGS = tuple(setting.name for setting in schema.TRAINING) + _OPTION_FIELDS
    """The settings this builder takes."""

    def __init__(self):
        self._values: dict[str, Any] = {}  # validated by build(), all together
        self._validation_data: Optional[tuple] = None

    def configure(self, **settings) -> "PrunerBuilder":
        """Set any of :data:`SETTINGS` by name (``configure(epochs=5, seed=1)``); a training length replaces the other.

        Raises
        ------
        SettingError
            Naming a setting this builder does not take, or one given None: a setting left out
            keeps its default, and None is no setting's value.
        """
        for name, value in settings.items():
            if name not in self.SETTINGS:
                raise validation.SettingError(name, "", value, message=f"{type(self).__name__} takes no setting "
                                              f"{name!r}; it takes {', '.join(sorted(self.SETTINGS))}")
            if value is None:
                raise validation.SettingError(name, "", None, message=f"{name} must be given a value, got None "
                                              "(leave it out to keep its default)")
            if name in _LENGTHS:
                self._values.pop(_LENGTHS[1 - _LENGTHS.index(name)], None)
            self._values[name] = value
        return self

    def optimizer(self, name: str, learning_rate: Optional[float] = None) -> "PrunerBuilder":
        """``"adam"`` or ``"sgd"`` (with momentum), optionally with its learning rate (default: adam)."""
        return self.configure(optimizer=name, **({} if learning_rate is None else {"learning_rate": learning_rate}))

    def training(self, config: TrainingConfig) -> "PrunerBuilder":
        """Every training setting as ``config`` holds it (its length, iterations or epochs, included)."""
        length = "iterations" if config.iterations is not None else "epochs"
        return self.configure(**{s.name: getattr(config, s.name) for s in schema.TRAINING
                                 if s.name not in _LENGTHS or s.name == length})

    def validation_data(self, X: np.ndarray, y: np.ndarray) -> "PrunerBuilder":
        """Held-out data for early stopping and ticket selection (default: the dataset's validation split)."""
        self._validation_data = (X, y)
        return self

    def _build_options(self) -> PruningOptions:
        training = {s.name: self._values[s.name] for s in schema.TRAINING if s.name in self._values}
        if "iterations" not in training and "epochs" not in training:
            training["iterations"] = schema.PAPER_ITERATIONS
        options = {name: self._values[name] for name in _OPTION_FIELDS if name in self._values}
        return PruningOptions(**options, training=TrainingConfig(**training), validation_data=self._validation_data)


def _setter(builder: type, name: str):
    """The method of ``builder`` that sets ``name``, documented by the setting's declaration."""
    def set_value(self, value):
        return self.configure(**{name: value})
    text = schema.help_of(name)
    set_value.__name__, set_value.__qualname__, set_value.__module__ = name, f"{builder.__name__}.{name}", \
        builder.__module__
    set_value.__doc__ = f"{text[0].upper()}{text[1:]}."
    return set_value


def add_setters(builder: type) -> type:
    """Give ``builder`` a setter for every name in its ``SETTINGS`` that neither it nor a base class defines."""
    for name in builder.SETTINGS:
        if not any(name in vars(cls) for cls in builder.__mro__):
            setattr(builder, name, _setter(builder, name))
    return builder


add_setters(PrunerBuilder)
