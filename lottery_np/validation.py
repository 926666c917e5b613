"""One rule for every numeric or named setting, and one shape for its error message.

Every settings object of the library (training, pruning, optimizers, the benchmark)
checks its values with these functions, so that the same kind of mistake is refused
the same way everywhere::

    >>> integer("pruning_rounds", True, minimum=1)
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: pruning_rounds must be an integer >= 1, got True

The rules a researcher expects of a number:

* ``bool`` is refused wherever a number belongs (``True`` is an ``int`` to Python,
  but ``iterations(True)`` is a mistake, not one iteration);
* NumPy scalars (``np.int64(3)``, ``np.float32(0.5)``) are accepted and returned as
  Python ``int``/``float``;
* a real number must be finite unless a setting says otherwise;
* a string, ``None`` or any other object where a number belongs is a
  :class:`SettingError` naming the setting, never a raw ``TypeError``.

:class:`SettingError` is a ``ValueError`` whose ``setting`` attribute names the
setting as the library spells it, so a front end (the command line) can map it to its
own spelling (``pruning_rounds`` -> ``--rounds``) without reading the message.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence


class SettingError(ValueError):
    """A setting with a bad value.

    Attributes
    ----------
    setting : str
        The setting's name, as the library spells it (``"target_sparsity"``).

    Examples
    --------
    >>> try:
    ...     integer("pruning_rounds", 0, minimum=1)
    ... except ValueError as error:  # a SettingError is a ValueError
    ...     print(f"{error.setting} | {error}")
    pruning_rounds | pruning_rounds must be an integer >= 1, got 0
    """

    def __init__(self, setting: str, rule: str, value: Any, *, message: Optional[str] = None):
        self.setting = setting
        super().__init__(message or f"{setting} must be {rule}, got {value!r}")


def _describe(minimum, maximum, low_open: bool, high_open: bool) -> str:
    minimum, maximum = (f"{bound:g}" if isinstance(bound, float) else bound for bound in (minimum, maximum))
    if minimum is not None and maximum is not None:
        return f"in {'(' if low_open else '['}{minimum}, {maximum}{')' if high_open else ']'}"
    if minimum is not None:
        return f"{'>' if low_open else '>='} {minimum}"
    if maximum is not None:
        return f"{'<' if high_open else '<='} {maximum}"
    return "any value"


def integer(name: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``value`` as a Python ``int``, if it is an integer (not a bool) in ``[minimum, maximum]``.

    Raises
    ------
    SettingError
        Naming ``name``, the rule and the value.

    Examples
    --------
    >>> integer("batch_size", 60, minimum=1)
    60
    >>> integer("batch_size", 0.5, minimum=1)
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: batch_size must be an integer >= 1, got 0.5
    """
    rule = "an integer" + ("" if minimum is None and maximum is None else " " + _describe(minimum, maximum, False, False))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingError(name, rule, value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise SettingError(name, rule, value)
    return value


def real(name: str, value: Any, minimum: Optional[float] = None, maximum: Optional[float] = None, *,
         low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a Python ``float``, if it is a real number (not a bool) in the interval given.

    Parameters
    ----------
    name : str
        The setting, for the message.
    minimum, maximum : float, optional
        Bounds of the interval (None: unbounded on that side).
    low_open, high_open : bool
        Exclude the bound itself (``low_open=True`` with ``minimum=0``: positive).
    finite : bool
        Refuse NaN and infinities (always refused when a bound would not exclude them).

    Raises
    ------
    SettingError
        Naming ``name``, the rule and the value.

    Examples
    --------
    >>> real("target_sparsity", 0.9, 0, 1, high_open=True)
    0.9
    >>> real("target_sparsity", 1, 0, 1, high_open=True)
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: target_sparsity must be a finite number in [0, 1), got 1
    """
    rule = ("a finite number" if finite else "a number")
    bounds = _describe(minimum, maximum, low_open, high_open)
    if bounds != "any value":
        rule += " " + bounds
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SettingError(name, rule, value)
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)):
        raise SettingError(name, rule, value)
    too_low = minimum is not None and (number <= minimum if low_open else number < minimum)
    too_high = maximum is not None and (number >= maximum if high_open else number > maximum)
    if too_low or too_high:
        raise SettingError(name, rule, value)
    return number


def distinct_integers(name: str, values: Any, minimum: Optional[int] = 0, maximum: Optional[int] = None, *,
                      at_least_one: bool = True) -> tuple:
    """``values`` as a tuple of distinct integers in the bounds (seeds, iterations, rounds).

    Raises
    ------
    SettingError
        Naming ``name[i]`` for an entry out of bounds, or ``name`` for repeats (or none, with ``at_least_one``).

    Examples
    --------
    >>> distinct_integers("seeds", [0, 2])
    (0, 2)
    >>> distinct_integers("seeds", [1, 1])
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: seeds must be distinct integers, at least one, got [1, 1]
    """
    checked = tuple(integer(f"{name}[{i}]", v, minimum=minimum, maximum=maximum) for i, v in enumerate(values))
    if len(set(checked)) != len(checked) or (at_least_one and not checked):
        raise SettingError(name, "distinct integers" + (", at least one" if at_least_one else ""), list(checked))
    return checked


def optional(check, name: str, value: Any, **bounds):
    """``None`` stays ``None``; anything else goes through ``check(name, value, **bounds)``.

    Examples
    --------
    >>> optional(integer, "epochs", None) is None, optional(integer, "epochs", 3, minimum=1)
    (True, 3)
    """
    return None if value is None else check(name, value, **bounds)


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``options``.

    Raises
    ------
    SettingError
        Naming ``name``, the options and the value.

    Examples
    --------
    >>> choice("scope", "global", ("layerwise", "global"))
    'global'
    >>> choice("scope", "Global", ("layerwise", "global"))
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: scope must be one of 'layerwise', 'global', got 'Global'
    """
    if not isinstance(value, str) or value not in options:
        raise SettingError(name, f"one of {', '.join(map(repr, options))}", value)
    return value


def exactly_one_length(iterations: Any, epochs: Any) -> None:
    """The one home of "a training length is given as iterations or as epochs, not both, not neither".

    Raises
    ------
    SettingError
        Naming ``iterations`` (the setting a user most often means).

    Examples
    --------
    >>> exactly_one_length(1000, None)  # iterations alone: fine
    >>> exactly_one_length(1000, 5)
    Traceback (most recent call last):
    ...
    lottery_np.validation.SettingError: give exactly one of iterations and epochs, got iterations=1000, epochs=5
    """
    if (iterations is None) == (epochs is None):
        raise SettingError("iterations", "", None, message="give exactly one of iterations and epochs, "
                           f"got iterations={iterations!r}, epochs={epochs!r}")
