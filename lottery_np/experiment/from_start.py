"""Sparse from the start, as benchmark jobs: one network per IMP density, masked before its first step.

A job ``(method, seed)`` trains, at the density of every pruned IMP round ``r``, a fresh
``MLP(layer_sizes, seed)`` whose mask was chosen before training, for as long as an IMP
round trains, with the seed's data order. The total count is exactly that of round ``r``;
how it is shared between the layers is the method's:

* ``random`` -- uniform per layer, the connections drawn at random;
* ``erk`` -- Erdős–Rényi per layer, drawn at random; trained with fixed masks this is the
  *static* sparse baseline of RigL (Evci et al., 2020);
* ``snip``, ``grasp``, ``synflow`` -- global rankings of their scores at initialization
  (:mod:`lottery_np.pruning.saliency`); SNIP and GraSP score one batch of
  :data:`SCORE_BATCH` training examples drawn from the seed;
* ``set``, ``rigl`` -- dynamic sparse training from the ``erk`` masks
  (:class:`lottery_np.sparse.Rewiring`, with its defaults: every 100 steps, 30 % decayed
  along a cosine, until 75 % of training);
* the ablations of Frankle, Dziugaite, Roy & Carbin (ICLR 2021) of SNIP, GraSP and SynFlow
  (``snip_shuffled``, ``snip_reinit``, ``snip_inverted``, ...): does the method's accuracy
  survive when its choice within each layer, or its initial values, or its ranking are lost?

Each record is :meth:`~lottery_np.pruning.RoundRecord.from_training` of the network's
training at round ``r``. The result also holds ``input_connections``: per pruned round,
how many connections each input feature keeps in the first layer (a 28x28 image on MNIST,
as SNIP's Figure 2 and RigL's Figure 7 draw them).
"""
from __future__ import annotations

import numpy as np

from ..model import MLP
from ..pruning import (RoundRecord, grasp_scores, masks_from_scores, random_masks_at, shuffle_masks, snip_scores,
                       synflow_masks)
from ..sparse import Rewiring
from ..training import train
from .settings import FROM_START, REINIT_SEED_OFFSET

SCORE_BATCH = 100
"""Training examples SNIP and GraSP score the weights on (SNIP's MNIST batch size, Lee et al. 2019, Section 5)."""

DISTRIBUTION = {"random": "uniform", "erk": "erdos_renyi", "set": "erdos_renyi", "rigl": "erdos_renyi"}
"""How the random-mask methods share the count between the layers."""


def masks_at_init(method: str, model: MLP, data, n_keep: int, seed: int) -> list[np.ndarray]:
    """The masks ``method`` chooses for the untrained ``model``, keeping exactly ``n_keep`` weights.

    An ablated method (``snip_shuffled``, ``grasp_inverted``, ...; :data:`~.settings.ABLATED`)
    shuffles the chosen positions within each layer, or keeps the other end of the scores' ranking;
    ``..._reinit`` chooses as its method does (the new initial weights are :func:`from_start_job`'s).

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> net = MLP((64, 20, 10), seed=0)
    >>> [sum(int(m.sum()) for m in masks_at_init(name, net, load_digits(), 150, seed=0)) for name in FROM_START]
    [150, 150, 150, 150, 150, 150, 150]
    """
    method, _, ablation = method.partition("_")
    if method in DISTRIBUTION:
        shapes = [w.shape for w in model.weights]
        density = n_keep / sum(w.size for w in model.weights)
        return random_masks_at(shapes, density, DISTRIBUTION[method], np.random.default_rng((seed, n_keep)))
    if method == "synflow":
        masks = synflow_masks(model, n_keep)
    else:
        batch = np.random.default_rng(seed).choice(len(data.X_train), size=min(SCORE_BATCH, len(data.X_train)),
                                                   replace=False)
        scores = (snip_scores if method == "snip" else grasp_scores)(model, data.X_train[batch], data.y_train[batch])
        keep = "largest" if (method == "snip") != (ablation == "inverted") else "smallest"  # GraSP keeps the smallest
        masks = masks_from_scores(scores, model.masks, n_keep, keep=keep)
    if ablation == "shuffled":
        masks = shuffle_masks(masks, np.random.default_rng((seed, n_keep)))
    return masks


def from_start_job(job, settings, data) -> dict:
    """Train ``job.method``'s network at every pruned IMP density of ``settings`` (records of rounds 1..R).

    A ``..._reinit`` method trains its method's masks over the initialization of
    ``seed + REINIT_SEED_OFFSET`` instead of the one they were chosen on.
    """
    counts = settings.layer_counts()
    records, connections = [], {}
    for r in range(1, settings.rounds + 1):
        model = MLP(settings.layer_sizes, seed=job.seed)
        masks = masks_at_init(job.method, model, data, int(counts[r].sum()), job.seed)
        if job.method.endswith("_reinit"):
            model = MLP(settings.layer_sizes, seed=job.seed + REINIT_SEED_OFFSET)
        model.set_masks(masks)
        rewiring = None
        if job.method in ("set", "rigl"):
            rewiring = Rewiring(job.method, settings.training.iterations, seed=job.seed)
        result = train(model, data, settings.training, seed=job.seed, rewiring=rewiring)
        records.append(RoundRecord.from_training(r, model, result).to_dict())
        connections[str(r)] = model.masks[0].sum(axis=1).astype(int).tolist()
    return {"records": records, "input_connections": connections}
