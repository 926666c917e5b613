"""What compaction buys at inference: a ~95 %-sparse ticket, compacted, against its sparse and dense forms.

Run as::

    python benchmarks/bench_compact.py [--dataset mnist] [--repeats 15]

1. A ticket is searched on the digits (64-300-100-10) or, with ``--dataset mnist``,
   on MNIST (LeNet-300-100, read from ``LOTTERY_NP_DATA``), pruning to 95 % sparsity;
   its sparsest round is trained again and compacted (:func:`lottery_np.compact.compact`).
2. Printed per layer: the units (inputs, hidden units) kept and removed.
3. Median seconds per prediction call (``predict``) at batch 1 and 1000 of three engines:
   ``compact dense`` (:class:`~lottery_np.compact.CompactNetwork`), ``sparse ticket``
   (the trained :class:`~lottery_np.model.MLP` with its masks) and ``dense original``
   (the same weights without masks, as the unpruned network computes). Repeats are
   interleaved (one measurement of each engine, then the next round), so load from
   other processes hits all three alike.

``--quick`` runs a small search and few repeats in seconds; the tests use it.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Sequence

import numpy as np

from lottery_np.compact import CompactNetwork, compact
from lottery_np.data import load_dataset
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner
from lottery_np.training import TrainingConfig, train

SIZES = {"digits": (64, 300, 100, 10), "mnist": (784, 300, 100, 10)}


def trained_sparse_ticket(dataset: str, quick: bool) -> tuple[MLP, np.ndarray]:
    """The sparsest round of a 95 %-sparsity search on ``dataset``, trained again from its rewound weights,
    and the test inputs."""
    data = load_dataset(dataset, download=False)
    iterations = 60 if quick else 2_000
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.95).pruning_rounds(2 if quick else 8)
              .iterations(iterations).eval_every(iterations // 2).seed(0).build())
    pruner.find_ticket(MLP(SIZES[dataset], seed=0), data)
    model = pruner.tickets_[-1].to_model()
    train(model, data, TrainingConfig(iterations=iterations, eval_every=iterations // 2), seed=0)
    return model, data.X_test


def removal_table(model: MLP, small: CompactNetwork) -> str:
    """Units kept and removed in every layer but the output."""
    names = ["inputs", *(f"hidden {l}" for l in range(1, len(model.layer_sizes) - 1))]
    lines = [f"{'layer':<9} {'units kept':>10} {'removed':>8} {'of':>5}"]
    for name, total, kept in zip(names, model.layer_sizes, small.compact_sizes):
        lines.append(f"{name:<9} {kept:>10d} {total - kept:>8d} {total:>5d}")
    return "\n".join(lines)


def median_seconds(engines: dict[str, Callable], X: np.ndarray, repeats: int, calls: int) -> dict[str, float]:
    """Median over ``repeats`` interleaved rounds of the seconds per call of each engine on ``X``."""
    samples = {name: [] for name in engines}
    for _ in range(repeats):
        for name, predict in engines.items():
            start = time.perf_counter()
            for _ in range(calls):
                predict(X)
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SIZES), default="digits")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a small search and 3 repeats (seconds)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    model, X_test = trained_sparse_ticket(args.dataset, args.quick)
    small = compact(model)
    dense = MLP(model.layer_sizes)
    dense.set_parameters(model.get_parameters())
    print(f"{args.dataset}: {'-'.join(map(str, model.layer_sizes))} at density {model.density:.4f} "
          f"compacts to {'-'.join(map(str, small.compact_sizes))}")
    print(removal_table(model, small))
    agree = np.array_equal(small.predict(X_test), model.predict(X_test))
    print(f"predictions identical on the {len(X_test)} test samples: {agree}")

    engines = {"compact dense": small.predict, "sparse ticket": model.predict, "dense original": dense.predict}
    rng = np.random.default_rng(0)
    print(f"\n{'batch':>5} " + " ".join(f"{name + ' s':>16}" for name in engines) + f" {'speedup vs dense':>17}")
    for batch, calls in ((1, 20 if args.quick else 200), (1000, 2 if args.quick else 10)):
        X = X_test[rng.choice(len(X_test), size=batch)]
        seconds = median_seconds(engines, X, repeats, calls)
        print(f"{batch:>5d} " + " ".join(f"{s:>16.3e}" for s in seconds.values())
              + f" {seconds['dense original'] / seconds['compact dense']:>16.1f}x")


if __name__ == "__main__":
    main()
