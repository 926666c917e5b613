"""Sparse training from the first step: the network's connections move while it learns (dynamic sparse training).

* :mod:`.rewiring` -- SET and RigL: drop the weakest connections, grow new ones, every ``ΔT`` steps,
  on the engine's sparse step (:func:`lottery_np.train` takes a :class:`Rewiring`).

The masks to start from come from :mod:`lottery_np.pruning` (``random_masks_at`` with a uniform or
Erdős–Rényi distribution of the density over the layers).
"""
from .rewiring import REWIRINGS, Rewiring, cosine_fraction, drop_and_grow

__all__ = ["REWIRINGS", "Rewiring", "cosine_fraction", "drop_and_grow"]
