"""A mask on the untrained network: the initial weights it keeps, rescaled, and what they score without training.

Zhou, Lan, Liu & Yosinski ("Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
NeurIPS 2019, Section 5) call a mask that lifts a randomly initialized, *untrained* network
far above chance a **supermask**. Their best hand-made one is the criterion ``large_final_same_sign``
(:mod:`lottery_np.pruning.criteria`)
(Section 5, Figure 6, right): rank each weight by its final magnitude ``|w_f|``, but only
where training kept the sign of its initial value ``w_i``; the others come last.

**Dynamic weight rescaling** (Section 5.2 of the arXiv version): "for each layer, we multiply
the underlying weights by the ratio of the total number of weights in the layer over the
number of ones in the corresponding mask". Layer ``l`` of ``N_l`` weights whose mask keeps
``n_l = sum(m_l)`` of them computes with

.. math::  W^{eff}_l = c_l \\, (W_l \\odot m_l), \\qquad c_l = N_l / n_l,

so a layer keeping a fraction ``d`` of its inputs has its kept weights multiplied by ``1/d``,
which restores the expected size of its pre-activations. (The authors' code,
``masked_networks.py``, computes ``c_l`` the same way; a layer that keeps nothing is left
as it is here, ``c_l = 1``.) Their untrained-mask evaluations (``get_init_loss_train_lottery.py``)
do not rescale: pass ``rescale=False`` for that setting.

With zero biases, as this library initializes them, rescaling changes the loss but not a
single prediction: ReLU is positively homogeneous (``relu(c z) = c relu(z)`` for ``c > 0``),
so scaling layer ``l`` by ``c_l`` scales the logits by ``prod_l c_l``, and their argmax stays.
It matters to the confidence, hence to the gradients a learned supermask trains on
(:mod:`.learned`), and to networks whose biases are not zero.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..model import MLP, Parameters


def rescaling_factors(masks: Sequence[np.ndarray]) -> list[float]:
    """Dynamic weight rescaling's factor of each layer: ``c_l = N_l / sum(m_l)`` (1.0 if the layer keeps nothing).

    ``sum(m_l)`` is the number of ones of a 0/1 mask; a real-valued mask (the relaxation that
    :mod:`.learned` differentiates) enters the same formula.

    Examples
    --------
    >>> rescaling_factors([np.array([[1, 0], [0, 0]]), np.ones((2, 3)), np.zeros((1, 2))])
    [4.0, 1.0, 1.0]
    """
    factors = []
    for mask in masks:
        mask = np.asarray(mask, dtype=np.float64)
        kept = float(mask.sum())
        factors.append(mask.size / kept if kept > 0 else 1.0)
    return factors


def effective_weights(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                      rescale: bool = True) -> list[np.ndarray]:
    """The weights a masked layer computes with: ``c_l (W_l * m_l)``, or ``W_l * m_l`` without rescaling.

    Each array keeps the dtype of its weights; ``c_l`` is formed in float64 and cast once.

    Examples
    --------
    >>> w = [np.array([[1.0, -2.0], [3.0, 4.0]])]
    >>> effective_weights(w, [np.array([[1, 1], [0, 0]])])  # half the layer kept: factor 2
    [array([[ 2., -4.],
           [ 0.,  0.]])]
    """
    if len(weights) != len(masks):
        raise ValueError(f"weights and masks must have the same length, got {len(weights)} and {len(masks)}")
    factors = rescaling_factors(masks) if rescale else [1.0] * len(masks)
    out = []
    for layer, (w, m, c) in enumerate(zip(weights, masks, factors)):
        w, m = np.asarray(w), np.asarray(m)
        if w.shape != m.shape:
            raise ValueError(f"masks[{layer}] must have the shape of weights[{layer}], {w.shape}, got {m.shape}")
        out.append((w * m.astype(w.dtype)) * w.dtype.type(c))
    return out


def untrained_network(model: MLP, masks: Sequence[np.ndarray], rescale: bool = True) -> MLP:
    """A copy of ``model`` (its weights as they are: the initialization) with ``masks`` set and the survivors rescaled.

    The copy evaluates on the library's sparse engine (``masks`` installed with
    :meth:`~lottery_np.model.MLP.set_masks`); ``model`` is not changed. Biases are kept as
    they are (zero at initialization): neither paper masks or rescales them.

    Raises
    ------
    ValueError
        If ``masks`` do not fit the model or hold anything but 0 and 1.

    Examples
    --------
    >>> net = MLP((4, 2), seed=0, dtype=np.float64)
    >>> kept = untrained_network(net, [np.array([[1, 0], [0, 0], [0, 0], [0, 1]])])
    >>> kept.weight_counts(), bool(np.allclose(kept.weights[0][0, 0], 4 * net.weights[0][0, 0]))
    ([(2, 8)], True)
    """
    network = model.copy()
    network.set_masks(masks)  # checks shapes and values
    network.set_parameters(Parameters(effective_weights(model.weights, network.masks, rescale), model.biases))
    return network


def untrained_accuracy(model: MLP, masks: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
                       rescale: bool = True) -> float:
    """Accuracy on ``(X, y)`` (a test set) of :func:`untrained_network`: the mask alone, no training.

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> data, net = load_digits(), MLP((64, 40, 10), seed=0)
    >>> all_kept = [np.ones(w.shape) for w in net.weights]
    >>> untrained_accuracy(net, all_kept, data.X_test, data.y_test) == net.accuracy(data.X_test, data.y_test)
    True
    """
    return untrained_network(model, masks, rescale).accuracy(X, y)
