"""How many threads the engine's kernels run on: one setting for BLAS's pool and Numba's.

Training at the paper's batch of 60 is a long series of small products, each a
parallel region of a few tens of microseconds. Every region ends at a barrier:
no thread goes on until all have finished. On a machine whose cores are busy
with other work, one of the two threads is often waiting for a core, and the
other waits for it at every barrier, a scheduler time slice (milliseconds)
instead of microseconds. See :data:`DEFAULT_THREADS` for what that cost here.

The number of threads is set, in order of precedence, by ``--threads`` on the
command line (:func:`configure`), the ``LOTTERY_NP_THREADS`` environment
variable, or :data:`DEFAULT_THREADS`. The numbers do not depend on it: every
kernel splits its work so that each output is computed by one thread, in the
same order whatever the number of threads.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

import numba
from threadpoolctl import threadpool_limits

from . import validation

ENVIRONMENT_VARIABLE = "LOTTERY_NP_THREADS"

# One thread. Measured on this project's 2-core machine (Intel Xeon, Emerald Rapids; OpenBLAS 0.3.31,
# numba 0.68.1 with its OpenMP layer), MNIST, LeNet-300-100, a 500-iteration round evaluating every
# 100, medians of 2, quiet / with two other processes spinning on the same cores:
#   1 thread:  dense 1.37 / 2.13 s (1.55x slower), 10 % density 0.51 / 0.96 s (1.86x)
#   2 threads: dense 0.99 / 3.67 s (3.72x slower), 10 % density 0.43 / 1.31 s (3.04x)
# Two threads win 1.2-1.4x on a quiet machine and lose 1.4-1.7x against one on a busy one; one thread
# never falls behind its fair share. Set LOTTERY_NP_THREADS=2 (or --threads 2) on a machine of your own.
DEFAULT_THREADS = 1


def requested(threads: Optional[int] = None) -> int:
    """The number of threads to use: ``threads`` if given, else ``$LOTTERY_NP_THREADS``, else the default.

    Raises
    ------
    SettingError
        If the value is not an integer between 1 and the number of CPUs Numba can use.
    """
    if threads is None:
        text = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if not text:
            return min(DEFAULT_THREADS, numba.config.NUMBA_NUM_THREADS)
        try:
            threads = int(text)
        except ValueError:
            raise validation.SettingError(ENVIRONMENT_VARIABLE, "an integer", text) from None
        name = ENVIRONMENT_VARIABLE
    else:
        name = "threads"
    return validation.integer(name, threads, minimum=1, maximum=numba.config.NUMBA_NUM_THREADS)


_chosen: Optional[int] = None  # set by configure(), or by an enclosing limited() while it runs


def current() -> int:
    """The threads training runs on now: the last :func:`configure` or enclosing :func:`limited`, else :func:`requested`."""
    return requested() if _chosen is None else _chosen


def configure(threads: Optional[int] = None) -> int:
    """Choose the threads for the rest of the process (see :func:`requested`) and return the number.

    :func:`lottery_np.training.train` runs on them; they are also set at once for
    BLAS and Numba.
    """
    global _chosen
    _chosen = requested(threads)
    numba.set_num_threads(_chosen)
    threadpool_limits(limits=_chosen)
    return _chosen


@contextlib.contextmanager
def limited(threads: Optional[int] = None) -> Iterator[int]:
    """Run the block with BLAS and Numba on ``threads`` threads (default :func:`current`), then restore both.

    Inside the block, :func:`current` is ``threads``: a training run inside a
    benchmark job that asked for one thread stays on one.
    """
    global _chosen
    threads = current() if threads is None else requested(threads)
    previous, previous_numba = _chosen, numba.get_num_threads()
    _chosen = threads
    numba.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield threads
    finally:
        _chosen = previous
        numba.set_num_threads(previous_numba)
