"""Compaction: the smaller dense network a sparse one really is, and its export.

A pruned network computes with far fewer units than it holds. A hidden unit ``j`` of
layer ``l`` (weights ``W_l`` of shape ``(fan_in, fan_out)``, masks ``M_l``) is *dead* if

* no surviving weight enters it from a live unit: its pre-activation is its bias alone,
  so it outputs the constant ``relu(b_l[j])``. Removing it is exact once its
  contribution is folded into the next layer's bias,
  ``b_{l+1} += relu(b_l[j]) * (W_{l+1} * M_{l+1})[j, :]``;
* or no surviving weight leaves it to a live unit: nothing downstream ever sees it.

Removing a unit can kill others (its inputs may lose their last output, its outputs
their last input), so the rules are applied until nothing changes. An input feature
with no surviving weight into a live first-layer unit is dropped; output units are
never removed. What remains is a plain dense network, :class:`CompactNetwork`, whose
predictions equal the sparse network's (its logits up to float32 rounding).

Compaction reads only ``(weights, masks, biases)``, so it applies to a trained ticket
(what one deploys) as well as to a ticket's rewound weights.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..data import rules
from ..files import save_npz_atomic
from ..model import MLP, log_softmax
from ..pruning import WinningTicket


@dataclass
class CompactNetwork:
    """A dense ReLU network computing what a sparse :class:`~lottery_np.model.MLP` computes.

    Attributes
    ----------
    layer_sizes : tuple of int
        The sizes of the sparse network it was compacted from.
    weights : list of ndarray, float32, shape (kept fan_in, kept fan_out)
    biases : list of ndarray, float32, shape (kept fan_out,)
        With the constant outputs of removed units folded in.
    input_features : ndarray of int64, shape (n_kept_inputs,)
        The columns of the original ``X`` the network reads.
    kept_units : list of ndarray of int64
        Per hidden layer, the original indices of the units kept.
    """

    layer_sizes: tuple
    weights: list
    biases: list
    input_features: np.ndarray
    kept_units: list

    @property
    def compact_sizes(self) -> tuple:
        """``(n_kept_inputs, kept hidden_1, ..., n_classes)``."""
        return (len(self.input_features), *(len(k) for k in self.kept_units), self.layer_sizes[-1])

    def logits(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)`` logits of the ORIGINAL, full-width ``X`` of shape ``(n_samples, n_features)``.

        ``A_0 = X[:, input_features]``, ``A_l = relu(A_{l-1} W_l + b_l)``, logits ``A_{L-1} W_L + b_L``.
        """
        X = rules.features_of("X", X)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}")
        A = X[:, self.input_features].astype(np.float32)
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            A = A @ w + b
            if layer < len(self.weights) - 1:
                np.maximum(A, 0, out=A)
        return A

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``softmax(logits)``, shape ``(n_samples, n_classes)``."""
        return np.exp(log_softmax(self.logits(X).T)).T

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class of each sample, shape ``(n_samples,)``."""
        return self.logits(X).argmax(axis=1)

    def save_npz(self, path: str | os.PathLike) -> Path:
        """Write plain arrays that any NumPy can read without this library, atomically; return the path.

        Layout (``L = len(weights)`` layers, ``l = 0 .. L-1``):

        * ``layer_sizes`` int64 ``(L + 1,)``: the sizes of the original sparse network;
        * ``input_features`` int64 ``(k_0,)``: the columns of ``X`` read;
        * ``weights_{l}`` float32 ``(k_l, k_{l+1})`` and ``biases_{l}`` float32 ``(k_{l+1},)``;
        * ``kept_units_{l}`` int64 ``(k_{l+1},)`` for the hidden layers ``l = 0 .. L-2``.

        The forward pass, in plain NumPy::

            f = np.load(path)
            A = X[:, f["input_features"]].astype(np.float32)
            for l in range(len(f["layer_sizes"]) - 1):
                A = A @ f[f"weights_{l}"] + f[f"biases_{l}"]
                if l < len(f["layer_sizes"]) - 2:
                    A = np.maximum(A, 0)
            prediction = A.argmax(axis=1)   # A holds the logits
        """
        arrays = {"layer_sizes": np.asarray(self.layer_sizes, dtype=np.int64),
                  "input_features": self.input_features}
        arrays.update({f"weights_{l}": w for l, w in enumerate(self.weights)})
        arrays.update({f"biases_{l}": b for l, b in enumerate(self.biases)})
        arrays.update({f"kept_units_{l}": k for l, k in enumerate(self.kept_units)})
        return save_npz_atomic(path, arrays)

    def to_torch(self):
        """A ``torch.nn.Sequential`` of plain ``Linear`` layers and ``ReLU``; feed it ``X[:, input_features]``.

        Raises
        ------
        ImportError
            If PyTorch is not installed.
        """
        return _torch_sequential(self.weights, self.biases)


def as_model(model: MLP | WinningTicket) -> MLP:
    """``model`` itself, or a ticket's :meth:`~lottery_np.pruning.WinningTicket.to_model`: what this module exports."""
    if isinstance(model, WinningTicket):
        return model.to_model()
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP or a WinningTicket, got {type(model).__name__}")
    return model


def compact(model: MLP | WinningTicket) -> CompactNetwork:
    """The dense network of the units of ``model`` that can still influence its output.

    Parameters
    ----------
    model : MLP or WinningTicket
        Sparse, trained or not (a ticket: its rewound weights); it is not modified.

    Returns
    -------
    CompactNetwork
        Its predictions equal ``model``'s on every input.

    Examples
    --------
    >>> import numpy as np
    >>> from lottery_np import MLP
    >>> net = MLP((4, 3, 2), seed=0)
    >>> net.set_masks([np.array([[1, 0, 0]] * 4, np.float32), np.ones((3, 2), np.float32)])
    >>> compact(net).compact_sizes
    (4, 1, 2)
    """
    model = as_model(model)
    masks = [m != 0 for m in model.masks]
    weights = [np.where(m, w, 0).astype(np.float64) for w, m in zip(model.weights, masks)]
    biases = [b.astype(np.float64) for b in model.biases]
    alive = [np.ones(n, dtype=bool) for n in model.layer_sizes]  # alive[0]: inputs, alive[-1]: outputs
    changed = True
    while changed:
        changed = False
        for l in range(1, len(alive) - 1):  # hidden layer l: weights[l - 1] in, weights[l] out
            no_input = alive[l] & ~masks[l - 1][alive[l - 1]].any(axis=0)
            for j in np.flatnonzero(no_input):
                biases[l] += max(biases[l - 1][j], 0.0) * weights[l][j]
            no_output = alive[l] & ~masks[l][:, alive[l + 1]].any(axis=1)
            dead = no_input | no_output
            changed |= bool(dead.any())
            alive[l] &= ~dead
        alive[0] = masks[0][:, alive[1]].any(axis=1)
    kept = [np.flatnonzero(a).astype(np.int64) for a in alive]
    return CompactNetwork(
        layer_sizes=tuple(model.layer_sizes),
        weights=[w[np.ix_(i, o)].astype(np.float32) for w, i, o in zip(weights, kept[:-1], kept[1:])],
        biases=[b[o].astype(np.float32) for b, o in zip(biases, kept[1:])],
        input_features=kept[0],
        kept_units=kept[1:-1],
    )


def to_torch(model: MLP | WinningTicket):
    """``model`` (or a ticket's rewound network) as a ``torch.nn.Sequential`` of ``Linear`` layers pruned by
    ``torch.nn.utils.prune.custom_from_mask``.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    """
    model = as_model(model)
    return _torch_sequential(model.weights, model.biases, model.masks)


def _torch_sequential(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                      masks: Optional[Sequence[np.ndarray]] = None):
    """``Linear, ReLU, ..., Linear`` holding ``weights[l].T`` (torch stores ``(fan_out, fan_in)``), masked if given."""
    if importlib.util.find_spec("torch") is None:
        raise ImportError("to_torch needs PyTorch: install the [torch] extra: pip install lottery_np[torch]")
    import torch
    from torch.nn.utils import prune

    layers = []
    for l, (w, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T, dtype=np.float32)))
            linear.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
        if masks is not None:
            prune.custom_from_mask(linear, name="weight", mask=torch.from_numpy(np.ascontiguousarray(masks[l].T)))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])
