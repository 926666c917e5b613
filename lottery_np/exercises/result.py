"""What a check returns, and the plumbing every check shares.

A check runs a student's function on a list of :class:`Case` (hand-built ones that
set the classic traps, then random ones) and stops at the first wrong answer. Its
:class:`CheckResult` says, in one paragraph, what was wrong, on which input, by how
much, and which mistake the answer matches: each exercise lists its classic
:class:`Mistake` s as wrong solutions, and :func:`recognise` runs them on the failing
case to find the one the student's answer equals.
"""
from __future__ import annotations

import copy
import os
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import validation
from .gradcheck import relative_error

TOLERANCE = 1e-7
"""The largest relative error (:func:`~lottery_np.exercises.gradcheck.relative_error`) a float64 answer may have."""


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The grade of one exercise.

    Attributes
    ----------
    passed : bool
    points : float
        ``max_points`` if passed, else 0.
    feedback : str
        One paragraph for the student.
    exercise : str
        The name of the function graded.
    max_points : float

    Examples
    --------
    >>> result = CheckResult(False, 0.0, "Wrong on the case 'ties'.", "prune_layerwise", 2.0)
    >>> print(result)
    prune_layerwise: FAILED (0/2 points). Wrong on the case 'ties'.
    """

    passed: bool
    points: float
    feedback: str
    exercise: str
    max_points: float

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.exercise}: {verdict} ({self.points:g}/{self.max_points:g} points). {self.feedback}"

    __repr__ = __str__  # a notebook shows the verdict, not the fields

    def assert_passed(self) -> None:
        """Raise ``AssertionError`` with the feedback unless passed (a hidden nbgrader cell fails with it)."""
        if not self.passed:
            raise AssertionError(str(self))


@dataclass(frozen=True)
class Case:
    """One input of an exercise: ``args`` for the function, named ``names`` when printed."""

    title: str
    names: tuple
    args: tuple

    def show(self) -> str:
        """The inputs as ``name = value``, small arrays printed in full, larger ones by shape."""
        return ", ".join(f"{name} = {show(value)}" for name, value in zip(self.names, self.args))


@dataclass(frozen=True)
class Mistake:
    """A classic wrong solution: ``compute`` has the exercise's signature and gives ``what``; ``why`` explains it."""

    what: str
    why: str
    compute: Callable


def show(value: Any) -> str:
    """A value on one line: arrays of up to 40 entries in full (4 significant digits), larger ones by shape.

    >>> show(np.array([[1.0, -0.5], [0.25, 2.0]]))
    '[[1, -0.5], [0.25, 2]]'
    >>> show([np.zeros((30, 20))])
    '[an array of shape (30, 20)]'
    """
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, np.ndarray):
        if value.size > 40:
            return f"an array of shape {value.shape}"
        text = np.array2string(value, separator=", ", threshold=40, formatter={"float_kind": lambda x: f"{x:.4g}"})
        return " ".join(text.split())
    return repr(value)


def where(index: tuple) -> str:
    """``[1, 0]`` for the index ``(1, 0)``."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def error_text(error: Exception) -> str:
    """``ValueError: ... (line 3 of your code: `y = x @ w`)``, naming the deepest line outside NumPy."""
    numpy_dir = os.path.dirname(np.__file__)
    frames = [f for f in traceback.extract_tb(error.__traceback__)[1:] if not f.filename.startswith(numpy_dir)]
    place = f" (line {frames[-1].lineno} of your code: `{frames[-1].line}`)" if frames and frames[-1].line else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())}{place}"  # one line: the feedback is a paragraph


def call(student: Callable, args: tuple) -> tuple[Any, Optional[str], tuple]:
    """``(output, None, inputs)``, or ``(None, error text, inputs)`` if the student's function raised.

    The function gets deep copies (``inputs``), so it cannot damage the cases; compare them with the
    case's arguments to see whether it changed its inputs in place.
    """
    inputs = copy.deepcopy(args)
    try:
        with np.errstate(all="ignore"):
            return student(*inputs), None, inputs
    except Exception as error:  # the student's bug, reported rather than raised
        return None, error_text(error), inputs


def recognise(name: str, mistakes: Sequence[Mistake], args: tuple, same: Callable[[Any], bool]) -> str:
    """The sentence naming the first of ``mistakes`` whose answer on ``args`` is ``same`` as the student's ``name``.

    "" if none is: the answer is wrong in a way no listed mistake explains.
    """
    for mistake in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = mistake.compute(*copy.deepcopy(args))
            if same(wrong):
                return f" Your {name} {'are' if name.endswith('s') else 'is'} exactly {mistake.what}: {mistake.why}"
        except Exception:  # a wrong solution that cannot run on this case is not the one
            continue
    return ""


def compare(name: str, yours: Any, expected: np.ndarray) -> Optional[str]:
    """Why ``yours`` is not ``expected`` to float64 precision (shape, NaN, largest difference), or None if it is."""
    kind = getattr(yours, "dtype", np.dtype(np.float64))
    low = f" Yours is {kind}: compute in float64." if kind.kind == "f" and kind.itemsize < 8 else ""
    try:
        yours = np.asarray(yours, dtype=np.float64)
    except (TypeError, ValueError):
        return f"Your {name} is not an array of numbers (got {type(yours).__name__})."
    if yours.shape != expected.shape:
        hint = " (the transpose's shape)" if yours.shape == expected.shape[::-1] and yours.ndim == 2 else ""
        return f"Your {name} has shape {yours.shape}{hint}, expected {expected.shape}."
    bad = ~np.isfinite(yours)
    if bad.any():
        return f"Your {name} holds NaN or infinity, first at {name}{where(np.argwhere(bad)[0])}."
    error = relative_error(yours, expected)
    if error <= TOLERANCE:
        return None
    at = np.unravel_index(np.argmax(np.abs(yours - expected)), expected.shape)  # + 0.0 below prints -0.0 as 0
    return (f"Your {name} is off by up to {np.abs(yours - expected)[at]:.3g} (at {name}{where(at)} yours is "
            f"{yours[at] + 0.0:.4g}, expected {expected[at] + 0.0:.4g}; relative error {error:.1e}, where "
            f"{TOLERANCE:.0e} or below is right)." + low)


def same_numbers(yours: Any) -> Callable[[Any], bool]:
    """The test :func:`recognise` needs: is a wrong answer equal to ``yours`` to float64 precision?"""
    def same(wrong: Any) -> bool:
        a, b = np.asarray(yours, dtype=np.float64), np.asarray(wrong, dtype=np.float64)
        if a.shape != b.shape or not np.array_equal(np.isfinite(a), np.isfinite(b)):
            return False
        finite = np.isfinite(a)
        return not finite.any() or relative_error(a[finite], b[finite]) <= TOLERANCE
    return same


def run_check(exercise: str, student: Callable, cases: Sequence[Case],
              grade: Callable[[Case, Any, tuple], Optional[str]], points: float) -> CheckResult:
    """Grade ``student`` on ``cases`` in order; ``grade(case, output, inputs)`` says what is wrong, or None.

    Raises
    ------
    TypeError
        If ``student`` is not callable.
    """
    if not callable(student):
        raise TypeError(f"student_function must be callable, got {type(student).__name__}")
    points = validation.real("points", points, 0.0)
    for case in cases:
        output, error, inputs = call(student, case.args)
        problem = f"It raised {error}." if error else grade(case, output, inputs)
        if problem:
            return CheckResult(False, 0.0, f"Wrong on the case '{case.title}' ({case.show()}). {problem}", exercise,
                               points)
    hand = [case.title for case in cases if not case.title.startswith("random")]
    return CheckResult(True, points, f"Right on all {len(cases)} cases: {'; '.join(hand)}; and "
                       f"{len(cases) - len(hand)} random ones.", exercise, points)
