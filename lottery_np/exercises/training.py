"""Exercises on training a pruned network: an Adam step that never moves a pruned weight, and early stopping.

Adam (Kingma & Ba, 2015), step ``t`` (1 for the first), in the library's default form::

    m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

(``bias_correction="moments"``, Algorithm 1 of the paper, puts ``eps sqrt(1 - b2^t)`` in
place of ``eps``.) A pruned weight must stay exactly 0.0 whatever the gradient and the
moments hold at its place: masking the gradient alone is not enough once the moments
there are non-zero, so the checks give them non-zero values.

The early-stopping iteration (Frankle & Carbin's measure of learning speed) is the evaluated
iteration of lowest validation loss, the first of them on a tie.
"""
from __future__ import annotations

from numbers import Real
from typing import Callable, Optional

import numpy as np

from . import reference
from .. import validation
from ..optim import Adam
from .result import Case, CheckResult, Mistake, compare, recognise, run_check, same_numbers, show, where

EARLY_STOPPING_MISTAKES = (
    Mistake("the position of the lowest loss in the curve, not its iteration", "evaluations are every eval_every "
            "iterations (and start at the rewind iteration after late rewinding): return iterations[argmin].",
            lambda it, loss: int(np.argmin(loss))),
    Mistake("the last of the tied lowest losses", "the library takes the first (np.argmin does), the earliest "
            "iteration at which the network was that good.",
            lambda it, loss: it[len(loss) - 1 - int(np.argmin(loss[::-1]))]),
    Mistake("the iteration of the highest validation loss", "early stopping is at the lowest validation loss "
            "(np.argmin, not np.argmax).", lambda it, loss: it[int(np.argmax(loss))]),
    Mistake("the evaluation after the lowest loss", "an off-by-one: return iterations[argmin], not the next one.",
            lambda it, loss: it[int(np.argmin(loss)) + 1]),
    Mistake("the last iteration evaluated", "the early-stopping iteration is where the validation loss is lowest, "
            "not where training ends.", lambda it, loss: it[-1]),
    Mistake("the lowest validation loss itself", "return the iteration at which it was reached.",
            lambda it, loss: min(loss)),
)


def _grade_iteration(case: Case, output, inputs) -> Optional[str]:
    expected = reference.early_stopping_iteration(*case.args)
    if isinstance(output, bool) or not isinstance(output, Real):
        return f"It returned {show(output)}, not an iteration number."
    if output == expected:
        return None
    return (f"Your iteration is {output:g}, expected {expected} (the lowest validation loss, {min(case.args[1]):g}, "
            f"is first reached there)." + recognise("iteration", EARLY_STOPPING_MISTAKES, case.args,
                                                    lambda wrong: wrong == output))


def check_early_stopping_iteration(student_function: Callable, *, points: float = 1.0, seed: int = 0) -> CheckResult:
    """Grade ``student_function(iterations, val_loss) -> int``, the early-stopping iteration of a learning curve.

    ``iterations`` and ``val_loss`` are lists of equal length, one entry per evaluation (as in
    :class:`lottery_np.curves.LearningCurve`); the answer is the iteration of the lowest
    validation loss, the first one on a tie.

    >>> check_early_stopping_iteration(lambda iterations, val_loss: iterations[int(np.argmin(val_loss))]).passed
    True
    """
    names = ("iterations", "val_loss")
    cases = [Case("a curve with one lowest point", names, ([0, 100, 200, 300, 400], [2.3, 0.9, 0.5, 0.6, 0.7])),
             Case("a tie for the lowest loss", names, ([0, 100, 200, 300, 400], [2.3, 0.5, 0.8, 0.5, 0.9])),
             Case("a late-rewound run, evaluated from iteration 500", names, ([500, 600, 700, 800],
                                                                              [0.8, 0.6, 0.4, 0.5])),
             Case("the lowest loss at the first evaluation", names, ([0, 50, 100], [0.3, 0.4, 0.5])),
             Case("the lowest loss at the last evaluation, off the eval_every grid", names,
                  ([0, 100, 200, 250], [1.0, 0.8, 0.6, 0.5]))]
    rng = np.random.default_rng(seed)
    for i in range(4):
        n, every, start = int(rng.integers(3, 11)), int(rng.choice([10, 50, 100])), int(rng.choice([0, 200]))
        iterations = [start + every * k for k in range(n - 1)] + [start + every * (n - 2) + int(rng.integers(1,
                                                                                                          every + 1))]
        losses = [round(float(x), 1) for x in rng.uniform(0.2, 1.0, n)]  # one decimal: ties are likely
        cases.append(Case(f"random {i + 1}", names, (iterations, losses)))
    return run_check("early_stopping_iteration", student_function, cases, _grade_iteration, points)


def wrong_adam(*, form: str = "step_size", shift: int = 0, mask_grad: bool = True, mask_step: bool = True,
               corrected: str = "mv", eps_inside: bool = False, stale: bool = False,
               keep_moments: bool = True) -> Callable:
    """An Adam step in NumPy with the classic mistakes switched on (none: the library's step, in ``form``).

    ``shift`` moves ``t``; ``mask_grad``/``mask_step`` mask the gradient/the step; ``corrected``
    names the moments bias-corrected; ``eps_inside`` takes ``sqrt(v + eps)``; ``stale`` steps
    with the moments before their update; ``keep_moments`` returns ``m`` and ``v`` as given at
    the pruned weights (the step is taken from the moments as updated everywhere, as a student's is).
    """
    def step(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon):
        g = grad * mask if mask_grad else grad
        m_new, v_new = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        t = t + shift
        c1 = 1 - beta1 ** t if "m" in corrected else 1.0
        c2 = 1 - beta2 ** t if "v" in corrected else 1.0
        eps = epsilon * np.sqrt(c2) if form == "moments" else epsilon
        m_used, v_used = (m, v) if stale else (m_new, v_new)
        denominator = np.sqrt(v_used + eps) if eps_inside else np.sqrt(v_used) + eps
        update = learning_rate * np.sqrt(c2) / c1 * m_used / denominator
        if keep_moments:
            m_new, v_new = np.where(mask != 0, m_new, m), np.where(mask != 0, v_new, v)
        return weights - (update * mask if mask_step else update), m_new, v_new
    return step


def adam_mistakes(form: str) -> tuple:
    """The classic wrong Adam steps, for grading the ``form`` of bias correction."""
    other = "moments" if form == "step_size" else "step_size"
    return (
        Mistake("a step with the gradient masked but not the update", "where a pruned weight's moments are non-zero "
                "(state carried over, or a weight pruned mid-training) the update moves it: mask the update too.",
                wrong_adam(form=form, mask_step=False)),
        Mistake("an unmasked step", "a pruned weight must stay exactly 0.0: mask the gradient and the step.",
                wrong_adam(form=form, mask_grad=False, mask_step=False)),
        Mistake("what bias correction with t - 1 gives (the step count off by one)", "t is the number of this step, "
                "1 for the first: at t = 1, 1 - beta1**0 = 0.", wrong_adam(form=form, shift=-1)),
        Mistake("what bias correction with t + 1 gives (the step count off by one)", "t is the number of this step, "
                "1 for the first; do not add 1 to it.", wrong_adam(form=form, shift=1)),
        Mistake("a step without bias correction", "divide by 1 - beta1**t and multiply by sqrt(1 - beta2**t) (the "
                "moments start at 0, so they are too small early on).", wrong_adam(form=form, corrected="")),
        Mistake("a step with only m bias-corrected", "v needs its correction too: multiply by sqrt(1 - beta2**t).",
                wrong_adam(form=form, corrected="m")),
        Mistake(f"the {other!r} form of bias correction", f"this exercise asks for the {form!r} form: "
                + ("eps is added to sqrt(v) as it is" if form == "step_size" else "eps is scaled by sqrt(1 - beta2**t)")
                + " (see lottery_np.optim.Adam).", wrong_adam(form=other)),
        Mistake("a step with sqrt(v + eps)", "eps is added to sqrt(v), not to v.", wrong_adam(form=form,
                                                                                                 eps_inside=True)),
        Mistake("a step with the moments before their update", "update m and v with this gradient first, then step.",
                wrong_adam(form=form, stale=True)),
    )


MOMENT_MISTAKES = (  # the masked gradient first: where grad is 0 under the pruned weights the two agree
    Mistake("what updating the moments everywhere with the masked gradient gives", "a gradient masked to 0 still "
            "decays them (beta1 m, beta2 v): update m and v only where mask is 1 (np.where(alive, new_m, m)).",
            wrong_adam(keep_moments=False)),
    Mistake("what updating the moments with the unmasked gradient gives", "mask the gradient before m and v see it, "
            "and return them as given where mask is 0 (np.where(alive, new_m, m)).",
            wrong_adam(mask_grad=False, keep_moments=False)),
)

INPUTS = ("weights", "grad", "m", "v", "t", "mask")


def _changed_inputs(case: Case, inputs: tuple) -> Optional[str]:
    """Which of the arrays a step was given it changed in place, said in one sentence (None: none)."""
    changed = [(name, given, after) for name, given, after in zip(INPUTS, case.args, inputs)
               if isinstance(given, np.ndarray) and not np.array_equal(given, after)]
    if not changed:
        return None
    name, given, after = changed[0]
    at = tuple(np.argwhere(given != after)[0]) if np.shape(after) == given.shape else None
    first = "" if at is None else f" ({name}{where(at)} was {given[at]:.6g}, is now {after[at]:.6g})"
    names = [n for n, _, _ in changed]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (f"It changed its input {listed} in place{first}: do not change the arrays you are given, the caller "
            "may still need them (the weights before the step, the state to retry from); return new arrays: "
            "w - step and beta1 * m + ... make new ones, while w -= step, m *= beta1 or m[alive] = ... write into "
            "the ones given.")


def _grade_adam(form: str) -> Callable:
    """What is wrong with a student's ``(weights, m, v)``: inputs changed, pruned weights moved, steps, moments."""
    def grade(case: Case, output, inputs) -> Optional[str]:
        if not isinstance(output, (tuple, list)) or len(output) != 3:
            return f"It returned {show(output)}, not the three arrays (weights, m, v)."
        weights, mask = case.args[0], case.args[5] != 0
        expected = reference.adam_step(*case.args, bias_correction=form)
        for name, yours, right in zip(("weights", "m", "v"), output, expected):
            if np.shape(yours) != right.shape:
                return compare(name, yours, right)
        changed = _changed_inputs(case, inputs)
        if changed:
            return changed
        new = np.asarray(output[0], dtype=np.float64)
        moved = np.argwhere(~mask & (new != 0))
        problem = (f"Your step moved the pruned weight weights{where(moved[0])} to {new[tuple(moved[0])]:.3g}: a "
                   "pruned weight must stay exactly 0.0 whatever grad, m and v hold at its place." if len(moved) else
                   compare("step", np.where(mask, new - weights, 0),
                           np.where(mask, expected[0] - weights, 0)))
        if problem:
            return problem + recognise("step", adam_mistakes(form), case.args, lambda wrong: same_numbers(
                new - weights)(np.asarray(wrong[0]) - weights))
        for name, yours, right, given in zip(("m", "v"), output[1:], expected[1:], case.args[2:4]):
            problem = compare(name, np.where(mask, yours, 0), np.where(mask, right, 0))  # the survivors first
            if problem:
                unchanged = np.array_equal(np.asarray(yours), given)
                return problem + (f" It is the {name} you were given: return the updated one." if unchanged else "")
        for k, (name, yours, given) in enumerate(zip(("m", "v"), output[1:], case.args[2:4]), start=1):
            yours = np.asarray(yours, dtype=np.float64)
            moved = np.argwhere(~mask & (yours != given))
            if len(moved):
                at = tuple(moved[0])
                return (f"Your {name} at the pruned weight {name}{where(at)} is {yours[at]:.3g}, but it was given as "
                        f"{given[at]:.3g}: where mask is 0, m and v must come back as given, whatever grad holds "
                        "there (a pruned weight's moments are left alone)." + recognise(
                            name, MOMENT_MISTAKES, case.args, lambda wrong: same_numbers(yours)(wrong[k])))
        return None
    return grade


def _adam_cases(seed: int) -> list[Case]:
    """A dense first step, gradients and moments under pruned weights, gradients near eps, and 4 random steps."""
    names = ("weights", "grad", "m", "v", "t", "mask", "learning_rate", "beta1", "beta2", "epsilon")
    paper = (1.2e-3, 0.9, 0.999, 1e-8)
    mask = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    dense = np.array([[0.5, -0.3, 0.2], [0.8, 0.4, -1.1]])
    grad = np.array([[0.1, -0.2, 0.05], [0.3, -0.01, 0.02]])
    m, v = 0.1 * grad, 2e-3 * grad ** 2 + 1e-6  # as a few steps leave them
    # m and v of the first step are two arrays, as in a model: one array as both would hide a step done in place
    cases = [Case("the first step of a dense layer", names,
                  (dense, grad, np.zeros((2, 3)), np.zeros((2, 3)), 1, np.ones((2, 3))) + paper),
             Case("a gradient that is non-zero under pruned weights", names,
                  (dense * mask, grad, np.zeros((2, 3)), np.zeros((2, 3)), 1, mask) + paper),
             Case("step 3, with moments left under pruned weights", names,
                  (dense * mask, np.where(mask != 0, grad, 0.0), m, v, 3, mask) + paper),
             Case("gradients about as small as epsilon", names,
                  (dense * mask, 1e-7 * grad, 1e-7 * m, 1e-14 * v, 2, mask) + paper)]
    rng = np.random.default_rng(seed)
    for i in range(4):
        shape, t = tuple(rng.integers(1, 4, size=2)), int(rng.integers(1, 20))
        mask = (rng.random(shape) < 0.6).astype(np.float64)
        m, v = (np.zeros(shape), np.zeros(shape)) if t == 1 else (rng.normal(size=shape) * 0.01,
                                                                   rng.random(shape) * 1e-4)
        cases.append(Case(f"random {i + 1}", names, (rng.normal(size=shape) * mask, rng.normal(size=shape) * 0.1, m, v,
                                                     t, mask, float(rng.choice([1.2e-3, 1e-2])), 0.9, 0.999, 1e-8)))
    return cases


def check_adam_step(student_function: Callable, *, bias_correction: str = "step_size", points: float = 1.0,
                    seed: int = 0) -> CheckResult:
    """Grade ``student_function(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon)``, one Adam step.

    It returns new ``(weights, m, v)``; ``t`` is the number of this step (1 for the first, when
    ``m`` and ``v`` are 0). The step of every surviving weight must match the library's
    (:class:`lottery_np.optim.Adam` in the ``bias_correction`` form asked for) to float64
    precision, every pruned weight must stay exactly 0.0, ``m`` and ``v`` must match the library's
    at the surviving weights and come back exactly as given at the pruned ones, and the arrays
    given must not change.

    >>> check_adam_step(reference.adam_step).passed
    True
    """
    bias_correction = validation.choice("bias_correction", bias_correction, Adam.FORMS)
    return run_check("adam_step", student_function, _adam_cases(seed), _grade_adam(bias_correction), points)
