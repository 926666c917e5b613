"""Finding winning tickets by iterative magnitude pruning with rewinding (IMP).

Frankle & Carbin (2019), Section 2: train the network, prune ``p %`` of its
smallest-magnitude surviving weights, reset the survivors to their initial values
and repeat. The sparsest subnetwork that still trains to the dense network's
accuracy is a *winning ticket*::

    pruner = (LotteryTicketPruner.builder()
              .target_sparsity(0.9)
              .pruning_rounds(10)
              .rewind_strategy(RewindStrategy.Init)
              .build())
    ticket = pruner.find_ticket(model, train_data)
"""
from __future__ import annotations

import os
from typing import Optional

from .. import schema, validation
from ..model import MLP
from ..failure import learned
from ..training import check_start_iteration
from .loop import as_training_data, run_iterative_pruning
from .options import PrunerBuilder, PruningOptions, add_setters
from .rewind import RewindStrategy
from .ticket import WinningTicket


DEFAULT_ACCURACY_TOLERANCE = schema.SETTINGS["accuracy_tolerance"].default
"""How far (a fraction: one percentage point) below the dense validation accuracy a ticket may fall."""


class LotteryTicketPruner:
    """Iterative magnitude pruning with rewinding; build one with :meth:`builder`.

    ``LotteryTicketPruner.builder()`` returns a :class:`LotteryTicketPrunerBuilder`, which has a
    setter for every setting (each returns the builder, so calls chain) and ``build()``, which
    validates them all and returns the pruner; :meth:`~PrunerBuilder.configure` sets any of them by
    name. The setters, each with its default:

    {setters}

    Attributes
    ----------
    options : PruningOptions
        The validated settings (``options.training``: the training of every round).
    rewind : RewindStrategy
        Where the surviving weights restart after each round.
    accuracy_tolerance : float
        How far below the dense round's validation accuracy the selected ticket may fall.
    tickets_ : list of WinningTicket
        Set by :meth:`find_ticket`: the candidate of every round (index = round, 0 = dense),
        so that another than the selected one can be picked.

    Examples
    --------
    >>> pruner = LotteryTicketPruner.builder().target_sparsity(0.8).pruning_rounds(2).epochs(1).build()
    >>> pruner.options.target_sparsity, pruner.rewind
    (0.8, RewindStrategy.Init)
    """

    def __init__(self, options: PruningOptions, rewind: RewindStrategy, accuracy_tolerance: float):
        self.options = options
        self.rewind = rewind
        self.accuracy_tolerance = accuracy_tolerance
        self.tickets_: list[WinningTicket] = []

    @staticmethod
    def builder() -> "LotteryTicketPrunerBuilder":
        """Start configuring a pruner: a :class:`LotteryTicketPrunerBuilder` holding every default.

        Returns
        -------
        LotteryTicketPrunerBuilder
            ``help(LotteryTicketPrunerBuilder)`` lists its setters, each with its default.

        Examples
        --------
        >>> LotteryTicketPruner.builder().build().options.pruning_rounds  # the defaults alone
        10
        """
        return LotteryTicketPrunerBuilder()

    def find_ticket(
        self,
        model: MLP,
        train_data,
        *,
        test_data: Optional[tuple] = None,
        checkpoint: Optional[str | os.PathLike] = None,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = False,
    ) -> WinningTicket:
        """Search for a winning ticket of ``model``; the caller's model is never modified.

        The ticket returned is the sparsest round whose validation accuracy at its
        early-stopping iteration (minimum validation loss) is at least the dense
        round's minus ``accuracy_tolerance`` (default 0.01, one percentage point)
        and beats chance (:func:`lottery_np.failure.learned`). Selection uses
        validation data only, so the test accuracy reported for the ticket is not
        tuned on. If no pruned round qualifies, the dense round 0 is returned.

        Parameters
        ----------
        model : MLP
            The network at its initialization.
        train_data : dataset or (X, y)
            A dataset with ``X_train, y_train, X_val, y_val`` (and ``X_test, y_test``),
            or a pair whose last 5,000 samples become the validation set.
        test_data : (X, y), optional
            Overrides the dataset's test split; accuracy on it is only reported.
        checkpoint : path, optional
            Saved atomically after every round.
        resume : bool
            Continue from ``checkpoint`` if it exists; the result equals an uninterrupted run.
        overwrite : bool
            Start afresh over a ``checkpoint`` that another run (other settings) wrote;
            without it such a file is refused.
        progress : bool
            Show progress bars.

        Raises
        ------
        DidNotLearnError
            If the dense network trains to no better than chance.
        TrainingDivergedError
            If a round's training diverges.
        """
        data = as_training_data(model, train_data, self.options, test_data)
        state = run_iterative_pruning(model, data, self.options, self.rewind, checkpoint=checkpoint, resume=resume,
                                      overwrite=overwrite, progress=progress)
        history = state.history
        self.tickets_ = [
            WinningTicket(
                layer_sizes=model.layer_sizes, masks=finished.masks, weights=finished.start.weights,
                biases=finished.start.biases, initial=state.initial, pruning_round=r, rewind=str(self.rewind),
                history=history,
            )
            for r, finished in enumerate(state.rounds)
        ]
        beat_chance = [learned(record.early_stop_val_accuracy, data.y_val) for record in history]
        return self.tickets_[self.select_round(history, beat_chance)]

    def select_round(self, history, beat_chance: Optional[list] = None) -> int:
        """The sparsest round within ``accuracy_tolerance`` of the dense round (see :meth:`find_ticket`).

        ``beat_chance[r]`` says whether round ``r`` learned anything (:func:`lottery_np.failure.learned`); a round
        that did not is never selected. None: every round did.
        """
        beat_chance = beat_chance if beat_chance is not None else [True] * len(history)
        baseline = history[0].early_stop_val_accuracy
        qualifying = [r.pruning_round for r, ok in zip(history, beat_chance)
                      if ok and r.early_stop_val_accuracy >= baseline - self.accuracy_tolerance]
        return min(qualifying, key=lambda r: (history[r].density, r))


class LotteryTicketPrunerBuilder(PrunerBuilder):
    """Configures a :class:`LotteryTicketPruner`; every setter returns the builder (see :class:`PrunerBuilder`).

    Examples
    --------
    >>> builder = LotteryTicketPruner.builder().pruning_rate(0.2).pruning_rounds(3)
    >>> builder.rewind_strategy(RewindStrategy.Iteration(100)).epochs(2).build().rewind
    RewindStrategy.Iteration(100)
    """

    SETTINGS = PrunerBuilder.SETTINGS + ("accuracy_tolerance",)

    def __init__(self):
        super().__init__()
        self._rewind = RewindStrategy.Init

    def rewind_strategy(self, strategy: RewindStrategy) -> "LotteryTicketPrunerBuilder":
        """``RewindStrategy.Init`` (default), ``RewindStrategy.Iteration(k)`` or ``RewindStrategy.LearningRate``."""
        self._rewind = strategy
        return self

    def build(self) -> LotteryTicketPruner:
        """Validate the settings and return the pruner.

        Raises
        ------
        ValueError
            Naming the first bad setting and its value.
        """
        options = self._build_options()
        if not isinstance(self._rewind, RewindStrategy):
            raise validation.SettingError("rewind_strategy", "a RewindStrategy", self._rewind)
        if options.training.iterations is not None:  # else known only with the data, checked by the loop
            check_start_iteration(self._rewind.start_iteration, options.training.iterations, "rewind_iteration")
        tolerance = self._values.get("accuracy_tolerance", DEFAULT_ACCURACY_TOLERANCE)
        tolerance = schema.check("accuracy_tolerance", tolerance)
        return LotteryTicketPruner(options, self._rewind, tolerance)


add_setters(LotteryTicketPrunerBuilder)


def _setter_lines(builder: type) -> str:
    """One line per setter of ``builder``: its name and its docstring's first line, which states the default."""
    names = list(builder.SETTINGS) + ["rewind_strategy", "validation_data"]
    calls = {"optimizer": "(name, learning_rate=None)", "validation_data": "(X, y)"}
    lines = [f"* ``{name}`` {calls.get(name, '(value)')} -- {getattr(builder, name).__doc__.strip().splitlines()[0]}"
             for name in names]
    return "\n    ".join(lines)


LotteryTicketPruner.__doc__ = LotteryTicketPruner.__doc__.replace("{setters}", _setter_lines(LotteryTicketPrunerBuilder))
