"""Exercises on a masked dense layer: its forward product and the three products of its backward pass.

With inputs ``X`` of shape ``(n_samples, fan_in)``, weights ``W`` and a 0/1 mask ``M`` of
shape ``(fan_in, fan_out)``, and a bias ``b`` of shape ``(fan_out,)``:

    forward    Z  = X (W * M) + b
    backward   dX = dZ (W * M)^T      dW = (X^T dZ) * M      db = sum over samples of dZ

Inside a network every pruned weight is exactly 0.0, so ``X W`` equals ``X (W * M)`` and
``dZ W^T`` equals ``dZ (W * M)^T``: forgetting the mask in those two products goes
unnoticed there. The checks therefore include layers whose pruned weights hold non-zero
values, where only the mask makes the answer right. (Forgetting it in ``dW`` shows anywhere:
a pruned weight would get a gradient.)
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import reference
from .result import Case, CheckResult, Mistake, compare, recognise, run_check, same_numbers, show

HIDDEN = ("inside a model the pruned weights are exactly 0.0, which hides this; here they hold non-zero values and "
          "only the mask removes them")

FORWARD_MISTAKES = (
    Mistake("X @ W + b, the product without the mask", f"{HIDDEN}. Multiply by W * M.",
            lambda X, W, M, b: X @ W + b),
    Mistake("X @ (W * M), without the bias", "add b to every row (b broadcasts over the samples).",
            lambda X, W, M, b: X @ (W * M)),
    Mistake("relu(X @ (W * M) + b)", "the layer's product is the pre-activation Z; the ReLU comes after it, in the "
            "network.", lambda X, W, M, b: np.maximum(X @ (W * M) + b, 0)),
    Mistake("X @ (W * (1 - M)) + b, with the mask inverted", "M is 1 where a weight survives and 0 where it is "
            "pruned.", lambda X, W, M, b: X @ (W * (1 - M)) + b),
)

BACKWARD_MISTAKES = {
    "dX": (Mistake("dZ @ W.T, the gradient through the unmasked weights", f"{HIDDEN}. Use dZ @ (W * M).T.",
                   lambda X, W, M, dZ: dZ @ W.T),
           Mistake("dZ @ (W * (1 - M)).T, with the mask inverted", "M is 1 where a weight survives.",
                   lambda X, W, M, dZ: dZ @ (W * (1 - M)).T)),
    "dW": (Mistake("X.T @ dZ, not masked", "a pruned weight must get a gradient of exactly 0.0, or the optimizer "
                   "moves it: multiply by M.", lambda X, W, M, dZ: X.T @ dZ),
           Mistake("(X.T @ dZ) * M / n_samples", "dZ is the gradient of the mean loss already (its 1/n is in it), "
                   "so dividing again shrinks dW by the batch size.", lambda X, W, M, dZ: X.T @ dZ * M / len(X)),
           Mistake("(X.T @ dZ) * W * M, scaled by the weights", "d(W * M)/dW is M, so dW = (X^T dZ) * M, with no "
                   "factor W.", lambda X, W, M, dZ: X.T @ dZ * W * M)),
    "db": (Mistake("the mean of dZ over the samples", "dZ already holds the 1/n of the mean loss, so sum over "
                   "the samples.", lambda X, W, M, dZ: dZ.mean(axis=0)),),
}


def layer_cases(last: str, seed: int) -> list[Case]:
    """``(X, W, M, last)`` cases: a dense layer, one whose pruned weights are non-zero, and 5 random layers.

    ``last`` is the fourth argument: ``"b"`` (the bias, for the forward product) or ``"dZ"`` (for the backward).
    Shapes differ (4 samples, 3 inputs, 2 outputs), so that a transposed answer shows by its shape.
    """
    names = ("X", "W", "M", last)
    X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [-1.5, 0.5, 1.0], [2.0, 1.0, 0.5]])
    W = np.array([[0.5, -1.0], [1.5, 2.0], [-0.5, 1.0]])
    M = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    extra = np.array([0.1, -0.2]) if last == "b" else np.array([[0.3, -0.6], [-0.2, 0.4], [0.1, 0.1], [-0.4, -0.3]])
    cases = [Case("a dense layer (mask of ones)", names, (X, W, np.ones_like(W), extra)),
             Case("non-zero values under pruned weights", names, (X, W, M, extra))]
    rng = np.random.default_rng(seed)
    for i in range(5):
        n, fan_in, fan_out = rng.integers(1, 5), rng.integers(1, 6), rng.integers(1, 5)
        M = (rng.random((fan_in, fan_out)) < 0.6).astype(np.float64)
        extra = rng.normal(size=fan_out if last == "b" else (n, fan_out))
        cases.append(Case(f"random {i + 1}", names, (rng.normal(size=(n, fan_in)),
                                                      rng.normal(size=(fan_in, fan_out)), M, extra)))
    return cases


def check_masked_forward(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(X, W, M, b) -> Z``, the pre-activation ``Z = X (W * M) + b``.

    ``X`` is ``(n_samples, fan_in)``, ``W`` and ``M`` ``(fan_in, fan_out)``, ``b`` ``(fan_out,)``;
    ``Z`` must be ``(n_samples, fan_out)``, right to float64 precision. ``seed`` draws the random cases.

    >>> check_masked_forward(lambda X, W, M, b: X @ (W * M) + b).passed
    True
    >>> check_masked_forward(lambda X, W, M, b: X @ W + b).feedback  # doctest: +ELLIPSIS
    "Wrong on the case 'non-zero values under pruned weights' ... the product without the mask: inside a model..."
    """
    def grade(case: Case, Z, inputs) -> str | None:
        problem = compare("Z", Z, reference.masked_forward(*case.args))
        return problem and problem + recognise("Z", FORWARD_MISTAKES, case.args, same_numbers(Z))
    return run_check("masked_forward", student_function, layer_cases("b", seed), grade, points)


def check_masked_backward(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(X, W, M, dZ) -> (dX, dW, db)``, a masked layer's three backward products.

    ``dX = dZ (W * M)^T`` of shape ``(n_samples, fan_in)``, ``dW = (X^T dZ) * M`` of the shape of
    ``W`` (exactly 0.0 where ``M`` is 0), ``db`` of shape ``(fan_out,)``, the sum of ``dZ`` over the
    samples. Every product that is wrong on the first failing case is named.

    >>> from lottery_np.exercises import reference
    >>> check_masked_backward(reference.masked_backward).passed
    True
    """
    def grade(case: Case, output, inputs) -> str | None:
        if not isinstance(output, (tuple, list)) or len(output) != 3:
            return f"It returned {show(output)}, not the three products (dX, dW, db)."
        expected = reference.masked_backward(*case.args)
        problems = []
        for name, yours, right in zip(("dX", "dW", "db"), output, expected):
            problem = compare(name, yours, right)
            if problem:
                problems.append(problem + recognise(name, BACKWARD_MISTAKES[name], case.args, same_numbers(yours)))
        if problems:
            fine = [name for name, yours, right in zip(("dX", "dW", "db"), output, expected)
                    if compare(name, yours, right) is None]
            return " ".join(problems) + (f" {' and '.join(fine)} {'is' if len(fine) == 1 else 'are'} right." if fine
                                         else "")
        return None
    return run_check("masked_backward", student_function, layer_cases("dZ", seed), grade, points)
