"""The controls that show a winning ticket is more than its sparsity (Frankle & Carbin, 2019, Section 2).

* **Random reinitialization**: the ticket's mask with freshly drawn initial
  weights. If the ticket's advantage came from its structure alone, this would
  train as well; in the paper it learns more slowly and less accurately.
* **Random mask**: a random mask with the ticket's per-layer density, over the
  *original* initialization. This tests whether the particular connections matter.
"""
from __future__ import annotations

import numpy as np

from ..model import MLP, Parameters
from .masks import random_masks
from .ticket import WinningTicket


def random_reinit_model(ticket: WinningTicket, seed: int) -> MLP:
    """The ticket's masks over a fresh Glorot-normal initialization drawn from ``seed``.

    Raises
    ------
    ValueError
        If ``seed`` redraws the ticket's own initialization (the seed its network was
        built with): that "control" would be the ticket itself.
    """
    model = MLP(ticket.layer_sizes, seed=seed)
    if all(np.array_equal(w, w0) for w, w0 in zip(model.weights, ticket.initial.weights)):
        raise ValueError(f"seed {seed} redraws the ticket's own initialization; pick another seed for the control")
    model.set_masks(ticket.masks)
    return model


def random_mask_model(ticket: WinningTicket, seed: int) -> MLP:
    """A uniformly random mask with the ticket's exact per-layer counts, over the original initialization."""
    rng = np.random.default_rng(seed)
    counts = [int(m.sum()) for m in ticket.masks]
    model = MLP(ticket.layer_sizes)
    model.set_masks(random_masks([m.shape for m in ticket.masks], counts, rng))
    model.set_parameters(Parameters(ticket.initial.weights, ticket.initial.biases))
    return model
