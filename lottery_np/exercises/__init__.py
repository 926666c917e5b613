"""Exercises a teacher can grade: each building block of a lottery-ticket search, reimplemented by a student.

Every ``check_...`` function takes the student's function, runs it against lottery_np's own on
hand-built cases that set the classic traps and on random cases, and returns a
:class:`CheckResult` (``passed``, ``points``, ``feedback``). The feedback is one paragraph:
what was wrong, on which (small, printed) input, by how much, and which classic mistake the
answer matches, found by computing the common wrong answers and comparing. A student's
exception is reported in the feedback, never raised.

What each check grades (the signature asked of the student; :mod:`.reference` holds the
library's answer in that signature):

* :func:`check_masked_forward` -- ``masked_forward(X, W, M, b) -> Z``, ``Z = X (W * M) + b``;
* :func:`check_masked_backward` -- ``masked_backward(X, W, M, dZ) -> (dX, dW, db)``, the three
  products ``dX = dZ (W * M)^T``, ``dW = (X^T dZ) * M`` and ``db``, the sum of ``dZ`` over the samples;
* :func:`check_prune_layerwise` -- ``prune(weights, masks, n_keep) -> masks``, one round of magnitude
  pruning keeping ``n_keep[l]`` weights of layer ``l``; :func:`check_prune_global` -- the same with one
  count, all layers ranked together;
* :func:`check_fixed_rate_schedule` -- ``fixed_rate_schedule(layer_sizes, factors, rate, rounds) -> counts``,
  the paper's schedule; :func:`check_global_schedule` -- ``global_schedule(n_weights, target_sparsity,
  rounds) -> counts``;
* :func:`check_rewind` -- ``rewind(initial_weights, trained_weights, masks) -> weights``, the survivors
  back at their initial values, the pruned weights exactly 0.0;
* :func:`check_early_stopping_iteration` -- ``early_stopping_iteration(iterations, val_loss) -> int``;
* :func:`check_adam_step` -- ``adam_step(weights, grad, m, v, t, mask, learning_rate, beta1, beta2,
  epsilon) -> (weights, m, v)``, one step that never moves a pruned weight;
* :func:`check_imp` -- the whole search (:func:`imp_rounds`) run with the student's ``prune`` and
  ``rewind``, against the library's ticket, bit for bit.

The traps: pruned weights holding non-zero values (inside a model they are exactly 0.0, which
hides a forgotten mask in ``X W``, ``dZ W^T``, a ranking or an optimizer step), ties in
magnitude (the lower flat index is kept), revived weights, wrong counts, a mask forgotten in
one of the three products, Adam's bias correction off by one step, halves rounded the wrong
way, the first of tied losses. A float answer passes at a relative error of 1e-7 or below
(:func:`~lottery_np.exercises.gradcheck.relative_error`); counts and masks must be exact.

The checks live by topic in :mod:`.layer`, :mod:`.pruning`, :mod:`.rounds` (schedules and
rewinding), :mod:`.training` (Adam, early stopping) and :mod:`.imp`; :mod:`.result` holds
:class:`CheckResult` and what the checks share. For the student's own debugging, :mod:`.gradcheck`
checks a gradient by central differences (:func:`numerical_gradient`, :func:`relative_error`,
:func:`check_gradient`).

In a notebook, a student's cell defines the function; the teacher's (hidden, for nbgrader)
cell grades it::

    from lottery_np.exercises import check_masked_forward
    result = check_masked_forward(masked_forward, points=2)
    print(result)            # the verdict, the points and the feedback paragraph
    result.assert_passed()   # fails an autograded cell with the feedback

``seed`` (every check takes one) draws other random cases, for a hidden test that differs from
the visible one.

>>> import numpy as np
>>> from lottery_np.exercises import check_masked_forward
>>> check_masked_forward(lambda X, W, M, b: X @ (W * M) + b).passed
True
>>> result = check_masked_forward(lambda X, W, M, b: X @ W + b)  # the mask forgotten
>>> result.passed, result.points
(False, 0.0)
>>> print(result.feedback)  # doctest: +ELLIPSIS
Wrong on the case 'non-zero values under pruned weights' (X = ...). ... Your Z is exactly X @ W + b, the product ...
"""
from .gradcheck import GradientReport, check_gradient, numerical_gradient, relative_error
from .imp import check_imp, imp_rounds
from .layer import check_masked_backward, check_masked_forward
from .pruning import check_prune_global, check_prune_layerwise
from .result import TOLERANCE, CheckResult
from .rounds import check_fixed_rate_schedule, check_global_schedule, check_rewind
from .training import check_adam_step, check_early_stopping_iteration

__all__ = [
    "CheckResult",
    "GradientReport",
    "TOLERANCE",
    "check_adam_step",
    "check_early_stopping_iteration",
    "check_fixed_rate_schedule",
    "check_global_schedule",
    "check_gradient",
    "check_imp",
    "check_masked_backward",
    "check_masked_forward",
    "check_prune_global",
    "check_prune_layerwise",
    "check_rewind",
    "imp_rounds",
    "numerical_gradient",
    "relative_error",
]
