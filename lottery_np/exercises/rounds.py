"""Exercises on what happens between two pruning rounds: how many weights to keep, and where they restart.

* The paper's schedule (:func:`lottery_np.pruning.fixed_rate_schedule`): every round removes
  the rounded fraction ``p_l = f_l p`` of each layer's *remaining* weights,
  ``n_l(r) = n_l(r-1) - rint(p_l n_l(r-1))``, with ``rint`` rounding half to even.
* The target-sparsity schedule of global pruning (:func:`lottery_np.pruning.global_schedule`):
  ``rint(N (1 - s)^(r / R))``, so that the density falls by the same factor every round.
* Rewinding (``RewindStrategy.Init``): the surviving weights go back to their initial values,
  the pruned ones are exactly 0.0.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from . import reference
from .result import Case, CheckResult, Mistake, recognise, run_check, where


def _iterated(removed: Callable) -> Callable:
    """A fixed-rate schedule whose round ``r`` removes ``removed(n, p, n_0, r)`` of the ``n`` weights left.

    ``p`` holds the layers' rates ``f_l rate`` and ``n_0`` their dense counts.
    """
    def schedule(layer_sizes, factors, rate, rounds):
        rates = rate * np.asarray(factors, dtype=np.float64)
        counts = [np.asarray(layer_sizes, dtype=np.int64)]
        for r in range(1, rounds + 1):
            counts.append(counts[-1] - removed(counts[-1], rates, counts[0], r))
        return np.array(counts)
    return schedule


FIXED_RATE_MISTAKES = (
    Mistake("what rounding halves up, floor(p n + 0.5), gives", "np.rint rounds half to even, so a layer of 5 at "
            "p = 0.5 loses 2, not 3.", _iterated(lambda n, p, n0, r: np.floor(p * n + 0.5).astype(np.int64))),
    Mistake("what truncating p n, int() or floor, gives", "the number removed is rounded to the nearest (np.rint), "
            "not truncated.", _iterated(lambda n, p, n0, r: np.floor(p * n).astype(np.int64))),
    Mistake("what rounding p n up gives", "the number removed is rounded to the nearest (np.rint).",
            _iterated(lambda n, p, n0, r: np.ceil(p * n).astype(np.int64))),
    Mistake("what rounding the number kept, rint((1 - p) n), gives", "the library rounds the number removed, "
            "rint(p n); at a tie (.5) the two go opposite ways.",
            _iterated(lambda n, p, n0, r: n - np.rint((1 - p) * n).astype(np.int64))),
    Mistake("what removing p of the original count every round gives", "IMP removes a fraction of the weights "
            "still remaining, so each round removes fewer.",
            _iterated(lambda n, p, n0, r: n - np.maximum(n0 - r * np.rint(p * n0), 0).astype(np.int64))),
    Mistake("what rounding the closed form n (1 - p)^r gives", "the count is rounded every round, from the previous "
            "round's whole number of weights, so rounding errors carry over.",
            _iterated(lambda n, p, n0, r: n - np.rint(n0 * (1 - p) ** r).astype(np.int64))),
    Mistake("what the same rate in every layer gives", "each layer prunes at its factor times the rate, p_l = f_l p "
            "(the output layer at half the rate in the paper).",
            lambda sizes, factors, rate, rounds: reference.fixed_rate_schedule(sizes, [1.0] * len(factors), rate,
                                                                               rounds)),
)

GLOBAL_MISTAKES = (
    Mistake("what a density falling linearly, 1 - s r / R, gives", "IMP removes the same fraction of the remaining "
            "weights every round, so the density falls geometrically: (1 - s)^(r / R).",
            lambda n, s, rounds: np.rint(n * (1 - s * np.arange(rounds + 1) / rounds)).astype(np.int64)),
    Mistake("what a rate of s / R of the remaining weights per round gives", "that rate does not reach the target "
            "sparsity s; the density after r rounds is (1 - s)^(r / R).",
            lambda n, s, rounds: np.rint(n * (1 - s / rounds) ** np.arange(rounds + 1)).astype(np.int64)),
    Mistake("what truncating N (1 - s)^(r / R) gives", "the counts are rounded to the nearest (np.rint).",
            lambda n, s, rounds: np.floor(n * (1 - s) ** (np.arange(rounds + 1) / rounds)).astype(np.int64)),
)


def _grade_counts(expected: np.ndarray, output, args: tuple, mistakes: tuple) -> Optional[str]:
    """What is wrong with ``output`` as the counts ``expected`` (rounds + 1 rows, dense first)."""
    try:
        counts = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError):
        return f"It returned {type(output).__name__}, not an array of counts."
    if counts.shape != expected.shape:
        rounds = len(expected) - 1
        hint = " (no row for round 0, the dense network, which comes first)" if len(counts) == rounds else ""
        return f"Your counts have shape {counts.shape}{hint}, expected {expected.shape}: one row per round 0..{rounds}."
    wrong = np.argwhere(counts != expected)
    if not len(wrong):
        return None
    at = tuple(wrong[0])
    before = f" (the round started from {expected[at[0] - 1][at[1:]]})" if at[0] > 0 else ""
    return (f"Your counts differ from the library's first in round {at[0]}"
            f"{', layer ' + str(at[1]) if len(at) > 1 else ''}: yours {counts[at]:g}, expected {expected[at]}{before}; "
            f"yours are {counts.astype(np.int64).tolist() if np.all(counts == np.rint(counts)) else counts.tolist()}."
            + recognise("counts", mistakes, args, lambda w: np.array_equal(np.asarray(w), counts)))


def check_fixed_rate_schedule(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(layer_sizes, factors, rate, rounds) -> counts`` of shape ``(rounds + 1, n_layers)``.

    Row 0 is the dense network; row ``r`` the weights each layer keeps after round ``r``, with
    ``n_l(r) = n_l(r-1) - rint(f_l rate n_l(r-1))``. It must equal the library's exactly.

    >>> check_fixed_rate_schedule(reference.fixed_rate_schedule).passed
    True
    """
    names = ("layer_sizes", "factors", "rate", "rounds")
    cases = [Case("LeNet-300-100 at the paper's 20 % per round, the output layer at half", names,
                  ([235200, 30000, 1000], [1.0, 1.0, 0.5], 0.2, 5)),
             Case("half of an odd count, rounded half to even", names, ([5, 3, 7], [1.0, 1.0, 1.0], 0.5, 3))]
    rng = np.random.default_rng(seed)
    for i in range(5):
        n_layers = int(rng.integers(1, 4))
        cases.append(Case(f"random {i + 1}", names, (rng.integers(1, 500, n_layers).tolist(),
                                                     rng.choice([1.0, 0.5], n_layers).tolist(),
                                                     float(rng.choice([0.1, 0.2, 0.25, 0.4, 0.5])),
                                                     int(rng.integers(1, 7)))))
    return run_check("fixed_rate_schedule", student_function, cases, lambda case, output, inputs: _grade_counts(
        reference.fixed_rate_schedule(*case.args), output, case.args, FIXED_RATE_MISTAKES), points)


def check_global_schedule(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(n_weights, target_sparsity, rounds) -> counts`` of shape ``(rounds + 1,)``.

    Entry ``r`` is ``rint(N (1 - s)^(r / R))``, the last exactly ``round(N (1 - s))``.

    >>> check_global_schedule(reference.global_schedule).passed
    True
    """
    names = ("n_weights", "target_sparsity", "rounds")
    cases = [Case("LeNet-300-100 to 90 % sparsity in 5 rounds", names, (266200, 0.9, 5)),
             Case("10 weights to half in 3 rounds", names, (10, 0.5, 3))]
    rng = np.random.default_rng(seed)
    for i in range(4):
        cases.append(Case(f"random {i + 1}", names, (int(rng.integers(10, 5000)), float(rng.choice([0.5, 0.8, 0.9])),
                                                     int(rng.integers(1, 8)))))
    return run_check("global_schedule", student_function, cases, lambda case, output, inputs: _grade_counts(
        reference.global_schedule(*case.args), output, case.args, GLOBAL_MISTAKES), points)


REWIND_MISTAKES = (
    Mistake("the trained weights, masked", "that keeps what training learned (learning-rate rewinding, or "
            "fine-tuning); the lottery ticket restarts the survivors from their initial values.",
            lambda initial, trained, masks: [t * m for t, m in zip(trained, masks)]),
    Mistake("the initial weights, not masked", "multiply each layer by its mask, or take np.where(m != 0, w, 0).",
            lambda initial, trained, masks: [w for w in initial]),
    Mistake("the initial weights masked where the trained weights are non-zero", "inside a model the trained "
            "weights are 0.0 exactly where pruned, which hides this; a surviving weight may be 0.0 too (or a "
            "pruned one not): take the mask from masks.",
            lambda initial, trained, masks: [np.where(t != 0, w, 0) for w, t in zip(initial, trained)]),
    Mistake("the initial weights with the mask inverted", "the mask is 1 where a weight survives.",
            lambda initial, trained, masks: [w * (1 - m) for w, m in zip(initial, masks)]),
)


def grade_rewind(initial, trained, masks, output, inputs_after: Optional[tuple] = None) -> Optional[str]:
    """What is wrong with ``output`` as ``rewind(initial, trained, masks)`` (None: nothing).

    ``inputs_after`` are the arguments as the student's function left them (to see whether it changed them).
    """
    if not isinstance(output, (list, tuple)) or len(output) != len(masks):
        return f"It returned {type(output).__name__}, not a list of {len(masks)} weight arrays, one per layer."
    if inputs_after is not None and not all(np.array_equal(a, b) for a, b in zip(inputs_after[0], initial)):
        return ("It changed initial_weights in place: every later round would rewind to damaged initial weights; "
                "build new arrays (np.where or w * m make them).")
    for layer, (yours, w0, m) in enumerate(zip(output, initial, masks)):
        yours, w0, m = np.asarray(yours), np.asarray(w0), np.asarray(m)
        if yours.shape != w0.shape:
            return f"Your weights[{layer}] has shape {yours.shape}, expected {w0.shape}."
        pruned = np.argwhere((m == 0) & (yours != 0))
        changed = np.argwhere((m != 0) & (yours != w0))
        if len(pruned) or len(changed):
            at = tuple(pruned[0] if len(pruned) else changed[0])
            rule = ("where the mask prunes it: a pruned weight must be exactly 0.0" if len(pruned)
                    else f"where it survives: it must be back at its initial value, {w0[at]:.6g}")
            return (f"Your weights[{layer}]{where(at)} is {yours[at]:.6g} {rule}." +
                    recognise("weights", REWIND_MISTAKES, (initial, trained, masks),
                              lambda wrong: all(np.array_equal(np.asarray(a), b) for a, b in zip(wrong, output))))
    for layer, (yours, w0) in enumerate(zip(output, initial)):
        kind, right = np.asarray(yours).dtype, np.asarray(w0).dtype
        if kind != right:
            return (f"Your weights[{layer}] holds the right values but is {kind}, the initial weights are {right}: "
                    f"return them in the initial weights' dtype (the network trains in {right}); np.where(m != 0, w, "
                    f"0) keeps it, and .astype(w.dtype) restores it after arithmetic that promotes it.")
    return None


def check_rewind(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(initial_weights, trained_weights, masks) -> weights``, rewinding to the initialization.

    Each argument is a list of arrays, one per layer. The result must hold every surviving
    weight's initial value exactly and 0.0 at every pruned weight, in new arrays of the
    initial weights' dtype (the initial weights are needed again next round).

    >>> check_rewind(reference.rewind).passed
    True
    """
    names = ("initial_weights", "trained_weights", "masks")
    f32 = lambda rows: np.array(rows, dtype=np.float32)  # noqa: E731 - the model's dtype
    initial = [f32([[0.3, -1.2], [0.8, -0.05]]), f32([[0.6, -0.7, 0.1]])]
    masks = [f32([[1, 0], [0, 1]]), f32([[1, 1, 0]])]
    cases = [Case("negative initial weights, trained weights as a model holds them", names,
                  (initial[:1], [f32([[0.5, 0.0], [0.0, 0.02]])], masks[:1])),
             Case("a surviving weight that trained to exactly 0.0", names,
                  (initial, [f32([[0.0, 0.0], [0.0, 0.4]]), f32([[0.9, -0.2, 0.0]])], masks))]
    rng = np.random.default_rng(seed)
    for i in range(4):
        shapes = [tuple(rng.integers(1, 4, size=2)) for _ in range(rng.integers(1, 4))]
        cases.append(Case(f"random {i + 1}", names, ([rng.normal(size=s).astype(np.float32) for s in shapes],
                                                     [rng.normal(size=s).astype(np.float32) for s in shapes],
                                                     [(rng.random(s) < 0.5).astype(np.float32) for s in shapes])))
    return run_check("rewind", student_function, cases,
                     lambda case, output, inputs: grade_rewind(*case.args, output, inputs), points)
