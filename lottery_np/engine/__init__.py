"""The engine: what makes the textbook's network fast, kept below it.

Nothing here is needed to understand the Lottery Ticket Hypothesis; everything here is
needed to run it in minutes. The textbook (:mod:`lottery_np.model`, :mod:`lottery_np.optim`,
:mod:`lottery_np.training`) calls in; the engine imports none of it.

* :mod:`.kernels` -- the three products of a masked layer on a dense, sparse or reference
  path, a whole sparse network's backprop and inference in one compiled call, and the
  NumPy definitions each kernel is tested against;
* :mod:`.step` -- one training update as the loop takes it, with the surviving weights
  kept packed for a sparse network;
* :mod:`.updates` -- the optimizers' compiled update loops, and why they keep subnormal
  numbers out;
* :mod:`.threads` -- how many threads the compiled kernels use, and why BLAS gets one.
"""
from . import kernels, threads, updates
from .kernels import SampleBlocks, SparsityPattern
from .step import LayerwiseStep, PackedSparseStep, TrainingStep, training_step

__all__ = ["LayerwiseStep", "PackedSparseStep", "SampleBlocks", "SparsityPattern", "TrainingStep", "kernels", "threads",
           "training_step", "updates"]
