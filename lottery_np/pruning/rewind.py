"""Where the surviving weights restart after each pruning round.

* ``RewindStrategy.Init`` -- back to their initial values: the lottery ticket of
  Frankle & Carbin (2019).
* ``RewindStrategy.Iteration(k)`` -- late rewinding: back to their values at
  iteration ``k`` of the dense run, which finds tickets in deeper networks
  (Frankle et al., "Stabilizing the Lottery Ticket Hypothesis", 2019; "Linear Mode
  Connectivity and the Lottery Ticket Hypothesis", ICML 2020). Training then runs
  the remaining iterations from ``k``.
* ``RewindStrategy.LearningRate`` -- keep the trained weights: nothing is rewound but
  the training schedule. Retrained with the original schedule, this is learning-rate
  rewinding; with a short, low-rate schedule it is the fine-tuning of the
  magnitude-pruning baseline (Renda et al., "Comparing Rewinding and Fine-tuning in
  Neural Network Pruning", ICLR 2020, compare exactly these two).

The restart is the whole difference between these methods, so it is coded once, in
:meth:`RewindStrategy.restart_point`, and every pruner's loop reads it from there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Optional

from .. import validation
from ..model import Parameters

KINDS = ("init", "iteration", "lr")


@dataclass(frozen=True, repr=False)
class RewindStrategy:
    """One of ``RewindStrategy.Init``, ``RewindStrategy.Iteration(k)``, ``RewindStrategy.LearningRate``.

    Immutable, hashable and comparable; it pickles as its text (:meth:`parse` of ``str()``).

    Attributes
    ----------
    kind : {"init", "iteration", "lr"}
    iteration : int
        ``k`` of late rewinding (0 for the other kinds).

    Examples
    --------
    >>> RewindStrategy.Init.start_iteration, RewindStrategy.Iteration(100).start_iteration
    (0, 100)
    >>> RewindStrategy.Iteration(100), str(RewindStrategy.LearningRate)
    (RewindStrategy.Iteration(100), 'lr')
    """

    kind: str
    iteration: int = 0

    Init: ClassVar[RewindStrategy]  # rewind to the initialization (set below: the class must exist first)
    LearningRate: ClassVar[RewindStrategy]  # keep the trained weights, restart the schedule

    def __post_init__(self):
        validation.choice("kind", self.kind, KINDS)
        if self.kind == "iteration":
            object.__setattr__(self, "iteration", validation.integer("rewind_iteration", self.iteration, minimum=0))
        elif self.iteration != 0:
            raise validation.SettingError("iteration", f"0 for the {self.kind!r} strategy", self.iteration)

    @staticmethod
    def Iteration(k: int) -> "RewindStrategy":  # noqa: N802 - spelled like the other members
        """Late rewinding to the weights after ``k`` training iterations of the dense run."""
        return RewindStrategy("iteration", k)

    @staticmethod
    def parse(text: str) -> "RewindStrategy":
        """Read ``"init"``, ``"iteration:K"`` or ``"lr"`` (the command line's spelling, and ``str()``'s).

        >>> RewindStrategy.parse("iteration:500")
        RewindStrategy.Iteration(500)
        >>> RewindStrategy.parse(None)
        Traceback (most recent call last):
        ...
        lottery_np.validation.SettingError: rewind must be 'init', 'iteration:K' or 'lr', got None
        """
        if not isinstance(text, str):
            raise validation.SettingError("rewind", "'init', 'iteration:K' or 'lr'", text)
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
        """Iteration at which a pruned round's training resumes (``k`` for late rewinding, else 0)."""
        return self.iteration

    @property
    def keeps_trained_weights(self) -> bool:
        """True when a pruned round restarts from the previous round's trained weights."""
        return self.kind == "lr"

    @property
    def snapshot_iteration(self) -> Optional[int]:
        """The iteration of the dense run whose weights must be kept to rewind to (None: none is needed).

        Only late rewinding with ``k > 0`` needs one: the initialization is kept anyway.
        """
        return self.iteration if self.iteration else None

    def restart_point(self, initial: Parameters, snapshot: Optional[Parameters], trained: Parameters) -> Parameters:
        """The weights a pruned round restarts from; the round's mask then zeroes the pruned ones.

        Parameters
        ----------
        initial : Parameters
            The dense network's initialization.
        snapshot : Parameters or None
            The dense run's weights at :attr:`snapshot_iteration`.
        trained : Parameters
            The previous round's weights at the end of its training.
        """
        if self.keeps_trained_weights:
            return trained
        if self.snapshot_iteration is None:
            return initial
        assert snapshot is not None, "the dense round keeps the snapshot at snapshot_iteration"
        return snapshot

    def __str__(self) -> str:
        return f"iteration:{self.iteration}" if self.kind == "iteration" else self.kind

    def __repr__(self) -> str:
        names = {"init": "RewindStrategy.Init", "lr": "RewindStrategy.LearningRate"}
        return names.get(self.kind, f"RewindStrategy.Iteration({self.iteration})")

    def __reduce__(self):
        return RewindStrategy.parse, (str(self),)


RewindStrategy.Init = RewindStrategy("init")
RewindStrategy.LearningRate = RewindStrategy("lr")
