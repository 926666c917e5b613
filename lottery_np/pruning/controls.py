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

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)).astype(np.float32)
    >>> data = Dataset(X[:150], (X[:150, 0] > 0).astype(int), X[150:], (X[150:, 0] > 0).astype(int))
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(2).iterations(60)
    ...           .batch_size(10).eval_every(20).learning_rate(0.01).build())
    >>> ticket = pruner.find_ticket(MLP((4, 8, 2), seed=0), data)
    >>> control = random_reinit_model(ticket, seed=1)  # the same masks over another initialization
    >>> all(np.array_equal(a, b) for a, b in zip(control.masks, ticket.masks))
    True
    """
    model = MLP(ticket.layer_sizes, seed=seed)
    if all(np.array_equal(w, w0) for w, w0 in zip(model.weights, ticket.initial.weights)):
        raise ValueError(f"seed {seed} redraws the ticket's own initialization; pick another seed for the control")
    model.set_masks(ticket.masks)
    return model


def random_mask_model(ticket: WinningTicket, seed: int) -> MLP:
    """A uniformly random mask with the ticket's exact per-layer counts, over the original initialization.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> from lottery_np.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)).astype(np.float32)
    >>> data = Dataset(X[:150], (X[:150, 0] > 0).astype(int), X[150:], (X[150:, 0] > 0).astype(int))
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(2).iterations(60)
    ...           .batch_size(10).eval_every(20).learning_rate(0.01).build())
    >>> ticket = pruner.find_ticket(MLP((4, 8, 2), seed=0), data)
    >>> control = random_mask_model(ticket, seed=1)  # each layer's count, at random places
    >>> [int(m.sum()) for m in control.masks]
    [13, 11]
    """
    rng = np.random.default_rng(seed)
    counts = [int(m.sum()) for m in ticket.masks]
    model = MLP(ticket.layer_sizes)
    model.set_masks(random_masks([m.shape for m in ticket.masks], counts, rng))
    model.set_parameters(Parameters(ticket.initial.weights, ticket.initial.biases))
    return model
