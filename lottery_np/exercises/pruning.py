"""Exercises on one round of magnitude pruning: layerwise and global.

``prune(weights, masks, n_keep) -> new masks`` keeps the surviving weights of largest
``|w|``: ``n_keep[l]`` of them in each layer (layerwise), or ``n_keep`` across all layers
ranked together (global). The library's rules, which the checks hold a student to:

* the counts are exact;
* a weight already pruned is never revived (masks only shrink), whatever value it holds;
* among equal magnitudes the lower flat index wins (row-major, layer by layer), as a stable
  sort of ``-|w|`` orders them.

Inside a model a pruned weight is exactly 0.0 and never outranks a survivor, so forgetting
the mask goes unnoticed there; the checks give pruned weights large values.
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Optional

import numpy as np

from . import reference
from .result import Case, CheckResult, Mistake, recognise, run_check, show, where


def _keep(scores: np.ndarray, alive: np.ndarray, n_keep: int, ties: str) -> np.ndarray:
    """Keep ``n_keep`` alive entries of largest score.

    ``ties``: "low" or "high" index wins, "unstable" as NumPy's default (unstable) sort leaves
    them, "all" kept, "none" kept.
    """
    if not 0 <= n_keep <= alive.sum():
        raise ValueError(f"n_keep must be in [0, {alive.sum()}], got {n_keep}")
    order = np.flatnonzero(alive)[::-1 if ties == "high" else 1]
    ranked = order[np.argsort(-scores[order])] if ties == "unstable" else order[np.argsort(-scores[order],
                                                                                             kind="stable")]
    keep = np.zeros(scores.size, dtype=bool)
    if ties in ("low", "high", "unstable") or n_keep == 0:
        keep[ranked[:n_keep]] = True
    else:
        threshold = scores[ranked[n_keep - 1]]  # the n_keep-th largest
        keep[order] = scores[order] >= threshold if ties == "all" else scores[order] > threshold
    return keep


def wrong_prune(weights, masks, n_keep, *, score: Callable = np.abs, ties: str = "low", revive: bool = False,
                removed: bool = False, order: str = "C", off_by: int = 0) -> list[np.ndarray]:
    """Magnitude pruning with the classic mistakes switched on (all off: the library's answer).

    ``n_keep`` an int ranks all layers together, a sequence each layer alone. ``score`` ranks
    the weights, ``ties`` breaks ties (see ``_keep``), ``revive`` ranks pruned weights too,
    ``removed`` reads ``n_keep`` as the number to remove, ``order`` flattens each layer
    row-major ("C") or column-major ("F"), ``off_by`` is added to the number kept.
    """
    if np.ndim(n_keep) == 0:  # global: one ranking of every layer's weights, laid end to end
        flat = [np.ravel(w, order) for w in weights]
        joined = wrong_prune([np.concatenate(flat)], [np.concatenate([np.ravel(m, order) for m in masks])], [n_keep],
                             score=score, ties=ties, revive=revive, removed=removed, off_by=off_by)[0]
        bounds = np.cumsum([0] + [f.size for f in flat])
        return [joined[a:b].reshape(np.shape(w), order=order) for a, b, w in zip(bounds[:-1], bounds[1:], weights)]
    new = []
    for w, m, k in zip(weights, masks, n_keep):
        alive = np.ones(np.shape(w), dtype=bool) if revive else np.asarray(m) != 0
        k = (int(alive.sum()) - int(k) if removed else int(k)) + off_by
        keep = _keep(score(np.asarray(w, dtype=np.float64)).ravel(order), alive.ravel(order), k, ties)
        new.append(keep.reshape(np.shape(w), order=order).astype(np.float32))
    return new


def _per_layer(weights, masks, n_keep: int) -> list[np.ndarray]:
    """Global pruning done layer by layer, each layer keeping its share ``n_keep * alive_l / alive``."""
    alive = np.array([np.count_nonzero(m) for m in masks])
    return wrong_prune(weights, masks, np.rint(n_keep * alive / alive.sum()).astype(int))


MISTAKES = (
    Mistake("what ranking every weight, pruned ones included, keeps", "inside a model a pruned weight is 0.0 and "
            "never wins, which hides this; rank only the weights whose mask is 1 (masks only shrink).",
            partial(wrong_prune, revive=True)),
    Mistake("what ranking by the signed value w, not |w|, keeps", "magnitude pruning ranks |w|, so a large "
            "negative weight is kept.", partial(wrong_prune, score=lambda w: w)),
    Mistake("what keeping the smallest magnitudes gives", "magnitude pruning removes the smallest |w|.",
            partial(wrong_prune, score=lambda w: -np.abs(w))),
    Mistake("what reading n_keep as the number to remove gives", "n_keep is the number of weights to keep.",
            partial(wrong_prune, removed=True)),
    Mistake("what breaking ties for the higher flat index gives", "the library keeps the lower flat index (row-major, "
            "layer by layer), the order a stable sort of -|w| gives (np.argsort(-abs(w), kind='stable')).",
            partial(wrong_prune, ties="high")),
    Mistake("what np.argsort without kind='stable' keeps", "NumPy's default sort is not stable, and an unstable sort "
            "breaks ties in its own order; use kind='stable' or rank by (-|w|, index), so that the lower flat index "
            "wins.", partial(wrong_prune, ties="unstable")),
    Mistake("what flattening each layer column-major (order='F', or ranking w.T) keeps", "among equal |w| the library "
            "keeps the lower flat index in row-major order (np.ravel's default, C order), row by row.",
            partial(wrong_prune, order="F")),
    Mistake("what a threshold test |w| >= t gives, t the n_keep-th largest", "every weight tied with t is kept, so "
            "ties make you keep too many; take exactly n_keep, the lower flat index first.",
            partial(wrong_prune, ties="all")),
    Mistake("what keeping one weight too few (n_keep - 1) gives", "the count is one short, as a slice "
            "order[:n_keep - 1] gives, or a strict |w| > t with t the n_keep-th largest, which drops that weight "
            "itself; keep order[:n_keep], the first n_keep of the ranking.", partial(wrong_prune, off_by=-1)),
    Mistake("what keeping one weight too many (n_keep + 1) gives", "the count is one over; keep order[:n_keep], the "
            "first n_keep of the ranking.", partial(wrong_prune, off_by=1)),
    Mistake("what a threshold test |w| > t gives, t the n_keep-th largest", "the n_keep-th weight itself, and any tied "
            "with it, is dropped, so you keep too few; take exactly n_keep, the lower flat index first.",
            partial(wrong_prune, ties="none")),
    Mistake("what pruning each layer alone at the same rate keeps", "global pruning ranks the weights of all layers "
            "together, so layers keep different fractions.", _per_layer),
)


def grade_masks(weights, masks, n_keep, output, inputs_after: Optional[tuple] = None) -> Optional[str]:
    """What is wrong with ``output`` as the masks pruned from ``weights`` under ``masks`` (None: nothing).

    ``n_keep`` an int grades global pruning, a sequence layerwise; ``inputs_after`` are the
    arguments as the student's function left them (to see whether it changed them in place).
    """
    scope = "global" if np.ndim(n_keep) == 0 else "layerwise"
    expected = (reference.prune_global if scope == "global" else reference.prune_layerwise)(weights, masks, n_keep)
    if not isinstance(output, (list, tuple)) or len(output) != len(expected):
        return f"It returned {show(output)}, not a list of {len(expected)} masks, one per layer."
    yours = []
    for layer, (got, right) in enumerate(zip(output, expected)):
        got = np.asarray(got)
        if got.shape != right.shape:
            return f"Your masks[{layer}] has shape {got.shape}, expected {right.shape}, that of weights[{layer}]."
        if not np.isin(got, (0, 1)).all():
            at = np.argwhere(~np.isin(got, (0, 1)))[0]
            return (f"Your masks[{layer}] holds values other than 0 and 1 ({got[tuple(at)]!r} at masks[{layer}]"
                    f"{where(at)}): a mask is 1 where a weight is kept and 0 where it is pruned.")
        yours.append(got != 0)
    if inputs_after is not None and not all(np.array_equal(a, b) for a, b in zip(inputs_after[1], masks)):
        return ("It changed its input masks in place; the previous round's masks belong to its record: return new "
                "arrays.")
    problems = []
    kept, asked = [int(y.sum()) for y in yours], [int(e.sum()) for e in expected]
    if scope == "global" and sum(kept) != int(n_keep):
        problems.append(f"You keep {sum(kept)} weights in all ({kept} per layer), n_keep asks for {int(n_keep)}.")
    elif scope == "layerwise" and kept != asked:
        problems.append(f"You keep {kept} weights per layer, n_keep asks for {asked}.")
    revived = [(k, i) for k, (y, m) in enumerate(zip(yours, masks)) for i in np.argwhere(y & (np.asarray(m) == 0))]
    if revived:
        layer, index = revived[0]
        problems.append(f"You revive {len(revived)} pruned weight(s), first masks[{layer}]{where(index)} (w = "
                        f"{np.asarray(weights[layer])[tuple(index)]:.4g}): a weight once pruned stays pruned.")
    swapped = not problems and any(not np.array_equal(y, e != 0) for y, e in zip(yours, expected))
    if swapped:
        extra = next((k, i) for k, (y, e) in enumerate(zip(yours, expected)) for i in np.argwhere(y & (e == 0)))
        missing = next((k, i) for k, (y, e) in enumerate(zip(yours, expected)) for i in np.argwhere(~y & (e != 0)))
        (a, i), (b, j) = extra, missing
        problems.append(f"You keep the right number of weights but not the right ones: you keep weights[{a}]"
                        f"{where(i)} = {np.asarray(weights[a])[tuple(i)]:.4g} and prune weights[{b}]{where(j)} = "
                        f"{np.asarray(weights[b])[tuple(j)]:.4g}, which the library keeps.")
    if not problems:
        return None
    mistakes = MISTAKES if scope == "global" else MISTAKES[:-1]
    same = lambda wrong: all(np.array_equal(y, np.asarray(w) != 0) for y, w in zip(yours, wrong))  # noqa: E731
    named = recognise("masks", mistakes, (weights, masks, n_keep), same)
    if not named and swapped and np.array_equal(_magnitudes(weights, yours), _magnitudes(weights, expected)):
        # the right magnitudes, other weights among equal ones: a tie rule no listed mistake explains
        named = (" The magnitudes you keep are the library's, so only your tie-breaking differs: among equal |w| the "
                 "lower flat index wins (row-major, layer by layer); an unstable sort (np.argsort's default kind) "
                 "breaks ties in its own order; use kind='stable' or rank by (-|w|, index).")
    return " ".join(problems) + named


def _magnitudes(weights, masks) -> np.ndarray:
    """The sorted ``|w|`` of the weights ``masks`` keep, all layers together (global pruning trades ties across)."""
    return np.sort(np.concatenate([np.abs(np.asarray(w, dtype=np.float64))[np.asarray(m) != 0]
                                   for w, m in zip(weights, masks)]))


def _cases(scope: str, seed: int) -> list[Case]:
    """Hand-built traps (negative weights, pruned weights non-zero, ties, keeping all, a long tie), then random ones."""
    names = ("weights", "masks", "n_keep")
    W = [np.array([[0.5, -2.0, 1.0], [3.0, -0.1, 0.7]]), np.array([[-0.4, 0.2], [0.9, -1.5], [0.3, 0.6]])]
    ones = [np.ones((2, 3)), np.ones((3, 2))]
    pruned = [np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])]
    ties = [np.array([[1.0, -1.0, 0.5], [1.0, -1.0, 1.0]]), np.array([[-1.0, 0.3], [1.0, 0.2], [0.1, -1.0]])]
    tie_masks = [np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])]
    # 40 weights, 32 tied at |w| = 0.5: NumPy's default sort reorders a tie this long both in its SIMD code and in
    # its generic introsort (which insertion-sorts, stably, arrays of up to 16 entries: the small ties above cannot
    # catch an unstable sort there); its order and the column-major one keep other weights than the row-major one
    many = 0.5 * np.array([[-1, 1, 1, -2, 1, -1, 1, -0.4], [1, 1, -1, 1, -2, 1, -1, 1], [1, -1, 0.4, -1, 1, -2, 1, 1],
                           [-1, 1, -0.4, 1, -1, 1, 2, -1], [1, -1, 1, -1, 1, 1, -1, 2]])
    many = [many, np.array([[0.5, -1.0, 0.2], [-0.5, 0.5, -0.5]])]
    if scope == "layerwise":
        counts = {"first": [3, 2], "pruned": [2, 2], "ties": [2, 2], "tied pruned": [2, 2], "all": [5, 5],
                  "many": [20, 2]}
    else:
        W[1] = W[1] / 10  # a layer of small weights: global pruning takes less of the other
        counts = {"first": 4, "pruned": 3, "ties": 3, "tied pruned": 3, "all": 10, "many": 20}
    cases = [Case("large negative weights, nothing pruned yet", names, (W, ones, counts["first"])),
             Case("non-zero values under pruned weights", names, (W, pruned, counts["pruned"])),
             Case("ties in magnitude", names, (ties, ones, counts["ties"])),
             Case("ties with a pruned weight among them", names, (ties, tie_masks, counts["tied pruned"])),
             Case("keeping every surviving weight", names, (W, pruned, counts["all"])),
             Case("a larger layer, most of its weights tied at |w| = 0.5", names,
                  (many, [np.ones((5, 8)), np.ones((2, 3))], counts["many"]))]
    rng = np.random.default_rng(seed)
    for i in range(6):
        shapes = [tuple(rng.integers(1, 5, size=2)) for _ in range(rng.integers(2, 4))]
        weights = [np.round(rng.normal(size=s), 1) for s in shapes]  # one decimal: many ties
        masks = [(rng.random(s) < 0.7).astype(np.float64) for s in shapes]
        for m in masks:
            m.flat[rng.integers(m.size)] = 1.0  # no layer empty, as in a pruning run
        alive = [int(m.sum()) for m in masks]
        n_keep = (int(rng.integers(1, sum(alive) + 1)) if scope == "global"
                  else [int(rng.integers(1, a + 1)) for a in alive])
        cases.append(Case(f"random {i + 1}", names, (weights, masks, n_keep)))
    return cases


def check_prune_layerwise(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(weights, masks, n_keep) -> masks``, one round of layerwise magnitude pruning.

    ``weights`` and ``masks`` are lists of arrays, one per layer; ``n_keep[l]`` is how many of
    layer ``l``'s surviving weights to keep. The masks returned (0/1, any dtype) must equal the
    library's (:func:`lottery_np.pruning.prune_layerwise`) exactly; the inputs must not change.

    >>> from lottery_np.pruning import prune_layerwise
    >>> check_prune_layerwise(prune_layerwise).passed
    True
    """
    return run_check("prune_layerwise", student_function, _cases("layerwise", seed),
                     lambda case, output, inputs: grade_masks(*case.args, output, inputs), points)


def check_prune_global(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(weights, masks, n_keep) -> masks``, one round of global magnitude pruning.

    As :func:`check_prune_layerwise`, but ``n_keep`` is one int: the surviving weights of all
    layers are ranked together (:func:`lottery_np.pruning.prune_global`).

    >>> check_prune_global(reference.prune_global).passed
    True
    """
    return run_check("prune_global", student_function, _cases("global", seed),
                     lambda case, output, inputs: grade_masks(*case.args, output, inputs), points)
