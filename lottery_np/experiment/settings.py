"""What the benchmark runs: one frozen, picklable settings object shared by every job.

Defaults follow Frankle & Carbin (2019) for LeNet-300-100 on MNIST (Adam at 1.2e-3,
batch 60, layerwise pruning with the output layer at half the hidden layers' rate),
with shorter rounds (10 epochs, 5 rounds to 95 % sparsity) so that three seeds fit in
about half an hour on two cores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Optional

from .. import validation
from ..pruning import LotteryTicketPruner, MagnitudePruner, RewindStrategy, layerwise_schedule
from ..training import TrainingConfig, check_start_iteration

METHODS = ("dense", "lottery_ticket", "late_rewind", "magnitude", "random_reinit", "random_mask")
"""Every method of the benchmark, in the order tables and plots list them."""

HIDDEN_LAYERS = (300, 100)
"""LeNet-300-100's hidden layers; the input and output sizes follow the dataset (784 or 64 in, 10 out)."""

LATE_REWIND_FRACTION = 0.01
"""Default late-rewinding point, as a fraction of a round's iterations (Frankle et al. 2020 rewind to ~0.1-7 %)."""

FINE_TUNE_FRACTION = 0.5
"""Default fine-tuning of magnitude pruning, as a fraction of a training (at a tenth of the learning rate)."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """Settings of one benchmark run; :meth:`resolve` fills the ones that depend on the data.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist", "digits"}
    seeds : tuple of int
        One run of every method per seed; the seed draws the initialization and the data order.
    target_sparsity : float
        Fraction of weights removed after the last of ``rounds`` IMP rounds.
    rounds : int
        IMP pruning rounds; magnitude pruning and the controls run at each round's density.
    epochs, iterations : float or int, optional
        Training length of every network: exactly one of them (default 10 epochs); see
        :meth:`with_length` to change it.
    eval_every : int
        Iterations between evaluations (the resolution of the early-stopping iteration).
    late_rewind_iteration : int, optional
        ``k`` of ``RewindStrategy.Iteration(k)``; default 1 % of the iterations.
    fine_tune_iterations : int, optional
        Magnitude pruning's fine-tuning after the one-shot prune; default half a training.
    subset : (n_train, n_val, n_test), optional
        Keep only the first samples of each split (quick runs).
    data_dir : str, optional
        Folder of the MNIST files (else ``$LOTTERY_NP_DATA`` or the user cache).
    layer_sizes : tuple of int, optional
        Filled by :meth:`resolve`: ``(n_features, 300, 100, n_classes)``.
    """

    dataset: str = "mnist"
    seeds: tuple = (0, 1, 2)
    target_sparsity: float = 0.95
    rounds: int = 5
    epochs: Optional[float] = 10.0
    iterations: Optional[int] = None
    eval_every: int = 200
    late_rewind_iteration: Optional[int] = None
    fine_tune_iterations: Optional[int] = None
    subset: Optional[tuple] = None
    data_dir: Optional[str] = None
    layer_sizes: Optional[tuple] = None

    def __post_init__(self):
        seeds = tuple(validation.integer(f"seeds[{i}]", seed, minimum=0) for i, seed in enumerate(self.seeds))
        if not seeds or len(set(seeds)) != len(seeds):
            raise validation.SettingError("seeds", "distinct integers, at least one", list(seeds))
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "rounds", validation.integer("rounds", self.rounds, minimum=1))
        object.__setattr__(self, "target_sparsity", validation.real("target_sparsity", self.target_sparsity, 0.0, 1.0,
                                                                    low_open=True, high_open=True))
        object.__setattr__(self, "late_rewind_iteration", validation.optional(
            validation.integer, "late_rewind_iteration", self.late_rewind_iteration, minimum=0))
        object.__setattr__(self, "fine_tune_iterations", validation.optional(
            validation.integer, "fine_tune_iterations", self.fine_tune_iterations, minimum=1))
        self.training()  # raises a SettingError naming a bad epochs/iterations/eval_every

    def with_length(self, epochs: Optional[float] = None, iterations: Optional[int] = None) -> "BenchmarkSettings":
        """These settings trained for ``epochs`` or for ``iterations`` instead: the one given replaces both.

        A preset counts its length one way (``QUICK`` in iterations, ``FULL`` in epochs);
        ``dataclasses.replace(FULL, iterations=300)`` would keep ``FULL``'s epochs too
        and be refused, so a new length goes through here.

        Raises
        ------
        ValueError
            If both or neither are given, or the one given is not a valid length.
        """
        return replace(self, epochs=epochs, iterations=iterations)

    def training(self) -> TrainingConfig:
        """How every network trains (the paper's Adam, learning rate and batch size)."""
        return TrainingConfig(iterations=self.iterations, epochs=self.epochs, eval_every=self.eval_every)

    def resolve(self, n_train: int, n_features: int, n_classes: int) -> "BenchmarkSettings":
        """These settings with the data-dependent defaults filled in: what the jobs receive.

        Epochs become iterations, the late-rewinding point defaults to 1 % of them, the
        fine-tuning to half of them, and the layer sizes become ``(n_features, 300, 100, n_classes)``.

        Raises
        ------
        ValueError
            If ``late_rewind_iteration`` is not below the number of iterations.
        """
        iterations = self.training().total_iterations(n_train)
        late = self.late_rewind_iteration
        if late is None:
            late = max(1, round(LATE_REWIND_FRACTION * iterations))
        check_start_iteration(late, iterations, "late_rewind_iteration")
        return replace(self, iterations=iterations, epochs=None, late_rewind_iteration=late,
                       fine_tune_iterations=self.fine_tune_iterations or max(1, round(FINE_TUNE_FRACTION * iterations)),
                       layer_sizes=(n_features, *HIDDEN_LAYERS, n_classes))

    def lottery_pruner(self, seed: int, rewind: RewindStrategy) -> LotteryTicketPruner:
        """IMP to ``target_sparsity`` in ``rounds`` rounds, rewinding with ``rewind``."""
        return (LotteryTicketPruner.builder().target_sparsity(self.target_sparsity).pruning_rounds(self.rounds)
                .iterations(self.iterations).eval_every(self.eval_every).seed(seed)
                .rewind_strategy(rewind).build())

    def magnitude_pruner(self, seed: int, density: float) -> MagnitudePruner:
        """One-shot magnitude pruning of a trained network down to ``density``, then fine-tuning."""
        return (MagnitudePruner.builder().pretrained().pruning_rounds(1).target_sparsity(1.0 - density)
                .iterations(self.iterations).fine_tune_iterations(self.fine_tune_iterations)
                .eval_every(self.eval_every).seed(seed).build())

    def densities(self) -> list[float]:
        """Density of every IMP round (round 0 = 1.0), from the same schedule the pruner follows."""
        options = self.lottery_pruner(self.seeds[0], RewindStrategy.Init).options
        sizes = [fan_in * fan_out for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])]
        counts = layerwise_schedule(sizes, options.layer_rate_factors(len(sizes)), self.target_sparsity, self.rounds)
        return [float(c) / sum(sizes) for c in counts.sum(axis=1)]

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


QUICK = BenchmarkSettings(dataset="digits", seeds=(0, 1), target_sparsity=0.8, rounds=2, epochs=None,
                          iterations=200, eval_every=20)
"""A smoke run on the 8x8 digits (a 64-300-100-10 network) that takes seconds; the tests run it."""

FULL = BenchmarkSettings()
"""The MNIST benchmark of ``benchmarks/lth_vs_magnitude.py``."""
