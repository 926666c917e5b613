"""Dynamic sparse training: every ``ΔT`` steps, drop the weakest connections and grow as many new ones.

The network trains sparse from the first step, at a fixed count of weights per layer,
and moves its connections as it learns:

* **drop**: in each layer, the fraction ``f(t)`` of the surviving weights with the
  smallest magnitudes;
* **grow**: as many connections among those not kept, chosen by a score: uniformly at
  random for **SET** (Mocanu et al., Nature Communications 2018; the magnitude rule of
  RigL's own implementation of SET, not the paper's split by sign), or the largest
  magnitudes of the *dense* gradient of the loss on the current batch for **RigL**
  (Evci, Gale, Menick, Castro & Elsen, ICML 2020, Section 3).

RigL's fraction decays along a cosine and stops at ``T_end`` (their Section 3, with
``α = 0.3``, ``ΔT = 100`` and ``T_end`` at 75 % of training by default):

.. math::  f(t) = \\frac{\\alpha}{2}\\left(1 + \\cos\\frac{\\pi t}{T_{end}}\\right), \\quad t \\le T_{end}.

A grown connection starts at 0.0 with zeroed optimizer state; a kept one keeps its weight
and its state; a connection dropped and grown back in the same update keeps both, as in
RigL's code. Every update keeps each layer's count exactly. The dense gradient that RigL
grows by is computed only at update steps (the layer inputs and errors of
:meth:`lottery_np.model.MLP.backward`, one dense product per layer); between updates every
step runs the sparse engine at the network's density. Here an update follows the step of
its iteration (RigL's code updates the masks *instead* of that step's weight update).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import validation
from ..engine import TrainingStep, training_step
from ..pruning import prune_layerwise

REWIRINGS = ("set", "rigl")
"""The growth rules: random (SET) or by the dense gradient's magnitude (RigL)."""


def cosine_fraction(iteration: int, initial: float, stop: int) -> float:
    """RigL's update fraction at ``iteration``: ``initial / 2 * (1 + cos(pi * t / stop))``, and 0 after ``stop``.

    Rounded to 15 decimals, so that the fractions a schedule names (0.3, its half) come out as written.

    Examples
    --------
    >>> cosine_fraction(0, 0.3, 100), cosine_fraction(50, 0.3, 100), cosine_fraction(101, 0.3, 100)
    (0.3, 0.15, 0.0)
    """
    if iteration > stop:
        return 0.0
    return round(initial / 2 * (1 + math.cos(math.pi * iteration / stop)), 15)


def drop_and_grow(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], fraction: float,
                  grow_scores: Sequence[np.ndarray]) -> list[np.ndarray]:
    """New masks: in each layer, drop ``floor(fraction * alive)`` smallest-magnitude survivors, grow as many.

    Growth picks the largest ``|grow_scores|`` among the entries not kept after the drop
    (the dropped ones included); ties go to the lower index, as in magnitude pruning.

    Examples
    --------
    >>> w = [np.array([[0.1, -2.0, 0.0, 0.0]], dtype=np.float32)]
    >>> m = [np.array([[1, 1, 0, 0]], dtype=np.float32)]
    >>> drop_and_grow(w, m, 0.5, [np.array([[0.0, 0.0, 0.3, 0.7]])])[0]
    array([[0., 1., 0., 1.]], dtype=float32)
    """
    validation.real("fraction", fraction, 0.0, 1.0)
    alive = [int(np.count_nonzero(m)) for m in masks]
    changed = [int(math.floor(fraction * n)) for n in alive]
    kept = prune_layerwise(weights, masks, [n - k for n, k in zip(alive, changed)])
    grown = prune_layerwise(grow_scores, [1.0 - m for m in kept], changed)
    return [np.maximum(a, b) for a, b in zip(kept, grown)]


@dataclass
class Rewiring:
    """The connectivity updates of one dynamic sparse training run, for :func:`lottery_np.train` (``rewiring=``).

    Parameters
    ----------
    method : {"set", "rigl"}
    total_iterations : int
        The run's length: ``stop_fraction`` of it is ``T_end``.
    update_every : int
        ``ΔT``: iterations between updates.
    drop_fraction : float
        ``α``: the fraction at iteration 0, decaying along a cosine to 0 at ``T_end``.
    stop_fraction : float
        ``T_end`` as a fraction of the run.
    seed : int
        SET's random growth at iteration ``t`` draws from ``(seed, t)`` alone, so a resumed or
        replayed run grows the same connections.

    Attributes
    ----------
    updates : list of dict
        Per update: ``iteration``, ``fraction``, ``changed`` (connections moved) and ``seconds``.

    Examples
    --------
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import load_digits
    >>> from lottery_np.pruning import random_masks_at
    >>> model = MLP((64, 30, 10), seed=0)
    >>> model.set_masks(random_masks_at([(64, 30), (30, 10)], 0.2, "uniform", np.random.default_rng(0)))
    >>> rigl = Rewiring("rigl", total_iterations=200, update_every=50)
    >>> result = train(model, load_digits(), TrainingConfig(iterations=200, eval_every=100), rewiring=rigl)
    >>> [u["iteration"] for u in rigl.updates], [int(m.sum()) for m in model.masks]
    ([50, 100, 150], [384, 60])
    """

    method: str
    total_iterations: int
    update_every: int = 100
    drop_fraction: float = 0.3
    stop_fraction: float = 0.75
    seed: int = 0
    updates: list = field(default_factory=list)

    def __post_init__(self):
        validation.choice("method", self.method, REWIRINGS)
        validation.integer("total_iterations", self.total_iterations, minimum=1)
        validation.integer("update_every", self.update_every, minimum=1)
        validation.real("drop_fraction", self.drop_fraction, 0.0, 1.0)
        validation.real("stop_fraction", self.stop_fraction, 0.0, 1.0)
        validation.integer("seed", self.seed, minimum=0)

    @property
    def stop(self) -> int:
        """``T_end``: the last iteration that may update."""
        return round(self.stop_fraction * self.total_iterations)

    def due(self, iteration: int) -> bool:
        """Whether the connections move after ``iteration``."""
        return iteration % self.update_every == 0 and 0 < iteration <= self.stop

    def update(self, step: TrainingStep, X: np.ndarray, y: np.ndarray, iteration: int) -> TrainingStep:
        """Move the connections of ``step``'s model after ``iteration``; return the step for the new masks.

        ``(X, y)`` is the iteration's batch, on which RigL measures the dense gradient.
        """
        start = time.perf_counter()
        step.sync()
        model = step.model
        fraction = cosine_fraction(iteration, self.drop_fraction, self.stop)
        if self.method == "rigl":
            _, _, inputs, errors = model.backward(X, y)
            scores = [np.abs(A @ dZ.T) for A, dZ in zip(inputs, errors)]  # dL/dW at every entry, pruned ones too
        else:
            rng = np.random.default_rng((self.seed, iteration))
            scores = [rng.random(w.shape) for w in model.weights]
        before = model.masks
        model.set_masks(drop_and_grow(model.weights, before, fraction, scores))
        changed = int(sum(np.count_nonzero(new > old) for new, old in zip(model.masks, before)))
        new_step = training_step(model, step.optimizer, carry_from=step)
        self.updates.append({"iteration": iteration, "fraction": fraction, "changed": changed,
                             "seconds": time.perf_counter() - start})
        return new_step
