"""How to train one network: the length, the batches, the optimizer and the evaluations.

A :class:`TrainingConfig` is checked when it is made (by :mod:`lottery_np.validation`),
so a bad value is refused where it is written, not deep inside a run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import validation
from .optim import Adam, Optimizer, make_optimizer


@dataclass(frozen=True)
class TrainingConfig:
    """How to train one network.

    Parameters
    ----------
    iterations : int, optional
        Number of mini-batch updates. Give exactly one of ``iterations`` and ``epochs``.
    epochs : float, optional
        Passes over the training set; converted to iterations with full batches only.
    batch_size : int
        Samples per update (the paper: 60 for LeNet-300-100).
    optimizer : {"adam", "sgd"}
    learning_rate : float
        The paper: Adam at 1.2e-3 for LeNet-300-100.
    momentum : float
        Only used by ``"sgd"``.
    adam_bias_correction : {"step_size", "moments"}
        Only used by ``"adam"``: which of Adam's two forms (see :class:`lottery_np.optim.Adam`);
        ``"step_size"`` is TensorFlow 1's, which the paper used.
    eval_every : int
        Iterations between evaluations on the validation (and test) set.
    """

    iterations: Optional[int] = None
    epochs: Optional[float] = None
    batch_size: int = 60
    optimizer: str = "adam"
    learning_rate: float = 1.2e-3
    momentum: float = 0.9
    eval_every: int = 100
    adam_bias_correction: str = "step_size"

    def __post_init__(self):
        validation.exactly_one_length(self.iterations, self.epochs)
        checked = {
            "iterations": validation.optional(validation.integer, "iterations", self.iterations, minimum=1),
            "epochs": validation.optional(validation.real, "epochs", self.epochs, minimum=0.0, low_open=True),
            "batch_size": validation.integer("batch_size", self.batch_size, minimum=1),
            "eval_every": validation.integer("eval_every", self.eval_every, minimum=1),
        }
        for name, value in checked.items():  # NumPy scalars become Python numbers
            object.__setattr__(self, name, value)
        object.__setattr__(self, "momentum", validation.real("momentum", self.momentum, 0.0, 1.0, high_open=True))
        validation.choice("adam_bias_correction", self.adam_bias_correction, Adam.FORMS)
        optimizer = self.make_optimizer()  # the optimizer validates its own hyperparameters
        object.__setattr__(self, "learning_rate", optimizer.learning_rate)

    def _optimizer_options(self) -> dict:
        if self.optimizer == "sgd":
            return {"momentum": self.momentum}
        return {"bias_correction": self.adam_bias_correction}

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer with this configuration."""
        return make_optimizer(self.optimizer, self.learning_rate, **self._optimizer_options())

    def total_iterations(self, n_train: int) -> int:
        """Number of updates for a training set of ``n_train`` samples."""
        validation.integer("batch_size", self.batch_size, maximum=n_train)  # at most the training samples
        if self.iterations is not None:
            return int(self.iterations)
        return max(1, int(round(self.epochs * (n_train // self.batch_size))))
