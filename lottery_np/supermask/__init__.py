"""Supermasks: what a mask alone can do with the weights of an untrained network.

A winning ticket is a mask *and* the training of the weights it keeps. A supermask is a mask
that, applied to the random initial weights and nothing more, already classifies far better
than chance (Zhou, Lan, Liu & Yosinski, NeurIPS 2019, Section 5). Two ways to get one:

* :mod:`.untrained` -- apply a given mask to the initialization and evaluate it untrained:
  :func:`untrained_network` (with or without Zhou et al.'s dynamic weight rescaling,
  :func:`rescaling_factors`, :func:`effective_weights`) and :func:`untrained_accuracy`, for masks
  chosen by any criterion of :mod:`lottery_np.pruning.criteria` (their best: ``large_final_same_sign``);
* :mod:`.learned` -- learn the mask, weights frozen: a score per weight trained by gradient
  descent through a straight-through estimator, the mask a Bernoulli sample of
  ``sigmoid(score)`` (Zhou et al.) or each layer's top scores (edge-popup, Ramanujan et al.,
  CVPR 2020): :func:`train_supermask`, returning a :class:`SupermaskResult`; its parts
  (:func:`initial_scores`, :func:`bernoulli_masks`, :func:`top_k_masks`,
  :func:`mask_gradients`, :func:`score_gradients`, :func:`default_optimizer`) are public,
  so that each can be checked by hand.
"""
from .learned import (METHODS, SupermaskResult, bernoulli_masks, default_optimizer, initial_scores, mask_gradients,
                      score_gradients, sigmoid, top_k_masks, train_supermask)
from .untrained import effective_weights, rescaling_factors, untrained_accuracy, untrained_network

__all__ = [
    "METHODS",
    "SupermaskResult",
    "bernoulli_masks",
    "default_optimizer",
    "effective_weights",
    "initial_scores",
    "mask_gradients",
    "rescaling_factors",
    "score_gradients",
    "sigmoid",
    "top_k_masks",
    "train_supermask",
    "untrained_accuracy",
    "untrained_network",
]
