"""Where the surviving weights restart after each pruning round.

* ``RewindStrategy.Init`` -- back to their initial values: the lottery ticket of
  Frankle & Carbin (2019).
* ``RewindStrategy.Iteration(k)`` -- late rewinding: back to their values at
  iteration ``k`` of the dense run, which finds tickets in deeper networks
  (Frankle et al., "Stabilizing the Lottery Ticket Hypothesis", 2019; "Linear Mode
  Connectivity and the Lottery Ticket Hypothesis", ICML 2020). Training then runs
  the remaining iterations from ``k``.
* ``RewindStrategy.LearningRate`` -- learning-rate rewinding: keep the trained
  weights and retrain them with the original schedule (Renda et al., "Comparing
  Rewinding and Fine-tuning in Neural Network Pruning", ICLR 2020).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import validation
from ..model import MLP, Parameters, apply_mask


@dataclass(frozen=True)
class RewindStrategy:
    """One of ``RewindStrategy.Init``, ``RewindStrategy.Iteration(k)``, ``RewindStrategy.LearningRate``."""

    kind: str
    iteration: int = 0

    Init = None  # set below: a class attribute cannot hold its own class inside the body
    LearningRate = None

    @staticmethod
    def Iteration(k: int) -> "RewindStrategy":  # noqa: N802 - spelled like the other members
        """Late rewinding to the weights after ``k`` training iterations of the dense run."""
        return RewindStrategy("iteration", validation.integer("rewind_iteration", k, minimum=0))

    @staticmethod
    def parse(text: str) -> "RewindStrategy":
        """Read ``"init"``, ``"iteration:K"`` or ``"lr"`` (the command line's spelling)."""
        if text == "init":
            return RewindStrategy.Init
        if text == "lr":
            return RewindStrategy.LearningRate
        match = re.fullmatch(r"iteration:(\d+)", text)
        if match:
            return RewindStrategy.Iteration(int(match.group(1)))
        raise validation.SettingError("rewind", "'init', 'iteration:K' or 'lr'", text)

    @property
    def start_iteration(self) -> int:
        """Iteration at which training resumes after rewinding (``k`` for late rewinding, else 0)."""
        return self.iteration if self.kind == "iteration" else 0

    @property
    def keeps_trained_weights(self) -> bool:
        """True for learning-rate rewinding, which restarts from the trained weights."""
        return self.kind == "lr"

    def __str__(self) -> str:
        return {"init": "init", "lr": "lr"}.get(self.kind, f"iteration:{self.iteration}")


RewindStrategy.Init = RewindStrategy("init")
RewindStrategy.LearningRate = RewindStrategy("lr")


class Rewinder:
    """Keeps an exact snapshot of the weights to rewind to and restores it under a mask.

    After :meth:`rewind`, every surviving weight equals its snapshot bit for bit,
    every pruned weight is 0.0, and the optimizer (if given) has no state left.
    """

    def __init__(self, snapshot: Parameters):
        self.snapshot = snapshot.copy()

    def rewind(self, model: MLP, optimizer=None) -> None:
        """Load the snapshot into ``model`` under its current masks and reset ``optimizer``."""
        model.set_parameters(self.snapshot)
        if optimizer is not None:
            optimizer.reset()

    def rewound_parameters(self, masks) -> Parameters:
        """The snapshot with ``masks`` applied (pruned weights exactly 0.0)."""
        weights = [apply_mask(w, m) for w, m in zip(self.snapshot.weights, masks)]
        return Parameters(weights, [b.copy() for b in self.snapshot.biases])
