"""Pruning at initialization: a score for every weight, then the masks that keep the best scores.

Each method is a score function; choosing the weights is shared (:func:`masks_from_scores`):
keep the ``n_keep`` surviving weights of best score across all layers, with the tie rule of
:func:`.masks.prune_global` (among equal scores the lower flat index, layer by layer, is kept).

* **SNIP** (Lee, Ajanthan & Torr, ICLR 2019, Section 4.1): connection sensitivity ``|g * w|``,
  the first-order change of the loss when a connection is removed. The largest are kept.
* **GraSP** (Wang, Zhang & Grosse, ICLR 2020, Section 4, Eq. 8 and Algorithm 1):
  ``-w * (H g)``, how removing a weight changes the gradient's norm. The *smallest* are kept.
* **SynFlow** (Tanaka, Kunin, Yamins & Ganguli, NeurIPS 2020, Algorithm 1): the share of the
  network's "synaptic flow" through each weight, data-free, pruned over many iterations.

Every function here is pure: it reads the model and never changes it. Scores are float64
whatever the model's dtype, 0 at pruned entries, which are never kept again.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import validation
from ..model import MLP
from .hessian import hessian_vector_product
from .masks import keep_largest_across
from .schedule import global_schedule


def snip_scores(model: MLP, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """SNIP's connection sensitivity ``|g * w|`` of every weight on the batch ``(X, y)``.

    Gate each weight by a variable ``c`` (the network uses ``w c``); at ``c = 1`` the chain
    rule gives ``dL/dc = (dL/dw) w = g w``, and ``-dL/dc`` is the first-order change of the
    mean cross-entropy when the connection is cut (``c`` from 1 to 0): SNIP ranks its size.
    Lee et al. divide by the sum of all scores, a common factor that changes no ranking and
    is left out.

    Returns
    -------
    list of ndarray, float64, shape (fan_in, fan_out)

    Examples
    --------
    >>> net = MLP((3, 4, 2), seed=0, dtype=np.float64)
    >>> net.set_masks([np.tril(np.ones((3, 4))), np.ones((4, 2))])
    >>> scores = snip_scores(net, np.eye(3), np.array([0, 1, 1]))
    >>> bool((scores[0][np.triu_indices(3, 1, 4)] == 0).all())  # a pruned connection is insensitive
    True
    """
    X, y = model.check_inputs(X, y)
    _, gradients, _ = model.backprop(X, y)
    return [np.abs(g.astype(np.float64) * w) for g, w in zip(gradients, model.weights)]


def grasp_scores(model: MLP, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """GraSP's score ``S = -w * (H g)`` of every weight on the batch ``(X, y)``.

    GraSP asks how pruning changes the gradient norm ``||g||^2``, which sets how fast
    training first lowers the loss. Its gradient with respect to the weights is ``2 H g``
    (``H`` the Hessian of the loss over all weights, biases held fixed), so removing weight
    ``q`` (a step ``-w_q`` along that weight) changes the norm by ``-2 w_q (H g)_q = 2 S_q`` to first order (Wang et al., Eq. 8,
    without the factor 2). A large score means its removal grows the gradient norm, or
    shrinks it least: GraSP removes the *largest* scores (Algorithm 1 removes the top
    fraction; the authors' code keeps the scores at or below the threshold), hence
    ``keep="smallest"`` in :func:`grasp_masks`. ``H g`` comes from the R-operator
    (:func:`.hessian.hessian_vector_product`). The authors' code divides the logits by a
    temperature of 200 first; this is the plain loss of the paper's equations.

    Returns
    -------
    list of ndarray, float64, shape (fan_in, fan_out)

    Examples
    --------
    >>> net = MLP((3, 4, 2), seed=0, dtype=np.float64)
    >>> scores = grasp_scores(net, np.eye(3), np.array([0, 1, 1]))
    >>> [s.shape for s in scores], bool((scores[0] < 0).any() and (scores[0] > 0).any())  # signed
    ([(3, 4), (4, 2)], True)
    """
    X, y = model.check_inputs(X, y)
    _, gradients, _ = model.backprop(X, y)
    products = hessian_vector_product(model, X, y, gradients)
    return [-w.astype(np.float64) * hg for w, hg in zip(model.weights, products)]


def _unit_sum(flow: np.ndarray) -> np.ndarray:
    """``flow`` rescaled to sum to 1 (left as it is if it is all zero)."""
    total = flow.sum()
    return flow / total if total > 0 else flow


def _synaptic_flow(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``S_l / R`` of the linear network ``|W_1|, ..., |W_L|`` (see :func:`synflow_scores`)."""
    magnitudes = [np.abs(w).astype(np.float64) for w in weights]
    inflow = [_unit_sum(np.ones(magnitudes[0].shape[0]))]  # f_0 = 1
    for m in magnitudes[:-1]:
        inflow.append(_unit_sum(m.T @ inflow[-1]))  # f_l = |W_l|^T f_{l-1}
    outflow = [_unit_sum(np.ones(magnitudes[-1].shape[1]))]  # b_L = 1
    for m in reversed(magnitudes[1:]):
        outflow.insert(0, _unit_sum(m @ outflow[0]))  # b_{l-1} = |W_l| b_l
    return [_unit_sum(f[:, None] * m * b[None, :]) for f, m, b in zip(inflow, magnitudes, outflow)]


def synflow_scores(model: MLP) -> list[np.ndarray]:
    """SynFlow's score of every weight, as a share of the network's synaptic flow ``R``.

    Replace every weight by its magnitude, drop the biases, feed an all-ones input: every
    pre-activation is then a sum of non-negative terms, so each ReLU passes it unchanged and
    the network is the product of its matrices. Its summed output is the synaptic flow::

        R = 1^T |W_L|^T ... |W_1|^T 1 = f_{l-1}^T |W_l| b_l   for every layer l,

    with ``f_l`` the flow from the input into the units that layer ``l`` feeds (``f_0 = 1``,
    ``f_l = |W_l|^T f_{l-1}``) and ``b_l`` the flow from those units on to the output
    (``b_L = 1``, ``b_{l-1} = |W_l| b_l``). ``R`` is linear in each ``|W_l|``, so
    ``dR/d|W_l| = f_{l-1} b_l^T``, an outer product, and the score is
    ``S_l = (dR/dW_l) * W_l = f_{l-1} b_l^T * |W_l|``: the flow along every input-to-output
    path through each weight. Summed over any one layer, ``S_l`` gives ``R`` (the conservation
    law of Tanaka et al.), so ``S_l / R``, returned here, ranks the weights as ``S`` does.
    Pruned weights are 0, so they carry no flow. (The authors' code keeps ``|b|`` instead of
    dropping the biases; with this library's zero initial biases the two agree.)

    ``R`` grows geometrically with depth (each layer multiplies it by about ``fan_in`` times
    a typical ``|w|``) and would overflow float32, then float64, in deep networks. The flows
    are therefore computed in float64 and each rescaled to sum to 1 as it goes; the
    factors cancel in ``S_l / sum(S_l) = S_l / R``, so no number exceeds 1. If no path
    survives, ``R = 0`` and every score is 0.

    Returns
    -------
    list of ndarray, float64, shape (fan_in, fan_out)
        ``S_l / R``; each layer sums to 1 (or 0).

    Examples
    --------
    >>> net = MLP((2, 2, 1), seed=0, dtype=np.float64)
    >>> net.weights[0][:], net.weights[1][:] = [[1.0, -2.0], [3.0, 0.5]], [[2.0], [-1.0]]
    >>> [np.round(s * 10.5, 12) for s in synflow_scores(net)]  # R = 2 (1 + 3) + 1 (2 + 0.5) = 10.5
    [array([[2. , 2. ],
           [6. , 0.5]]), array([[8. ],
           [2.5]])]
    """
    return _synaptic_flow(model.weights)


def masks_from_scores(scores: Sequence[np.ndarray], masks: Sequence[np.ndarray], n_keep: int,
                      keep: str = "largest") -> list[np.ndarray]:
    """Keep the ``n_keep`` surviving weights of largest (or smallest) score, all layers ranked together.

    Parameters
    ----------
    scores, masks : sequences of ndarray, shape (fan_in, fan_out)
        A finite score and the 0/1 mask of every weight, one array per layer.
    n_keep : int
        Weights to keep in total; at most the number surviving now.
    keep : {"largest", "smallest"}
        Which end of the ranking survives ("smallest" for GraSP).

    Returns
    -------
    list of ndarray
        New float32 0/1 masks that only lose entries (the inputs are not modified). Ties go
        to the lower flat index, as in :func:`.masks.prune_global`, whose ranking this is.

    Examples
    --------
    >>> scores, masks = [np.array([[3.0, -1.0, 2.0]])], [np.array([[1, 1, 0]])]
    >>> masks_from_scores(scores, masks, 1), masks_from_scores(scores, masks, 1, keep="smallest")
    ([array([[1., 0., 0.]], dtype=float32)], [array([[0., 1., 0.]], dtype=float32)])
    """
    keep = validation.choice("keep", keep, ("largest", "smallest"))
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    for layer, s in enumerate(scores):
        if not np.isfinite(s).all():
            raise ValueError(f"scores[{layer}] must hold finite numbers")
    n_alive = sum(int(np.count_nonzero(m)) for m in masks)
    n_keep = validation.integer("n_keep", n_keep, minimum=0, maximum=n_alive)
    sign = 1.0 if keep == "largest" else -1.0  # negating is exact, and keeps the tie rule
    return keep_largest_across([sign * s for s in scores], masks, n_keep)


def snip_masks(model: MLP, X: np.ndarray, y: np.ndarray, n_keep: int) -> list[np.ndarray]:
    """The model's masks after SNIP keeps ``n_keep`` weights, in one shot on the batch ``(X, y)``.

    Examples
    --------
    >>> net = MLP((3, 4, 2), seed=0, dtype=np.float64)
    >>> [int(m.sum()) for m in snip_masks(net, np.eye(3), np.array([0, 1, 1]), n_keep=6)]
    [2, 4]
    """
    return masks_from_scores(snip_scores(model, X, y), model.masks, n_keep)


def grasp_masks(model: MLP, X: np.ndarray, y: np.ndarray, n_keep: int) -> list[np.ndarray]:
    """The model's masks after GraSP keeps the ``n_keep`` weights of *smallest* score, in one shot.

    Examples
    --------
    >>> net = MLP((3, 4, 2), seed=0, dtype=np.float64)
    >>> sum(int(m.sum()) for m in grasp_masks(net, np.eye(3), np.array([0, 1, 1]), n_keep=6))
    6
    """
    return masks_from_scores(grasp_scores(model, X, y), model.masks, n_keep, keep="smallest")


def synflow_masks(model: MLP, n_keep: int, iterations: int = 100) -> list[np.ndarray]:
    """SynFlow's iterative pruning down to ``n_keep`` weights, scores recomputed on the masked network.

    Tanaka et al.'s Algorithm 1 prunes over ``T = iterations`` steps on an exponential
    schedule: after step ``t`` the density is ``d^(t/T)``, ``d`` the final density, the
    counts rounded as :func:`.schedule.global_schedule` rounds them (from the weights
    surviving now), the last exactly ``n_keep``. Pruning a little at a time lets the
    survivors of a thinned layer gain score, which is how SynFlow avoids cutting a layer
    off entirely (layer collapse).

    Examples
    --------
    >>> net = MLP((6, 5, 4, 3), seed=0)
    >>> masks = synflow_masks(net, n_keep=12, iterations=10)
    >>> sum(int(m.sum()) for m in masks), [bool(m.any()) for m in masks]
    (12, [True, True, True])
    """
    iterations = validation.integer("iterations", iterations, minimum=1)
    masks = model.masks
    n_now = sum(int(np.count_nonzero(m)) for m in masks)
    n_keep = validation.integer("n_keep", n_keep, minimum=0, maximum=n_now)
    if n_now == 0:
        return masks
    for count in global_schedule(n_now, 1.0 - n_keep / n_now, iterations)[1:]:
        scores = _synaptic_flow([w * m for w, m in zip(model.weights, masks)])
        masks = masks_from_scores(scores, masks, int(count))
    return masks
