"""What the benchmark runs: one frozen, picklable settings object shared by every job, whole when made.

Some settings follow from the data: a length in epochs becomes iterations, the
late-rewinding point and the fine-tuning default to fractions of those iterations,
and the network's input and output sizes are the data's. So the settings are made
in one step once the data is known, by :meth:`BenchmarkSettings.for_data`, from
option values such as the presets ``FULL`` and ``QUICK``::

    settings = BenchmarkSettings.for_data(len(data.X_train), data.n_features, data.n_classes, **QUICK)

Defaults follow Frankle & Carbin (2019) for LeNet-300-100 on MNIST (Adam at 1.2e-3,
batch 60, layerwise pruning with the output layer at half the hidden layers' rate),
with shorter rounds (10 epochs, 5 rounds to 95 % sparsity) so that three seeds fit in
about half an hour on two cores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from types import MappingProxyType
from typing import Optional

from .. import schema, validation
from ..data import LOADERS
from ..pruning import PRUNED_TREATMENTS, TREATMENTS, LotteryTicketPruner, MagnitudePruner, RewindStrategy, layerwise_schedule
from ..training import TrainingConfig, check_start_iteration

METHODS = ("dense", "lottery_ticket", "late_rewind", "magnitude", "random_reinit", "random_mask")
"""The benchmark's default methods, in the order tables and plots list them."""

FROM_START = ("random", "erk", "snip", "grasp", "synflow", "set", "rigl")
"""Methods that make the network sparse before its first step (:mod:`.from_start`), run with ``--methods``."""

ABLATIONS = ("shuffled", "reinit", "inverted")
"""The ablations of Frankle, Dziugaite, Roy & Carbin (ICLR 2021) applied to a mask chosen at initialization:
the kept positions shuffled within each layer, the kept weights drawn afresh, or the scores' order reversed."""

ABLATED = tuple(f"{method}_{ablation}" for method in ("snip", "grasp", "synflow") for ablation in ABLATIONS
                if (method, ablation) != ("synflow", "inverted"))
"""The ablated methods (SynFlow's iterative pruning has no single ranking to reverse)."""

CRITERION_METHODS = tuple(f"imp_{criterion}" for criterion in schema.CRITERIA if criterion != "large_final")
"""IMP by each other mask criterion of Zhou et al. (2019) (``lottery_ticket`` is ``large_final``'s);
``imp_small_final`` is also IMP's inverted ablation (Frankle et al., 2021)."""

TREATED = (tuple(f"ticket_{treatment}" for treatment in TREATMENTS if treatment != "rewind")
           + tuple(f"ticket_pruned_{treatment}" for treatment in PRUNED_TREATMENTS if treatment != "zero")
           + ("ticket_all_zero_shrunk",))
"""The ticket's mask with its kept weights restarted otherwise than rewound (Zhou et al.'s mask-1 actions), with
its pruned weights held otherwise than at zero (their mask-0 actions), and with their zeroing rule applied to
every weight, kept ones too (their second mask-0 variant)."""

SUPERMASKS = ("supermask_top_k", "supermask_bernoulli")
"""Masks learned over the frozen initialization: top-k (edge-popup) at each density, Bernoulli (Zhou et al.)."""

ANATOMY = CRITERION_METHODS + TREATED + SUPERMASKS
"""The methods of the anatomy of a ticket (:mod:`.anatomy`), run with ``--methods``."""

ALL_METHODS = METHODS + FROM_START + ABLATED + ANATOMY
"""Every method a benchmark can run, in the order tables and plots list them."""

REINIT_SEED_OFFSET = 1_000_003
"""Random reinitialization draws from ``seed + REINIT_SEED_OFFSET``: the seed itself would redraw the original init."""

HIDDEN_LAYERS = (300, 100)
"""LeNet-300-100's hidden layers; the input and output sizes follow the dataset (784 or 64 in, 10 out)."""

LATE_REWIND_FRACTION = 0.01
"""Default late-rewinding point, as a fraction of a round's iterations (Frankle et al. 2020 rewind to ~0.1-7 %)."""

FINE_TUNE_FRACTION = 0.5
"""Default fine-tuning of magnitude pruning, as a fraction of a training (at a tenth of the learning rate)."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """Settings of one benchmark run, every one final; make them with :meth:`for_data`.

    Validated on construction: a bad value raises
    :class:`~lottery_np.validation.SettingError` naming the setting.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist", "digits"}
    seeds : tuple of int
        One run of every method per seed; the seed draws the initialization and the data order.
    target_sparsity : float
        Fraction of weights removed after the last of ``rounds`` IMP rounds, in (0, 1).
    rounds : int
        IMP pruning rounds; magnitude pruning and the controls run at each round's density.
    training : TrainingConfig
        How every network trains, its length counted in iterations.
    late_rewind_iteration : int
        ``k`` of ``RewindStrategy.Iteration(k)``, below ``training.iterations``.
    fine_tune_iterations : int
        Magnitude pruning's fine-tuning after the one-shot prune.
    layer_sizes : tuple of int
        ``(n_features, 300, 100, n_classes)``.
    subset : (n_train, n_val, n_test), optional
        Keep only the first samples of each split (quick runs); None keeps them all.
    data_dir : str, optional
        Folder of the MNIST files; None looks in ``$LOTTERY_NP_DATA``, then the user cache.
    """

    dataset: str
    seeds: tuple[int, ...]
    target_sparsity: float
    rounds: int
    training: TrainingConfig
    late_rewind_iteration: int
    fine_tune_iterations: int
    layer_sizes: tuple[int, ...]
    subset: Optional[tuple[int, int, int]] = None
    data_dir: Optional[str] = None

    def __post_init__(self):
        validation.choice("dataset", self.dataset, tuple(LOADERS))
        seeds = validation.distinct_integers("seeds", self.seeds)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "target_sparsity", validation.real("target_sparsity", self.target_sparsity, 0.0, 1.0,
                                                                    low_open=True, high_open=True))
        object.__setattr__(self, "rounds", validation.integer("rounds", self.rounds, minimum=1))
        if not isinstance(self.training, TrainingConfig) or self.training.iterations is None:
            raise validation.SettingError("training", "a TrainingConfig counted in iterations "
                                                      "(for_data turns epochs into iterations)", self.training)
        check_start_iteration(self.late_rewind_iteration, self.training.iterations, "late_rewind_iteration")
        object.__setattr__(self, "late_rewind_iteration", int(self.late_rewind_iteration))
        object.__setattr__(self, "fine_tune_iterations", validation.integer(
            "fine_tune_iterations", self.fine_tune_iterations, minimum=1))
        object.__setattr__(self, "layer_sizes", tuple(validation.integer(f"layer_sizes[{i}]", size, minimum=1)
                                                      for i, size in enumerate(self.layer_sizes)))
        if self.subset is not None:  # its sizes are the data's to check (Dataset.subset)
            object.__setattr__(self, "subset", tuple(self.subset))

    @classmethod
    def for_data(cls, n_train: int, n_features: int, n_classes: int, *, dataset: str, seeds: tuple[int, ...],
                 target_sparsity: float, rounds: int, training: TrainingConfig,
                 late_rewind_iteration: Optional[int] = None, fine_tune_iterations: Optional[int] = None,
                 subset: Optional[tuple[int, int, int]] = None, data_dir: Optional[str] = None) -> "BenchmarkSettings":
        """The settings of these options for data of these sizes.

        Parameters
        ----------
        n_train, n_features, n_classes : int
            Training samples, input size and classes of the data (after ``subset``).
        training : TrainingConfig
            May count its length in epochs: they become iterations of ``n_train`` samples.
        late_rewind_iteration, fine_tune_iterations : int, optional
            Default: 1 % of the iterations (at least 1), and half of them.
        dataset, seeds, target_sparsity, rounds, subset, data_dir
            As the settings hold them (see the class).

        Raises
        ------
        SettingError
            Naming the first bad option, e.g. a ``late_rewind_iteration`` not below the iterations.
        """
        iterations = training.total_iterations(n_train)
        if late_rewind_iteration is None:
            late_rewind_iteration = max(1, round(LATE_REWIND_FRACTION * iterations))
        if fine_tune_iterations is None:
            fine_tune_iterations = max(1, round(FINE_TUNE_FRACTION * iterations))
        return cls(dataset=dataset, seeds=seeds, target_sparsity=target_sparsity, rounds=rounds,
                   training=replace(training, iterations=iterations, epochs=None),
                   late_rewind_iteration=late_rewind_iteration, fine_tune_iterations=fine_tune_iterations,
                   layer_sizes=(n_features, *HIDDEN_LAYERS, n_classes), subset=subset, data_dir=data_dir)

    def lottery_pruner(self, seed: int, rewind: RewindStrategy, criterion: str = "large_final") -> LotteryTicketPruner:
        """IMP to ``target_sparsity`` in ``rounds`` rounds, rewinding with ``rewind``, pruning by ``criterion``."""
        builder = LotteryTicketPruner.builder().target_sparsity(self.target_sparsity).pruning_rounds(self.rounds)
        return builder.training(self.training).seed(seed).rewind_strategy(rewind).criterion(criterion).build()

    def magnitude_pruner(self, seed: int, density: float) -> MagnitudePruner:
        """One-shot magnitude pruning of a trained network down to ``density``, then fine-tuning."""
        builder = MagnitudePruner.builder().pretrained().pruning_rounds(1).target_sparsity(1.0 - density)
        return builder.training(self.training).seed(seed).fine_tune_iterations(self.fine_tune_iterations).build()

    def layer_counts(self):
        """Weights remaining per layer after each IMP round, shape ``(rounds + 1, n_layers)``: the pruner's schedule."""
        options = self.lottery_pruner(self.seeds[0], RewindStrategy.Init).options
        sizes = [fan_in * fan_out for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])]
        return layerwise_schedule(sizes, options.layer_rate_factors(len(sizes)), self.target_sparsity, self.rounds)

    def densities(self) -> list[float]:
        """Density of every IMP round (round 0 = 1.0), from the same schedule the pruner follows."""
        counts = self.layer_counts()
        total = int(counts[0].sum())
        return [float(c) / total for c in counts.sum(axis=1)]

    def to_dict(self) -> dict:
        """Plain values for JSON; ``training`` as a dict of its fields."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}


QUICK = MappingProxyType({"dataset": "digits", "seeds": (0, 1), "target_sparsity": 0.8, "rounds": 2,
                          "training": TrainingConfig(iterations=200, eval_every=20)})
"""A smoke run on the 8x8 digits (a 64-300-100-10 network) that takes seconds; the tests run it.

Like ``FULL``, the keyword arguments of :meth:`BenchmarkSettings.for_data` but the data's sizes."""

DEMO = MappingProxyType({"dataset": "mnist", "seeds": (0, 1, 2), "target_sparsity": 0.95, "rounds": 4,
                         "training": TrainingConfig(iterations=2000, eval_every=100)})
"""The smallest run we found that shows a ticket's three signatures beyond seed-to-seed noise, in about a
minute on two cores: MNIST's first 10,000 training images (:data:`DEMO_SUBSET`), 2,000 iterations per
network, 4 rounds to 5 %, 3 seeds, IMP and its controls (:data:`DEMO_METHODS`). The 8x8 digits do not show
them: there the ticket and both controls stay within a test image or two of each other."""

DEMO_SUBSET = (10_000, 5_000, 10_000)
"""The demo's train, validation and test images."""

DEMO_METHODS = ("dense", "lottery_ticket", "random_reinit", "random_mask")
"""The demo's methods: the ticket, the dense network it is measured against, and its two controls."""

FULL = MappingProxyType({"dataset": "mnist", "seeds": (0, 1, 2), "target_sparsity": 0.95, "rounds": 5,
                         "training": TrainingConfig(epochs=10.0, eval_every=200)})
"""The MNIST benchmark of ``benchmarks/lth_vs_magnitude.py``."""
