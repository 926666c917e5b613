"""Learned supermasks: the weights stay at their initialization, a score per weight learns which of them to keep.

The weights ``W0`` are frozen, and so are the biases (zero here; non-trainable in Zhou et al.'s
code, absent in Ramanujan et al.'s). A real score ``s`` per weight is trained by gradient descent,
a mask ``m`` chosen from the scores at every step, and the network computes with
``W = c(m) W0 * m``, ``c`` being dynamic weight rescaling (:mod:`.untrained`) or 1. The choice:

* ``"bernoulli"`` -- Zhou, Lan, Liu & Yosinski (NeurIPS 2019, Section 5): ``m ~ Bernoulli(sigmoid(s))``,
  sampled afresh at every iteration;
* ``"top_k"`` -- edge-popup, Ramanujan, Wortsman, Kembhavi, Farhadi & Rastegari (CVPR 2020,
  Figure 2): each layer keeps its ``round(density * N_l)`` weights of largest ``|s|``.

A sample or a sort has no useful derivative, so the gradient passes *straight through* it, as
if ``m`` were a smooth function of ``s``. With ``G = dL/dW = A_{l-1} dZ_l^T`` at *every* entry,
kept or not (from the layer inputs and errors of :meth:`lottery_np.model.MLP.backward`),
``n = sum(m)`` and ``c = N / n``, the chain rule gives::

    dL/dm = c (W0 * G - sum(G * W) / N)    (the second term from dc/dm = -c / n; none without rescaling)
    bernoulli:  dL/ds = dL/dm * sigmoid(s) (1 - sigmoid(s))     (through the sample to p = sigmoid(s))
    top_k:      dL/ds = dL/dm * sign(s)                          (through the sort to |s|)

``dL/dm`` is the derivative of ``u -> L(c(m + u) W0 * (m + u))`` at ``u = 0``; at the relaxed mask
``m = sigmoid(s)`` the Bernoulli rule is the exact gradient of ``L(c W0 * sigmoid(s))``. The authors'
code computes the same: Zhou et al.'s ``masked_networks.py`` adds ``sigmoid(s) - stop_gradient(sigmoid(s))``
to the sample and differentiates the rescaling factor too; Ramanujan et al.'s ``GetSubnet``
(``utils/conv_type.py``) ranks ``|s|`` and passes the gradient through unchanged (``abs`` adds ``sign(s)``).

The defaults are the authors' on MNIST's fully connected network. Zhou et al. (``train_supermask.py``,
README): scores start at 0 (each weight kept with probability 1/2), SGD at learning rate 100 with
momentum 0.9, and masks sampled at test time too, the accuracy being the mean of 10 samples. Ramanujan
et al. (``configs/smallscale/fc``): scores from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's
``kaiming_uniform_(a=sqrt(5))``), SGD at 0.1 with momentum 0.9 (their weight decay and cosine schedule left out).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .. import validation
from ..data import as_dataset
from ..engine import threads
from ..model import MLP, Parameters
from ..optim import SGD, Optimizer
from ..pruning import prune_layerwise
from ..training import batches, check_fits
from .untrained import effective_weights, rescaling_factors, untrained_network

METHODS = ("bernoulli", "top_k")
"""How scores become a mask: a Bernoulli sample of ``sigmoid(s)``, or each layer's top ``|s|``."""

_INIT, _TRAIN, _EVALUATE, _TEST = range(4)  # the random streams of a run, drawn from (seed, stream, index)


def _stream(seed: int, stream: int, index: int) -> np.random.Generator:
    """The generator of one random draw of a run: a function of ``(seed, stream, index)`` alone, so runs replay."""
    return np.random.default_rng((seed, stream, index))


def sigmoid(s: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-s))``, computed as ``(1 + tanh(s / 2)) / 2``, which no ``s`` overflows.

    Examples
    --------
    >>> sigmoid(np.array([0.0, 1000.0, -1000.0]))
    array([0.5, 1. , 0. ])
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(s, dtype=np.float64)))


def initial_scores(model: MLP, method: str, rng: np.random.Generator, score_init: float = 0.0) -> list[np.ndarray]:
    """One float64 score per weight: ``score_init`` (bernoulli), or drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Examples
    --------
    >>> [s.shape for s in initial_scores(MLP((3, 2)), "top_k", np.random.default_rng(0))]
    [(3, 2)]
    """
    validation.choice("method", method, METHODS)
    if method == "bernoulli":
        return [np.full(w.shape, validation.real("score_init", score_init), dtype=np.float64) for w in model.weights]
    return [rng.uniform(-1.0, 1.0, w.shape) / math.sqrt(w.shape[0]) for w in model.weights]


def bernoulli_masks(scores: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A sample of each entry's mask from ``Bernoulli(sigmoid(s))``: 1 with probability ``sigmoid(s)``.

    Examples
    --------
    >>> bernoulli_masks([np.array([[-50.0, 50.0]])], np.random.default_rng(0))
    [array([[0., 1.]], dtype=float32)]
    """
    return [(rng.random(s.shape) < sigmoid(s)).astype(np.float32) for s in scores]


def top_k_masks(scores: Sequence[np.ndarray], density: float) -> list[np.ndarray]:
    """Each layer keeps its ``round(density * N_l)`` entries of largest ``|s|`` (ties: the lower flat index).

    Examples
    --------
    >>> top_k_masks([np.array([[0.3, -0.9, 0.1, 0.5]])], 0.5)
    [array([[0., 1., 0., 1.]], dtype=float32)]
    """
    density = validation.real("density", density, 0.0, 1.0, low_open=True)
    return prune_layerwise(scores, [np.ones(s.shape) for s in scores], [round(density * s.size) for s in scores])


def _dense_copy(model: MLP) -> MLP:
    """A scratch copy of ``model`` whose masks keep every entry, so that any weights can be written into it."""
    network = model.copy()
    network.set_masks([np.ones(w.shape) for w in model.weights])
    return network


def _mask_gradients(network: MLP, weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], X, y,
                    rescale: bool) -> tuple[float, list[np.ndarray]]:
    """:func:`mask_gradients` on a dense scratch ``network``, into which ``W = c W0 * m`` is written."""
    effective = effective_weights(weights, masks, rescale)
    network.set_parameters(Parameters(effective, network.biases))
    loss, _, inputs, errors = network.backward(X, y)
    factors = rescaling_factors(masks) if rescale else [1.0] * len(masks)
    gradients = []
    for A, dZ, w0, w, c in zip(inputs, errors, weights, effective, factors):
        G = (A @ dZ.T).astype(np.float64)  # dL/dW at every entry, kept or not
        moved = float(np.sum(G * w)) / w.size if rescale else 0.0  # c = N / sum(m) moves with every entry of m
        gradients.append(c * (w0 * G - moved))
    return loss, gradients


def mask_gradients(model: MLP, masks: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
                   rescale: bool = False) -> tuple[float, list[np.ndarray]]:
    """Mean cross-entropy on ``(X, y)`` of the network ``W = c W0 * m`` (``W0``: the model's weights), and ``dL/dm``.

    ``dL/dm`` (float64, one ``(fan_in, fan_out)`` array per layer) is the loss's derivative with
    respect to every entry of ``m``, pruned ones included; ``masks`` may be real-valued (a
    relaxation). The model is not changed.

    Examples
    --------
    >>> net = MLP((3, 2), seed=0, dtype=np.float64)
    >>> _, grads = mask_gradients(net, [np.zeros((3, 2))], np.eye(3), np.array([0, 1, 1]))
    >>> bool(np.abs(grads[0]).min() > 0)  # every entry has a gradient, though none is kept
    True
    """
    X, y = model.check_inputs(X, y)
    return _mask_gradients(_dense_copy(model), model.weights, masks, X, y, rescale)


def score_gradients(method: str, scores: Sequence[np.ndarray], mask_grads: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Straight-through ``dL/ds``: ``dL/dm * sigmoid'(s)`` (bernoulli) or ``dL/dm * sign(s)`` (top_k).

    Examples
    --------
    >>> score_gradients("bernoulli", [np.zeros(2)], [np.array([1.0, -2.0])])  # sigmoid'(0) = 1/4
    [array([ 0.25, -0.5 ])]
    """
    validation.choice("method", method, METHODS)
    if method == "bernoulli":
        return [g * sigmoid(s) * (1.0 - sigmoid(s)) for s, g in zip(scores, mask_grads)]
    return [g * np.sign(s) for s, g in zip(scores, mask_grads)]


def default_optimizer(method: str) -> Optimizer:
    """SGD with momentum 0.9 at learning rate 100 (bernoulli, Zhou et al.) or 0.1 (top_k, Ramanujan et al.).

    Examples
    --------
    >>> default_optimizer("bernoulli").learning_rate, default_optimizer("top_k").learning_rate
    (100.0, 0.1)
    """
    validation.choice("method", method, METHODS)
    return SGD(100.0 if method == "bernoulli" else 0.1, momentum=0.9)


@dataclass
class SupermaskResult:
    """What :func:`train_supermask` found.

    Attributes
    ----------
    masks : list of list of ndarray
        The per-layer 0/1 masks of each network tested: top_k's one, or ``test_samples`` Bernoulli samples.
    test_accuracies : list of float
        Their test accuracies (:meth:`MLP.evaluate` on the sparse engine); ``test_accuracy`` is the mean.
    scores : list of ndarray
        The final scores.
    history : list of dict
        Per evaluation: ``iteration``, ``train_loss`` (mean batch loss since the last; NaN at 0),
        ``val_loss``, ``val_accuracy`` and ``density`` of that iteration's mask (bernoulli: one sample).

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> result = train_supermask(MLP((64, 20, 10), seed=0), load_digits(), method="bernoulli", iterations=20,
    ...                          eval_every=10, test_samples=3)
    >>> len(result.masks), len(result.test_accuracies), result.test_accuracy == float(np.mean(result.test_accuracies))
    (3, 3, True)
    """

    masks: list
    test_accuracies: list
    test_accuracy: float
    scores: list
    history: list


def train_supermask(model: MLP, data, *, method: str = "top_k", density: float = 0.5, rescale: bool = False,
                    iterations: int = 1000, batch_size: int = 60, eval_every: int = 100,
                    optimizer: Optional[Optimizer] = None, score_init: float = 0.0, test_samples: int = 10,
                    seed: int = 0) -> SupermaskResult:
    """Train a supermask over ``model``'s weights, which never change (``model`` is left as it is).

    Parameters
    ----------
    model : MLP
        Its weights are ``W0``; its biases stay as they are.
    data : Dataset
        Or anything :func:`lottery_np.data.as_dataset` takes, with a test set.
    method : {"top_k", "bernoulli"}
    density : float
        The fraction of each layer that top_k keeps, in (0, 1] (bernoulli learns its density).
    rescale : bool
        Dynamic weight rescaling of the kept weights (:mod:`.untrained`).
    iterations, batch_size, eval_every : int
        Batches come in the library's replayable order (:func:`lottery_np.training.batches`).
    optimizer : Optimizer, optional
        Updates the scores; :func:`default_optimizer` by default.
    score_init : float
        bernoulli's starting score: every weight starts kept with probability ``sigmoid(score_init)``.
    test_samples : int
        Bernoulli masks sampled from the final scores to test (top_k has one mask).
    seed : int
        Seeds the scores, the batches and every sample: same seed, same scores and masks, bit for bit.

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> result = train_supermask(MLP((64, 50, 10), seed=0), load_digits(), iterations=100, eval_every=50)
    >>> [h["iteration"] for h in result.history], [int(m.sum()) for m in result.masks[0]]
    ([0, 50, 100], [1600, 250])
    """
    validation.choice("method", method, METHODS)
    density = validation.real("density", density, 0.0, 1.0, low_open=True)
    iterations = validation.integer("iterations", iterations, minimum=1)
    eval_every = validation.integer("eval_every", eval_every, minimum=1)
    test_samples = validation.integer("test_samples", test_samples, minimum=1)
    seed = validation.integer("seed", seed, minimum=0)
    data = as_dataset(data)
    check_fits(model, data)
    batch_size = validation.integer("batch_size", batch_size, minimum=1, maximum=len(data.X_train))
    if data.X_test is None:
        raise ValueError("data must have a test set (X_test, y_test), got none")

    scores = initial_scores(model, method, _stream(seed, _INIT, 0), score_init)
    optimizer = optimizer or default_optimizer(method)
    network, weights = _dense_copy(model), model.get_parameters().weights
    history, losses = [], []

    def choose(stream: int, index: int) -> list[np.ndarray]:
        """The mask of the current scores: top_k's, or a Bernoulli sample from stream ``(seed, stream, index)``."""
        if method == "top_k":
            return top_k_masks(scores, density)
        return bernoulli_masks(scores, _stream(seed, stream, index))

    def evaluate(iteration: int) -> None:
        masks = choose(_EVALUATE, iteration)
        val_loss, val_accuracy = untrained_network(model, masks, rescale).evaluate(data.X_val, data.y_val)
        history.append({"iteration": iteration, "train_loss": float(np.mean(losses)) if losses else math.nan,
                        "val_loss": val_loss, "val_accuracy": val_accuracy,
                        "density": sum(float(m.sum()) for m in masks) / model.n_weights})
        losses.clear()

    with threads.limited():  # BLAS on one thread: the same numbers on every run
        evaluate(0)
        for iteration, batch in batches(seed, len(data.X_train), batch_size, 0, iterations):
            loss, grads = _mask_gradients(network, weights, choose(_TRAIN, iteration), data.X_train[batch],
                                          data.y_train[batch], rescale)
            optimizer.step(scores, score_gradients(method, scores, grads))
            losses.append(loss)
            if iteration % eval_every == 0 or iteration == iterations:
                evaluate(iteration)
        tested = [choose(_TEST, i) for i in range(1 if method == "top_k" else test_samples)]
        accuracies = [untrained_network(model, m, rescale).accuracy(data.X_test, data.y_test) for m in tested]
    return SupermaskResult(tested, accuracies, float(np.mean(accuracies)), scores, history)
