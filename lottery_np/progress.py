"""Progress bars that stay readable in a log file.

On a terminal a :mod:`tqdm` bar redraws itself in place with carriage returns. Written
to a log file or a CI console, every redraw becomes garbage. So when ``sys.stderr`` is
not a terminal, :func:`progress_bar` returns a :class:`LineProgress` instead: it prints
one plain line per finished unit of work (a pruning round, a benchmark job), or nothing
at all for bars whose units are too small to log (training iterations).

A Jupyter kernel's ``sys.stderr`` is not a terminal either, so a notebook gets the plain
lines too, never a widget. That is why the bar is ``tqdm.asyncio``'s, the class
``tqdm.auto`` picks outside Jupyter, and not ``tqdm.auto``'s own: importing ``tqdm.auto``
in a kernel without ``ipywidgets`` warns (``TqdmWarning: IProgress not found``) about a
widget this module never draws.
"""
from __future__ import annotations

import sys

from tqdm.asyncio import tqdm


class LineProgress:
    """The :mod:`tqdm` calls the library makes, printed as one line per :meth:`update` on ``sys.stderr``.

    A line reads ``"{desc} {n}/{total} {unit} key=value ..."``, the postfix being the
    last one given to :meth:`set_postfix`. With ``quiet`` it prints nothing.
    """

    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0, quiet: bool = False):
        self.total, self.desc, self.unit, self.n, self.quiet = total, desc, unit, initial, quiet
        self.postfix: dict[str, object] = {}

    def set_postfix(self, **postfix) -> None:
        """Values to show on the next line."""
        self.postfix = postfix

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done and print the line."""
        self.n += n
        if not self.quiet:
            values = "".join(f" {key}={value}" for key, value in self.postfix.items())
            print(f"{self.desc} {self.n}/{self.total} {self.unit}{values}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to tidy: every line is already complete."""


def progress_bar(total: int, desc: str, enabled: bool, *, unit: str = "it", initial: int = 0,
                 log_updates: bool = True, leave: bool = True) -> tqdm | LineProgress:
    """A progress bar over ``total`` units, or its plain-line form when ``sys.stderr`` is not a terminal.

    Parameters
    ----------
    total : int
    desc : str
        Starts every line (and names the bar).
    enabled : bool
        False: show nothing (a disabled bar whose calls do nothing).
    unit : str
    initial : int
        Units already done (a resumed run).
    log_updates : bool
        In a log, print one line per update (True) or nothing at all (False: for bars
        whose updates are too many to be worth a line each).
    leave : bool
        On a terminal, keep the finished bar on screen.
    """
    if enabled and not sys.stderr.isatty():
        return LineProgress(total, desc, unit, initial, quiet=not log_updates)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=leave, disable=not enabled)
