"""Export: a ticket as the smaller dense network it really is, and as PyTorch modules.

An optional feature on top of the textbook: the core types (:class:`~lottery_np.MLP`,
:class:`~lottery_np.pruning.WinningTicket`) know nothing of it, and every function here
takes either.

* :func:`compact` -- the dense network of the units that can still influence the output
  (:class:`CompactNetwork`), whose predictions equal the sparse network's;
* :func:`to_torch` -- a ``torch.nn.Sequential`` pruned by ``torch.nn.utils.prune``
  (the ``[torch]`` extra); :meth:`CompactNetwork.to_torch` exports the compact one.
"""
from .compaction import CompactNetwork, compact, to_torch

__all__ = ["CompactNetwork", "compact", "to_torch"]
