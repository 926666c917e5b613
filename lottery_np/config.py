"""How to train one network: the length, the batches, the optimizer and the evaluations.

A :class:`TrainingConfig` is checked when it is made, each field by the rule its setting
declares (:mod:`lottery_np.schema`), so a bad value is refused where it is written, not
deep inside a run.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

from . import schema, validation
from .optim import Optimizer, make_optimizer

_DEFAULT = {setting.name: setting.default for setting in schema.TRAINING}

MAX_ITERATIONS = 2**53
"""The most updates a length in epochs may come to."""


@dataclass(frozen=True)
class TrainingConfig:
    """How to train one network; every field is a setting of :data:`lottery_np.schema.TRAINING`.

    Parameters
    ----------
    iterations : int, optional
        Number of mini-batch updates. Give exactly one of ``iterations`` and ``epochs``.
    epochs : float, optional
        Passes over the training set; converted to iterations with full batches only.
    batch_size : int, default 60
        Samples per update (the paper: 60 for LeNet-300-100).
    optimizer : {"adam", "sgd"}, default "adam"
    learning_rate : float, default 1.2e-3
        The paper: Adam at 1.2e-3 for LeNet-300-100.
    momentum : float, default 0.9
        Only used by ``"sgd"``.
    eval_every : int, default 100
        Iterations between evaluations on the validation (and test) set.
    adam_bias_correction : {"step_size", "moments"}, default "step_size"
        Only used by ``"adam"``: which of Adam's two forms (see :class:`lottery_np.optim.Adam`);
        ``"step_size"`` is TensorFlow 1's, which the paper used.

    Examples
    --------
    >>> TrainingConfig(epochs=2).total_iterations(n_train=600)
    20
    >>> TrainingConfig(iterations=0)
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: iterations must be an integer >= 1, got 0
    """

    iterations: Optional[int] = _DEFAULT["iterations"]
    epochs: Optional[float] = _DEFAULT["epochs"]
    batch_size: int = _DEFAULT["batch_size"]
    optimizer: str = _DEFAULT["optimizer"]
    learning_rate: float = _DEFAULT["learning_rate"]
    momentum: float = _DEFAULT["momentum"]
    eval_every: int = _DEFAULT["eval_every"]
    adam_bias_correction: str = _DEFAULT["adam_bias_correction"]

    def __post_init__(self):
        validation.exactly_one_length(self.iterations, self.epochs)
        for field in fields(self):  # NumPy scalars become Python numbers
            object.__setattr__(self, field.name, schema.check(field.name, getattr(self, field.name)))

    def _optimizer_options(self) -> dict:
        if self.optimizer == "sgd":
            return {"momentum": self.momentum}
        return {"bias_correction": self.adam_bias_correction}

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer with this configuration."""
        return make_optimizer(self.optimizer, self.learning_rate, **self._optimizer_options())

    def total_iterations(self, n_train: int) -> int:
        """Number of updates for a training set of ``n_train`` samples.

        Raises
        ------
        SettingError
            Naming ``batch_size`` if it exceeds ``n_train``, or ``epochs`` if they come to more than
            ``MAX_ITERATIONS`` updates (a length no run reaches, and beyond it float64 counts no longer exactly).
        """
        validation.integer("batch_size", self.batch_size, maximum=n_train)  # at most the training samples
        if self.iterations is not None:
            return int(self.iterations)
        per_epoch = n_train // self.batch_size
        validation.real("epochs", self.epochs, maximum=MAX_ITERATIONS / per_epoch)
        return max(1, int(round(self.epochs * per_epoch)))
