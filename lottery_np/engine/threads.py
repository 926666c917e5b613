"""How many threads training runs on: Numba's, chosen for the machine's load; BLAS's, always one.

Training at the paper's batch of 60 is a long series of small products, each a
parallel region of a few tens of microseconds. Every region ends at a barrier:
no thread goes on until all have finished. On a machine whose cores are busy
with other work, one of the threads is often waiting for a core, and the
others wait for it at every barrier, a scheduler time slice (milliseconds)
instead of microseconds. So two threads win on a quiet machine and lose
against one on a busy one (``benchmarks/README.md`` ("The measurements behind the engine") has the rounds timed both ways). The default,
``"auto"``, therefore decides when training starts (each pruning round): as many
threads as there are cores that nothing else is running on, and at least one
(:func:`idle_cores`).

The number of threads is set, in order of precedence, by ``--threads`` on the
command line (:func:`configure`), the ``LOTTERY_NP_THREADS`` environment
variable, or :data:`DEFAULT_THREADS`; each takes a number or ``auto``.

**The numbers a run produces do not depend on it.** The setting is the number of
*Numba* threads: every Numba kernel splits its work so that each output is
computed by one thread, in the same order whatever their number. BLAS does not
promise that: OpenBLAS can multiply LeNet's 60 x 784 batch by its 784 x 300
weights into different float32 roundings on one thread and on two. So
training runs BLAS on one thread, always (:func:`limited`); otherwise the dense
path's numbers would depend on how busy the machine was when a round started.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator, Union

import numba
from threadpoolctl import threadpool_limits

from .. import validation

ENVIRONMENT_VARIABLE = "LOTTERY_NP_THREADS"
AUTO = "auto"
LOADAVG = "/proc/loadavg"
DEFAULT_THREADS = AUTO

Threads = Union[int, str, None]


def idle_cores(samples: int = 5, interval: float = 0.002) -> int:
    """Cores that no other process's runnable thread is using now, at least 1.

    Linux's ``/proc/loadavg`` counts the threads of the machine running or
    ready to run at this instant; those of this process (``/proc/self/task``,
    whose BLAS threads may still be spinning after their last product) are
    left out. The fewest over ``samples`` readings count, so that one
    short-lived command does not. Elsewhere, the one-minute load average stands in.
    """
    cores = numba.config.NUMBA_NUM_THREADS
    try:
        readings = []
        for _ in range(samples):
            with open(LOADAVG, encoding="ascii") as file:
                running = int(file.read().split()[3].split("/")[0])
            readings.append(running - _running_threads_of_this_process())
            time.sleep(interval)
        others = min(readings)
    except (OSError, IndexError, ValueError):
        others = round(os.getloadavg()[0]) - 1 if hasattr(os, "getloadavg") else 0
    return max(1, min(cores, cores - max(0, others)))


def _running_threads_of_this_process() -> int:
    """Threads of this process in state R (running or runnable), from ``/proc/self/task/*/stat``."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as file:
                count += file.read().rsplit(")", 1)[1].split()[0] == "R"
        except OSError:  # the thread ended meanwhile
            continue
    return count


def requested(threads: Threads = None) -> int:
    """The number of threads to use: ``threads`` if given, else ``$LOTTERY_NP_THREADS``, else the default.

    ``"auto"`` means :func:`idle_cores`.

    Raises
    ------
    SettingError
        If the value is neither ``"auto"`` nor an integer between 1 and the number of CPUs Numba can use.
    """
    name = "threads"
    if threads is None:
        threads = os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or DEFAULT_THREADS
        name = ENVIRONMENT_VARIABLE if ENVIRONMENT_VARIABLE in os.environ else name
    if _is_auto(threads):
        return idle_cores()
    if isinstance(threads, str):
        try:
            threads = int(threads)
        except ValueError:
            raise validation.SettingError(name, f"{AUTO!r} or an integer", threads) from None
    return validation.integer(name, threads, minimum=1, maximum=numba.config.NUMBA_NUM_THREADS)


_chosen: Threads = None  # set by configure(), or by an enclosing limited() while it runs


def _is_auto(threads: Threads) -> bool:
    return isinstance(threads, str) and threads.strip().lower() == AUTO


def current() -> int:
    """The threads training runs on now: the last :func:`configure` or enclosing :func:`limited`, else :func:`requested`."""
    return requested(_chosen)


def configure(threads: Threads = None) -> int:
    """Choose the threads for the rest of the process (see :func:`requested`) and return their number now.

    :func:`lottery_np.training.train` runs Numba on them (``"auto"`` decides
    anew at each call), and BLAS on one; Numba is also set to them at once.
    """
    global _chosen
    number = requested(threads)
    _chosen = AUTO if _is_auto(threads) else number
    numba.set_num_threads(number)
    return number


@contextlib.contextmanager
def limited(threads: Threads = None) -> Iterator[int]:
    """Run the block with Numba on ``threads`` threads (default :func:`current`) and BLAS on one; restore both.

    Inside the block, :func:`current` is that number (or ``"auto"`` again, if
    asked for): a training run inside a benchmark job that asked for one thread
    stays on one. BLAS stays on one thread whatever ``threads`` is, so that the
    dense path's numbers never depend on it (see the module's docstring).
    """
    global _chosen
    number = current() if threads is None else requested(threads)
    previous, previous_numba = _chosen, numba.get_num_threads()
    _chosen = AUTO if _is_auto(threads) else number
    numba.set_num_threads(number)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield number
    finally:
        _chosen = previous
        numba.set_num_threads(previous_numba)
