"""The magnitude-pruning baseline that winning tickets are compared with.

"Existing" magnitude pruning (Han et al., 2015) trains the dense network, prunes
its smallest weights, and *fine-tunes* the trained survivors -- nothing is rewound.
One round is one-shot pruning; several rounds prune and fine-tune iteratively.

It runs the lottery ticket search's loop with the restart of learning-rate rewinding,
``RewindStrategy.LearningRate`` (from the trained weights), and a fine-tuning schedule
in place of the original one: a tenth of the training learning rate by default, as
fine-tuning usually continues at a lowered rate (Renda et al., 2020, compare the two).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Optional

from ..model import MLP, Parameters
from .loop import as_training_data, run_iterative_pruning
from .options import PrunerBuilder, PruningOptions
from .record import RoundRecord
from .rewind import RewindStrategy


@dataclass
class PrunedNetwork:
    """The outcome of magnitude pruning.

    Attributes
    ----------
    model : MLP
        The pruned, fine-tuned network of the last round.
    history : list of RoundRecord
        Round 0 is the dense network; round ``r`` the fine-tuned network after ``r`` prunings.
    """

    model: MLP
    history: list

    @property
    def record(self) -> RoundRecord:
        """The last round's measurements."""
        return self.history[-1]


class MagnitudePruner:
    """Prune a trained network by magnitude and fine-tune it; build one with :meth:`builder`."""

    def __init__(self, options: PruningOptions, fine_tune: dict, pretrained: bool):
        self.options = options
        self.fine_tune_config = replace(options.training, **fine_tune)
        self.pretrained = pretrained

    @staticmethod
    def builder() -> "MagnitudePrunerBuilder":
        """Start configuring a pruner."""
        return MagnitudePrunerBuilder()

    def prune(
        self,
        model: MLP,
        train_data,
        *,
        test_data: Optional[tuple] = None,
        checkpoint: Optional[str | os.PathLike] = None,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = False,
    ) -> PrunedNetwork:
        """Train (unless built ``pretrained``), prune and fine-tune a copy of ``model``.

        Takes the same data, checkpoint and progress arguments as :meth:`LotteryTicketPruner.find_ticket`.
        """
        state = run_iterative_pruning(model, as_training_data(model, train_data, self.options, test_data), self.options,
                                      RewindStrategy.LearningRate, retrain=self.fine_tune_config,
                                      train_dense=not self.pretrained, checkpoint=checkpoint, resume=resume,
                                      overwrite=overwrite, progress=progress)
        pruned = MLP(model.layer_sizes, dtype=model.dtype)
        last = state.rounds[-1]
        pruned.set_masks(last.masks)
        pruned.set_parameters(Parameters(last.trained.weights, last.trained.biases))
        return PrunedNetwork(model=pruned, history=state.history)


class MagnitudePrunerBuilder(PrunerBuilder):
    """Configures a :class:`MagnitudePruner`; every setter returns the builder."""

    def __init__(self):
        super().__init__()
        self._fine_tune: dict = {}
        self._pretrained = False

    def fine_tune_iterations(self, iterations: int) -> "MagnitudePrunerBuilder":
        """Fine-tuning iterations after each pruning (default: as many as the dense training)."""
        self._fine_tune.pop("epochs", None)
        self._fine_tune["iterations"] = iterations
        return self

    def fine_tune_epochs(self, epochs: float) -> "MagnitudePrunerBuilder":
        """Fine-tuning epochs after each pruning."""
        self._fine_tune.pop("iterations", None)
        self._fine_tune["epochs"] = epochs
        return self

    def fine_tune_learning_rate(self, learning_rate: float) -> "MagnitudePrunerBuilder":
        """Fine-tuning step size (default: a tenth of the training learning rate)."""
        self._fine_tune["learning_rate"] = learning_rate
        return self

    def pretrained(self, pretrained: bool = True) -> "MagnitudePrunerBuilder":
        """The model given to :meth:`MagnitudePruner.prune` is already trained: skip the dense training."""
        self._pretrained = bool(pretrained)
        return self

    def build(self) -> MagnitudePruner:
        """Validate the settings and return the pruner.

        Raises
        ------
        ValueError
            Naming the first bad setting and its value.
        """
        options = self._build_options()
        fine_tune = {"learning_rate": options.training.learning_rate / 10, **self._fine_tune}
        if "epochs" in fine_tune:
            fine_tune["iterations"] = None
        elif "iterations" in fine_tune:
            fine_tune["epochs"] = None
        replace(options.training, **fine_tune)  # raises ValueError naming a bad fine-tuning setting
        return MagnitudePruner(options, fine_tune, self._pretrained)
