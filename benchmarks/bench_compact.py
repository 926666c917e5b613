"""What compaction buys at inference: a ~95 %-sparse ticket, compacted, against its sparse and dense forms.

Run as::

    python benchmarks/bench_compact.py [--dataset mnist] [--repeats 15]

1. A ticket is searched on the digits (64-300-100-10) or, with ``--dataset mnist``,
   on MNIST (LeNet-300-100, read from ``LOTTERY_NP_DATA``), pruning to 95 % sparsity;
   every round's ticket is trained again and compacted (:func:`lottery_np.export.compaction.compact`).
2. Printed per ticket: the units (inputs, hidden units) kept and removed in each layer.
3. Median seconds per prediction call (``predict``) at batch 1 and 1000 of three engines:
   ``compact dense`` (:class:`~lottery_np.export.compaction.CompactNetwork`), ``sparse ticket``
   (the trained :class:`~lottery_np.model.MLP` with its masks) and ``dense original``
   (the same weights without masks, as the unpruned network computes). Repeats are
   interleaved (one measurement of each engine, then the next round), so load from
   other processes hits all three alike.

``--quick`` runs a small search and few repeats in seconds; the tests use it.
"""
from __future__ import annotations

import argparse
import statistics
from functools import partial
from typing import Callable, Sequence

import numpy as np

from lottery_np.export import compact
from lottery_np.data import load_dataset
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner
from lottery_np.training import TrainingConfig, train

from timing import interleaved, per_call  # benchmarks/timing.py

SIZES = {"digits": (64, 300, 100, 10), "mnist": (784, 300, 100, 10)}


def trained_tickets(dataset: str, quick: bool) -> tuple[list[MLP], np.ndarray]:
    """Every round's ticket of a 95 %-sparsity search on ``dataset``, each trained again from its rewound
    weights (densest first), and the test inputs."""
    data = load_dataset(dataset, download=False)
    iterations = 60 if quick else 2_000
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.95).pruning_rounds(2 if quick else 8)
              .iterations(iterations).eval_every(iterations // 2).seed(0).build())
    pruner.find_ticket(MLP(SIZES[dataset], seed=0), data)
    models = []
    for ticket in pruner.tickets_[1:]:  # round 0 is the dense network
        model = ticket.to_model()
        train(model, data, TrainingConfig(iterations=iterations, eval_every=iterations // 2), seed=0)
        models.append(model)
    return models, data.X_test


def compaction_rows(models: Sequence[MLP], X_test: np.ndarray, repeats: int, quick: bool) -> list[dict]:
    """Per ticket: its density, units kept per layer, whether predictions agree, and seconds per
    ``predict`` at batch 1 and 1000 of the compact, sparse and dense forms (interleaved medians)."""
    rng = np.random.default_rng(0)
    batches = [(batch, X_test[rng.choice(len(X_test), size=batch)], calls)
               for batch, calls in ((1, 20 if quick else 200), (1000, 2 if quick else 10))]
    rows = []
    for model in models:
        small = compact(model)
        dense = MLP(model.layer_sizes)
        dense.set_parameters(model.get_parameters())
        engines = {"compact dense": small.predict, "sparse ticket": model.predict, "dense original": dense.predict}
        rows.append({
            "density": model.density, "layer_sizes": list(model.layer_sizes), "kept": list(small.compact_sizes),
            "predictions_identical": bool(np.array_equal(small.predict(X_test), model.predict(X_test))),
            "seconds": {batch: median_seconds(engines, X, repeats, calls) for batch, X, calls in batches},
        })
    return rows


def format_rows(rows: Sequence[dict]) -> list[str]:
    """The units kept per layer and the three engines' times, one line per ticket and batch."""
    names = ["inputs", *(f"hidden {l}" for l in range(1, len(rows[0]["layer_sizes"]) - 1)), "outputs"]
    lines = [f"{'density %':>9} {'kept/removed: ' + ', '.join(names):<44} {'same':>5}"
             f"{'batch':>6}{'compact s':>11}{'sparse s':>10}{'dense s':>10}{'compact vs dense':>18}"]
    for row in rows:
        units = ",".join(f"{k}/{t - k}" for k, t in zip(row["kept"], row["layer_sizes"]))
        for batch, seconds in row["seconds"].items():
            compact_s, sparse_s, dense_s = seconds.values()
            lines.append(f"{100 * row['density']:>9.2f} {units:<44} {str(row['predictions_identical']):>5}"
                         f"{batch:>6}{compact_s:>11.2e}{sparse_s:>10.2e}{dense_s:>10.2e}"
                         f"{dense_s / compact_s:>17.1f}x")
    return lines


def median_seconds(engines: dict[str, Callable], X: np.ndarray, repeats: int, calls: int) -> dict[str, float]:
    """Median over ``repeats`` interleaved rounds of the seconds per call of each engine on ``X``."""

    samples = interleaved({name: per_call(partial(predict, X), calls) for name, predict in engines.items()}, repeats)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command-line entry point; prints the table and returns its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SIZES), default="digits")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a small search and 3 repeats (seconds)")
    args = parser.parse_args(argv)
    models, X_test = trained_tickets(args.dataset, args.quick)
    rows = compaction_rows(models, X_test, 3 if args.quick else args.repeats, args.quick)
    print(f"{args.dataset}: {'-'.join(map(str, rows[0]['layer_sizes']))}, every round's ticket compacted "
          f"(kept/removed units; 'same': identical predictions on the {len(X_test)} test samples)")
    print("\n".join(format_rows(rows)))
    return rows


if __name__ == "__main__":
    main()
