"""Winning tickets: a mask, the weights to start from, and the history that found them."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..model import MLP, Parameters, apply_mask
from ..files import NpzArchive, json_array, save_npz_atomic
from .layout import (layer_shapes, layer_sizes_array, mask_arrays, mask_keys, parameter_arrays, parameter_keys,
                     read_masks, read_parameters)
from .masks import density as masks_density
from .record import RoundRecord, read_history


@dataclass
class WinningTicket:
    """A sparse subnetwork and the weights it restarts from.

    Attributes
    ----------
    layer_sizes : tuple of int
    masks : list of ndarray, float32 0/1, shape (fan_in, fan_out)
    weights : list of ndarray
        The rewound weights, exactly 0.0 where the mask is 0.
    biases : list of ndarray
    initial : Parameters
        The dense network's initialization, for the random-mask control.
    pruning_round : int
        The round whose mask this is (0 = dense).
    rewind : str
        The rewind strategy, as ``RewindStrategy.parse`` reads it.
    history : list of RoundRecord
        Every round of the search, round 0 first.

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
    >>> ticket.pruning_round, ticket.density, ticket.rewind
    (2, 0.5, 'init')
    >>> model = ticket.to_model()  # the rewound network, its masks in place
    >>> [int(m.sum()) for m in model.masks]
    [13, 11]
    """

    layer_sizes: tuple
    masks: list
    weights: list
    biases: list
    initial: Parameters
    pruning_round: int
    rewind: str
    history: list = field(default_factory=list)

    @property
    def density(self) -> float:
        """Fraction of weights remaining."""
        return float(sum(m.sum() for m in self.masks) / sum(m.size for m in self.masks))

    @property
    def layer_densities(self) -> list[float]:
        """Fraction of weights remaining in each layer."""
        return [float(m.mean()) for m in self.masks]

    @property
    def record(self) -> RoundRecord:
        """The history entry of this ticket's round."""
        return self.history[self.pruning_round]

    def to_model(self, dtype=np.float32) -> MLP:
        """A fresh network at the rewound weights with the masks applied."""
        model = MLP(self.layer_sizes, dtype=dtype)
        model.set_masks(self.masks)
        model.set_parameters(Parameters(self.weights, self.biases))
        return model

    def save(self, path: str | os.PathLike) -> None:
        """Write the ticket to a ``.npz`` file (atomically, no pickling) in the layout of :mod:`.layout`.

        Keys: ``layer_sizes``, ``meta`` (JSON: ``pruning_round``, ``rewind``, ``history``), and per layer
        ``l`` the mask ``mask_{l}``, the start ``weights_{l}``, ``biases_{l}`` and the initialization
        ``initial_weights_{l}``, ``initial_biases_{l}``.
        """
        meta = {"pruning_round": self.pruning_round, "rewind": self.rewind, "history": [r.to_dict() for r in self.history]}
        save_npz_atomic(path, {
            "layer_sizes": layer_sizes_array(self.layer_sizes),
            "meta": json_array(meta),
            **mask_arrays("", self.masks),
            **parameter_arrays("", Parameters(self.weights, self.biases)),
            **parameter_arrays("initial_", self.initial),
        })

    @classmethod
    def load(cls, path: str | os.PathLike) -> "WinningTicket":
        """Read a ticket written by :meth:`save`, checking every array and the history first.

        Raises
        ------
        CorruptFileError
            Naming the file and the key, if the file is not a ticket, lacks or has an extra
            key, or holds an array of the wrong shape or dtype, a non-finite weight or bias,
            a mask value other than 0 and 1, or a bad history.
        """
        archive = NpzArchive(path, "winning ticket")
        sizes = archive.layer_sizes("layer_sizes")
        n_layers = len(sizes) - 1
        archive.require(["layer_sizes", "meta", *mask_keys("", n_layers), *parameter_keys("", n_layers),
                         *parameter_keys("initial_", n_layers)])
        meta = archive.json("meta", {"pruning_round": int, "rewind": str, "history": list})
        history = read_history(archive, "meta", meta["history"])
        if not 0 <= meta["pruning_round"] < len(history):
            archive.fail("meta", f"pruning_round must index the {len(history)} rounds of the history, "
                                 f"got {meta['pruning_round']}")
        shapes = layer_shapes(sizes)
        masks = read_masks(archive, "", shapes)
        density = masks_density(masks)
        if density != history[meta["pruning_round"]].density:
            archive.fail("mask_0", f"and the other masks keep {density!r} of the weights, but the history row of "
                                   f"round {meta['pruning_round']} says {history[meta['pruning_round']].density!r}")
        start = read_parameters(archive, "", shapes)
        return cls(layer_sizes=sizes, masks=masks, weights=[apply_mask(w, m) for w, m in zip(start.weights, masks)],
                   biases=start.biases, initial=read_parameters(archive, "initial_", shapes),
                   pruning_round=meta["pruning_round"], rewind=meta["rewind"], history=history)

    def summary(self) -> str:
        """The per-round history as a text table (ES = at early stopping), this ticket's round marked ``*``."""
        lines = [f"{'round':>5} {'density':>8} {'ES iter':>8} {'ES val':>7} {'ES test':>7} {'end test':>8} {'time s':>7}"]
        for r in self.history:
            mark = "*" if r.pruning_round == self.pruning_round else " "
            lines.append(
                f"{r.pruning_round:>4}{mark} {r.density:>8.4f} {r.early_stop_iteration:>8d} {r.early_stop_val_accuracy:>7.4f} "
                f"{r.early_stop_test_accuracy:>7.4f} {r.final_test_accuracy:>8.4f} {r.wall_time:>7.1f}"
            )
        return "\n".join(lines)
