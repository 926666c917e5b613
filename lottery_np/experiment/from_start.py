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
  along a cosine, until 75 % of training).

Each record is :meth:`~lottery_np.pruning.RoundRecord.from_training` of the network's
training at round ``r``. The result also holds ``input_connections``: per pruned round,
how many connections each input feature keeps in the first layer (a 28x28 image on MNIST,
as SNIP's Figure 2 and RigL's Figure 7 draw them).
"""
from __future__ import annotations

import numpy as np

from ..model import MLP
from ..pruning import RoundRecord, grasp_masks, random_masks_at, snip_masks, synflow_masks
from ..sparse import Rewiring
from ..training import train
from .settings import FROM_START

SCORE_BATCH = 100
"""Training examples SNIP and GraSP score the weights on (SNIP's MNIST batch size, Lee et al. 2019, Section 5)."""

DISTRIBUTION = {"random": "uniform", "erk": "erdos_renyi", "set": "erdos_renyi", "rigl": "erdos_renyi"}
"""How the random-mask methods share the count between the layers."""


def masks_at_init(method: str, model: MLP, data, n_keep: int, seed: int) -> list[np.ndarray]:
    """The masks ``method`` chooses for the untrained ``model``, keeping exactly ``n_keep`` weights.

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> net = MLP((64, 20, 10), seed=0)
    >>> [sum(int(m.sum()) for m in masks_at_init(name, net, load_digits(), 150, seed=0)) for name in FROM_START]
    [150, 150, 150, 150, 150, 150, 150]
    """
    if method in DISTRIBUTION:
        shapes = [w.shape for w in model.weights]
        density = n_keep / sum(w.size for w in model.weights)
        return random_masks_at(shapes, density, DISTRIBUTION[method], np.random.default_rng((seed, n_keep)))
    if method == "synflow":
        return synflow_masks(model, n_keep)
    batch = np.random.default_rng(seed).choice(len(data.X_train), size=min(SCORE_BATCH, len(data.X_train)),
                                               replace=False)
    X, y = data.X_train[batch], data.y_train[batch]
    return (snip_masks if method == "snip" else grasp_masks)(model, X, y, n_keep)


def from_start_job(job, settings, data) -> dict:
    """Train ``job.method``'s network at every pruned IMP density of ``settings`` (records of rounds 1..R)."""
    counts = settings.layer_counts()
    records, connections = [], {}
    for r in range(1, settings.rounds + 1):
        model = MLP(settings.layer_sizes, seed=job.seed)
        model.set_masks(masks_at_init(job.method, model, data, int(counts[r].sum()), job.seed))
        rewiring = None
        if job.method in ("set", "rigl"):
            rewiring = Rewiring(job.method, settings.training.iterations, seed=job.seed)
        result = train(model, data, settings.training, seed=job.seed, rewiring=rewiring)
        records.append(RoundRecord.from_training(r, model, result).to_dict())
        connections[str(r)] = model.masks[0].sum(axis=1).astype(int).tolist()
    return {"records": records, "input_connections": connections}
