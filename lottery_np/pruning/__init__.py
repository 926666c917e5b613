"""Pruning: winning tickets by iterative magnitude pruning with rewinding, and the baselines.

The pieces, in the order data flows through them:

* :mod:`.schedule` -- how many weights each round keeps;
* :mod:`.masks` -- magnitude pruning as pure functions on masks;
* :mod:`.criteria` -- which weights a round keeps, by any of Zhou et al.'s mask criteria (magnitude is one);
* :mod:`.rewind` -- where the survivors restart;
* :mod:`.loop` -- the prune-and-retrain loop, measuring each round in a :class:`RoundRecord` (:mod:`.record`),
  with checkpoints in :mod:`.checkpoint`;
* :mod:`.lottery` -- :class:`LotteryTicketPruner`, returning a :class:`WinningTicket` (:mod:`.ticket`);
  tickets and checkpoints share one file layout (:mod:`.layout`);
* :mod:`.baseline` -- :class:`MagnitudePruner`, prune-and-fine-tune without rewinding;
* :mod:`.controls` -- random reinitialization and random masks;
* :mod:`.treatments` -- where the kept weights restart (rewound, reinitialized, reshuffled, constant, their
  signs kept or not) and what the pruned ones hold: Zhou et al.'s mask-1 and mask-0 actions;
* :mod:`.distribution` -- how many weights each layer keeps when a mask is drawn before training
  (uniform, Erdős–Rényi), random masks of those counts, and shuffling a mask within its layers;
* :mod:`.saliency` -- which weights to keep before training, by a score: SNIP, GraSP, SynFlow, and the masks
  they choose; GraSP's Hessian-gradient product comes from the R-operator in :mod:`.hessian`.
"""
from .baseline import MagnitudePruner, PrunedNetwork
from .checkpoint import FinishedRound, RunState, read_checkpoint
from .criteria import CRITERIA, criterion_masks, random_scores
from .controls import random_mask_model, random_reinit_model
from .distribution import DISTRIBUTIONS, layer_counts, random_masks_at, shuffle_masks
from .hessian import hessian_vector_product
from .loop import NUMERICS_VERSION, PruningSchedule
from .lottery import DEFAULT_ACCURACY_TOLERANCE, LotteryTicketPruner
from .masks import density, prune_global, prune_layerwise, random_masks
from .options import PrunerBuilder, PruningOptions
from .record import RoundRecord, history_from_dicts
from .rewind import RewindStrategy
from .saliency import (grasp_masks, grasp_scores, masks_from_scores, snip_masks, snip_scores, synflow_masks,
                       synflow_scores)
from .schedule import fixed_rate_schedule, global_schedule, layerwise_schedule
from .ticket import WinningTicket
from .treatments import PRUNED_TREATMENTS, TREATMENTS, pruned_values, treat, zero_shrunk

__all__ = [
    "CRITERIA",
    "PRUNED_TREATMENTS",
    "TREATMENTS",
    "DEFAULT_ACCURACY_TOLERANCE",
    "DISTRIBUTIONS",
    "FinishedRound",
    "LotteryTicketPruner",
    "MagnitudePruner",
    "NUMERICS_VERSION",
    "PrunedNetwork",
    "PrunerBuilder",
    "PruningOptions",
    "PruningSchedule",
    "RewindStrategy",
    "RoundRecord",
    "RunState",
    "WinningTicket",
    "density",
    "criterion_masks",
    "fixed_rate_schedule",
    "global_schedule",
    "grasp_masks",
    "grasp_scores",
    "hessian_vector_product",
    "history_from_dicts",
    "layer_counts",
    "layerwise_schedule",
    "masks_from_scores",
    "prune_global",
    "prune_layerwise",
    "pruned_values",
    "random_mask_model",
    "random_masks",
    "random_masks_at",
    "random_reinit_model",
    "random_scores",
    "read_checkpoint",
    "shuffle_masks",
    "snip_masks",
    "snip_scores",
    "synflow_masks",
    "synflow_scores",
    "treat",
    "zero_shrunk",
]
