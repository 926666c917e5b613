"""The engine benchmark's timings of whole work: training rounds, inference, and training under load.

Imported by ``bench_engine.py``, which prints and saves these tables next to its own.

* **Whole rounds** under the paper's protocol: LeNet-300-100, batch 60, Adam,
  evaluation of the validation and test sets every 100 iterations, timed as
  :func:`lottery_np.training.train` runs them, at the Pm of the paper's Figure 3
  and at 10 % and 2 %. A round of the paper has 50,000 iterations; its time is
  ``iterations`` of this round scaled by 50,000 / ``iterations`` (every
  iteration and evaluation costs the same throughout a round).
* **Inference**: one evaluation, the 5,000 validation and 10,000 test images
  (:meth:`MLP.evaluate` on the :class:`~lottery_np.engine.kernels.SampleBlocks` the
  training loop makes once).
* **Under load**: a short round, quiet and then with ``hogs`` other processes
  spinning on the CPU (``while True: pass``), alternately; the slowdown is
  loaded / quiet, per number of threads.

Every table interleaves its cases repeat by repeat and reports medians, so that
the machine's drift hits all cases alike.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Sequence

import numpy as np

from lottery_np.engine import threads
from lottery_np.config import TrainingConfig
from lottery_np.data import Dataset
from lottery_np.engine.kernels import SampleBlocks
from lottery_np.model import MLP
from lottery_np.training import train

from timing import Runner, interleaved, masks_at_density  # benchmarks/timing.py

PAPER_DENSITIES = (1.0, 0.513, 0.211, 0.1, 0.07, 0.036, 0.02, 0.019)
"""Pm of the paper's Figure 3 (100, 51.3, 21.1, 7.0, 3.6, 1.9 %) and the goals' 10 % and 2 %."""
PAPER_ROUND_ITERATIONS = 50_000
HOG = "while True: pass"


def masked_model(layer_sizes: Sequence[int], density: float, seed: int = 0) -> MLP:
    """LeNet-shaped network with random masks keeping ``density`` of each layer's weights (at least one)."""
    model = MLP(layer_sizes, seed=seed)
    if density < 1:
        shapes = [w.shape for w in model.weights]
        model.set_masks(masks_at_density(shapes, density, np.random.default_rng(seed)))
    return model


def round_runner(data: Dataset, layer_sizes: Sequence[int], density: float, iterations: int,
                 eval_every: int) -> Runner:
    """Seconds of one ``train()`` round of ``iterations`` from the same initialization, every call."""
    model = masked_model(layer_sizes, density)
    config = TrainingConfig(iterations=iterations, eval_every=eval_every)

    def run() -> float:
        start = time.perf_counter()
        train(model.copy(), data, config)
        return time.perf_counter() - start

    return run


def whole_rounds(data: Dataset, layer_sizes: Sequence[int], densities: Sequence[float], iterations: int,
                 eval_every: int, repeats: int) -> list[dict]:
    """Median seconds per round at each density, and dense / sparse, with the threads now in force."""
    runners = {d: round_runner(data, layer_sizes, d, iterations, eval_every) for d in densities}
    for run in runners.values():
        run()  # compiles, warms the caches
    samples = interleaved(runners, repeats)
    dense = statistics.median(samples[max(densities)])
    rows = []
    for density in densities:
        seconds = statistics.median(samples[density])
        rows.append({"density": density, "seconds": seconds, "speedup": dense / seconds,
                     "paper_round_seconds": seconds * PAPER_ROUND_ITERATIONS / iterations, "samples": samples[density]})
    return rows


def inference(data: Dataset, layer_sizes: Sequence[int], densities: Sequence[float], repeats: int) -> list[dict]:
    """Median milliseconds of one evaluation of the validation and test sets, and dense / sparse."""
    sets = [(SampleBlocks(data.X_val), data.y_val), (SampleBlocks(data.X_test), data.y_test)]
    models = {d: masked_model(layer_sizes, d) for d in densities}

    def evaluate(model: MLP) -> float:
        start = time.perf_counter()
        for X, y in sets:
            model.evaluate(X, y)
        return time.perf_counter() - start

    for model in models.values():
        evaluate(model)
    samples = interleaved({d: partial(evaluate, model) for d, model in models.items()}, repeats)
    dense = statistics.median(samples[max(densities)])
    return [{"density": d, "ms": 1e3 * statistics.median(s), "speedup": dense / statistics.median(s),
             "n_images": sum(len(y) for _, y in sets)} for d, s in samples.items()]


def under_load(data: Dataset, layer_sizes: Sequence[int], densities: Sequence[float], iterations: int,
               eval_every: int, repeats: int, thread_counts: Sequence, hogs: int = 2) -> list[dict]:
    """Seconds of a short round quiet and with ``hogs`` spinning processes, per density and thread count.

    A thread count is a number or ``"auto"``, which every round decides anew
    (:mod:`lottery_np.engine.threads`): quiet, it takes every core; loaded, those left.
    """
    rows = []
    for n_threads in thread_counts:
        with threads.limited(n_threads):
            runners = {d: round_runner(data, layer_sizes, d, iterations, eval_every) for d in densities}
            for run in runners.values():
                run()
            quiet, loaded = {d: [] for d in densities}, {d: [] for d in densities}
            for _ in range(repeats):
                for density, run in runners.items():
                    quiet[density].append(run())
                    with spinning(hogs):
                        loaded[density].append(run())
        for density in densities:
            q, l = statistics.median(quiet[density]), statistics.median(loaded[density])
            rows.append({"threads": n_threads, "density": density, "hogs": hogs, "quiet_seconds": q,
                         "loaded_seconds": l, "slowdown": l / q})
            print(f"under load: threads {n_threads}, density {density}: {l / q:.2f}x slower", file=sys.stderr,
                  flush=True)
    return rows


class spinning:
    """A context in which ``n`` other processes spin on the CPU."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self) -> "spinning":
        self.processes = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(self.n)]
        time.sleep(0.2)  # let them start spinning
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()


def format_tables(results: dict) -> list[str]:
    """The three tables as lines of text."""
    config = results["config"]
    lines = ["", f"Whole round, the paper's protocol ({config['round_iterations']} iterations, batch 60, evaluation "
                 f"every {config['eval_every']}; {config['threads']} threads; median of {config['repeats']})",
             f"{'density':>8}{'s/round':>9}{'speedup':>9}{'50k-iteration round s':>23}"]
    for row in results["rounds"]:
        lines.append(f"{row['density']:>8.3f}{row['seconds']:>9.2f}{row['speedup']:>8.2f}x"
                     f"{row['paper_round_seconds']:>23.1f}")
    rows = results["inference"]
    lines += ["", f"Inference: one evaluation of {rows[0]['n_images']:,} images ({config['threads']} threads)",
              f"{'density':>8}{'ms':>9}{'speedup':>9}"]
    lines += [f"{r['density']:>8.3f}{r['ms']:>9.2f}{r['speedup']:>8.2f}x" for r in rows]
    if results.get("under_load"):
        first = results["under_load"][0]
        lines += ["", f"Under load: a {config['load_iterations']}-iteration round, quiet and with {first['hogs']} "
                      "spinning processes on the same cores", f"{'threads':>8}{'density':>8}{'quiet s':>9}"
                                                             f"{'loaded s':>10}{'slowdown':>10}"]
        lines += [f"{str(r['threads']):>8}{r['density']:>8.2f}{r['quiet_seconds']:>9.2f}{r['loaded_seconds']:>10.2f}"
                  f"{r['slowdown']:>9.2f}x" for r in results["under_load"]]
    return lines
