"""The whole lottery-ticket search with a student's pruning and rewinding, graded against the library's, bit for bit.

:func:`imp_rounds` is the loop of :mod:`lottery_np.pruning.loop` for rewinding to the
initialization, written out from the library's public pieces (the schedule's counts,
:meth:`MLP.set_masks <lottery_np.model.MLP.set_masks>`, :meth:`~lottery_np.model.MLP.set_parameters`,
:func:`~lottery_np.training.train`) with the two steps a student writes passed in::

    round 0       train the dense network from its initialization
    round r > 0   masks_r   = prune(weights trained in round r-1, masks_{r-1}, counts[r])
                  weights_r = rewind(initial weights, weights trained in round r-1, masks_r)
                  train from weights_r (biases: their initial values) under masks_r

With the library's :func:`~lottery_np.pruning.prune_layerwise` and
:func:`~lottery_np.exercises.reference.rewind` it reproduces
:meth:`LotteryTicketPruner.find_ticket <lottery_np.pruning.LotteryTicketPruner.find_ticket>`
bit for bit, which is what lets :func:`check_imp` demand the same of a student. (It does not
refuse a dense network that learned nothing, as the library does: grading needs no such guard.)
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .. import validation
from ..data import as_dataset, load_digits
from ..model import MLP, Parameters
from ..pruning import FinishedRound, LotteryTicketPruner, PruningOptions, PruningSchedule, RoundRecord
from ..training import train
from .pruning import grade_masks
from .result import CheckResult, call
from .rounds import grade_rewind


def imp_rounds(model: MLP, data, options: PruningOptions, prune: Callable, rewind: Callable) -> Iterator[FinishedRound]:
    """Run iterative magnitude pruning round by round with ``prune`` and ``rewind``; ``model`` is not modified.

    Parameters
    ----------
    model : MLP
        The network at its initialization.
    data : Dataset or (X, y)
        As :meth:`~lottery_np.pruning.LotteryTicketPruner.find_ticket` takes it.
    options : PruningOptions
        The schedule, the scope and the training (a pruner's ``options``).
    prune : callable
        ``prune(weights, masks, n_keep) -> masks``: ``n_keep`` is a list of counts per layer
        (layerwise scope) or one int (global).
    rewind : callable
        ``rewind(initial_weights, trained_weights, masks) -> weights``.

    Yields
    ------
    FinishedRound
        Each round's masks, the parameters it started from and ended with, and its record.

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> from lottery_np.pruning import prune_layerwise
    >>> from lottery_np.exercises.reference import rewind
    >>> from lottery_np.training import TrainingConfig
    >>> options = PruningOptions(target_sparsity=0.5, pruning_rounds=1, training=TrainingConfig(iterations=20))
    >>> rounds = list(imp_rounds(MLP((64, 8, 10)), load_digits(), options, prune_layerwise, rewind))
    >>> [r.record.density for r in rounds]
    [1.0, 0.5]
    """
    counts = PruningSchedule(model, options).counts
    data = as_dataset(data, validation=options.validation_data)
    work = model.copy()
    initial = work.get_parameters()
    last = None
    for r in range(options.pruning_rounds + 1):
        if r == 0:
            masks = work.masks
        else:
            n_keep = int(counts[r]) if options.scope == "global" else [int(k) for k in counts[r]]
            trained = last.trained.copy().weights  # copies: the functions cannot change the record
            masks = [np.asarray(m, dtype=np.float32) for m in prune(trained, [m.copy() for m in last.masks], n_keep)]
            weights = rewind(initial.copy().weights, trained, [m.copy() for m in masks])
            work.set_masks(masks)
            work.set_parameters(Parameters(list(weights), initial.biases))
        start = work.get_parameters()
        result = train(work, data, options.training, seed=options.seed, description=f"round {r}")
        last = FinishedRound(masks, start, work.get_parameters(), RoundRecord.from_training(r, work, result))
        yield last


class _Wrong(Exception):
    """Stops the graded run at the first round where a student's function disagrees with the library."""


def _graded(student: Callable, name: str, grade: Callable) -> Callable:
    """``student`` as :func:`imp_rounds` calls it, graded on every call; a wrong answer raises :class:`_Wrong`."""
    def graded(*args):
        output, error, inputs = call(student, args)
        problem = f"It raised {error}." if error else grade(*args, output, inputs)
        if problem:
            raise _Wrong(f"your {name} function is wrong. {problem}")
        return output
    return graded


def check_imp(prune_function: Callable, rewind_function: Callable, *, scope: str = "layerwise", points: float = 1.0,
              seed: int = 0) -> CheckResult:
    """Grade a student's pruning and rewinding by running the whole search with them, against the library's.

    A small search on the digits (MLP 64-24-12-10 seeded by ``seed``, 3 rounds to 80 %
    sparsity, 60 Adam iterations per round) runs twice: with the library's functions
    (:meth:`LotteryTicketPruner.find_ticket <lottery_np.pruning.LotteryTicketPruner.find_ticket>`)
    and with the student's (:func:`imp_rounds`). Every round's masks, rewound weights and
    learning curve must agree bit for bit; the first disagreement is explained as
    :func:`~lottery_np.exercises.check_prune_layerwise` and :func:`~lottery_np.exercises.check_rewind`
    would. Inside a model pruned weights are 0.0, so this run cannot catch every mistake
    those checks catch (a pruning function that ignores the mask passes here).

    Parameters
    ----------
    prune_function : callable
        ``prune(weights, masks, n_keep) -> masks``, layerwise or global as ``scope`` says.
    rewind_function : callable
        ``rewind(initial_weights, trained_weights, masks) -> weights``.
    scope : {"layerwise", "global"}

    Examples
    --------
    >>> from lottery_np.pruning import prune_layerwise
    >>> from lottery_np.exercises.reference import rewind
    >>> check_imp(prune_layerwise, rewind).passed
    True
    """
    for name, function in (("prune_function", prune_function), ("rewind_function", rewind_function)):
        if not callable(function):
            raise TypeError(f"{name} must be callable, got {type(function).__name__}")
    points = validation.real("points", points, 0.0)
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.8).pruning_rounds(3).iterations(60).eval_every(20)
              .scope(scope).seed(seed).build())
    model, data = MLP((64, 24, 12, 10), seed=seed), load_digits()
    pruner.find_ticket(model, data)
    setting = (f"a search on the digits (MLP 64-24-12-10, {scope} pruning to 80 % sparsity in 3 rounds, 60 "
               "iterations per round)")
    seen: list = []
    prune = _graded(prune_function, "pruning", grade_masks)
    rewind = _graded(rewind_function, "rewinding", grade_rewind)
    try:
        for finished in imp_rounds(model, data, pruner.options, prune, rewind):
            ticket = pruner.tickets_[len(seen)]
            same = (all(np.array_equal(a, b) for a, b in zip(finished.masks, ticket.masks))
                    and all(np.array_equal(a, b) for a, b in zip(finished.start.weights, ticket.weights))
                    and finished.record == ticket.record)
            if not same:  # the functions agreed with the library on this round's inputs: the loop did not
                raise _Wrong("the round differs from the library's though your functions agreed with it.")
            seen.append(finished)
    except _Wrong as wrong:
        return CheckResult(False, 0.0, f"In round {len(seen)} of {setting}, {wrong}", "imp", points)
    except Exception as error:  # an answer the library refuses to train with
        return CheckResult(False, 0.0, f"In round {len(seen)} of {setting}, your functions' answer could not be "
                           f"trained: {type(error).__name__}: {error}.", "imp", points)
    return CheckResult(True, points, f"Your pruning and rewinding reproduce the library's ticket search bit "
                       f"for bit, masks, rewound weights and learning curves of all {len(seen)} rounds, in {setting}.",
                       "imp", points)
