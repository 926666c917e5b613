"""Hessian-vector products of the network's loss, by Pearlmutter's R-operator (1994).

GraSP (:func:`.saliency.grasp_scores`) needs ``H g``, the Hessian of the loss times its
gradient. Forming ``H`` (``N x N`` for ``N`` weights) is out of the question; the
R-operator gives ``H v`` for any direction ``v`` for about the cost of two more gradients.
It is the directional derivative of every quantity of backprop,

    R{f} = d/dt f(W + t V) at t = 0,

so that ``R{grad L} = H V``: differentiate each line of the forward and backward passes
along ``V`` and the last line is the product we want.

The network, feature-major as in :mod:`lottery_np.model` (``A_0 = X^T``, ``n`` samples,
layers ``l = 1..L``, ``Y`` the one-hot targets)::

    forward   Z_l = W_l^T A_{l-1} + b_l,   A_l = relu(Z_l),   P = softmax(Z_L)
    backward  E_L = (P - Y) / n,   E_{l-1} = (W_l E_l) * r_{l-1},   grad_{W_l} L = A_{l-1} E_l^T

with ``r_l = [Z_l > 0]`` the ReLU's derivative. Along ``V`` the input and the biases do not
move (``R{A_0} = 0``, ``R{b_l} = 0``) and ``R{W_l} = V_l``. ReLU is piecewise linear, so away
from its kink ``r_l`` does not change with ``t`` (``relu'' = 0``) and ``R{r_l} = 0``. Applying
the product rule line by line::

    forward R-pass   R{Z_l} = V_l^T A_{l-1} + W_l^T R{A_{l-1}},    R{A_l} = r_l * R{Z_l}
                     R{P}   = P * (R{Z_L} - sum_k P_k R{Z_L}_k)     (softmax Jacobian diag(p) - p p^T, per sample)
    backward R-pass  R{E_L} = R{P} / n
                     (H V)_l = R{A_{l-1}} E_l^T + A_{l-1} R{E_l}^T
                     R{E_{l-1}} = (V_l E_l + W_l R{E_l}) * r_{l-1}

The ``V_l E_l`` and ``R{A_{l-1}} E_l^T`` terms carry the error ``E`` itself: moving a weight
also changes the path by which the error is sent back through it. They are the network's own
curvature; dropping them would leave the generalized Gauss-Newton product, not the Hessian's.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..model import MLP


def hessian_vector_product(model: MLP, X: np.ndarray, y: np.ndarray, vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``H v``: the Hessian of the mean cross-entropy on ``(X, y)`` times ``vectors``.

    The Hessian is that of the loss as a function of the surviving weights (biases held
    fixed): ``vectors`` count as 0 at pruned entries and the product is 0 there.
    Computed in float64 from the model's own backward pass (module docstring); the model
    is not changed.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), class labels
    vectors : sequence of ndarray, shape (fan_in, fan_out)
        The direction ``v``, one array per weight matrix.

    Returns
    -------
    list of ndarray, float64, shape (fan_in, fan_out)

    Examples
    --------
    A network with no hidden layer is softmax regression: ``H = X^T (diag(p) - p p^T) X / n``.
    Along a direction that moves only class 0's logit by ``x . v``, the product is
    ``p_0 (1 - p_0) (x . v)`` times ``x`` for class 0 and ``-p_0 p_1 (x . v)`` times ``x`` for class 1:

    >>> net = MLP((2, 2), seed=0, dtype=np.float64)
    >>> net.weights[0][:] = 0.0                      # p = (1/2, 1/2)
    >>> x, v = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])
    >>> hessian_vector_product(net, x, [1], [v])[0]  # x . v = 1
    array([[ 0.25, -0.25],
           [ 0.5 , -0.5 ]])
    """
    X, y = model.check_inputs(X, y)
    if len(vectors) != model.n_layers:
        raise ValueError(f"vectors must hold {model.n_layers} arrays, got {len(vectors)}")
    masks = model.masks
    for layer, (v, m) in enumerate(zip(vectors, masks)):
        if np.shape(v) != m.shape:
            raise ValueError(f"vectors[{layer}] must have shape {m.shape}, got {np.shape(v)}")
    _, _, inputs, errors = model.backward(X, y)
    A = [a.astype(np.float64) for a in inputs]  # A_{l-1}, the input of layer l
    E = [e.astype(np.float64) for e in errors]  # E_l, the error of layer l
    W = [w.astype(np.float64) for w in model.weights]
    V = [np.where(m != 0, v, 0.0) for v, m in zip(vectors, masks)]
    n, last = len(y), model.n_layers - 1

    RA = [np.zeros_like(A[0])]  # R{A_0} = 0: the data does not move
    for layer in range(model.n_layers):
        RZ = V[layer].T @ A[layer] + W[layer].T @ RA[layer]
        if layer < last:
            RA.append(RZ * (A[layer + 1] > 0))  # r_l = [Z_l > 0] = [A_l > 0]
    P = n * E[last]  # the probabilities read back from E_L = (P - Y) / n
    P[y, np.arange(n)] += 1.0
    RE = P * (RZ - (P * RZ).sum(axis=0, keepdims=True)) / n

    product: list[np.ndarray] = [None] * model.n_layers
    for layer in reversed(range(model.n_layers)):
        product[layer] = (RA[layer] @ E[layer].T + A[layer] @ RE.T) * (masks[layer] != 0)
        if layer > 0:
            RE = (V[layer] @ E[layer] + W[layer] @ RE) * (A[layer] > 0)
    return product
