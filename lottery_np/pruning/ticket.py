"""Winning tickets: a mask, the weights to start from, and the history that found them."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from ..model import MLP, Parameters, apply_mask
from ..storage import json_array, load_npz, read_json_array, save_npz_atomic
from ..training import TrainingResult, first_iteration_reaching


@dataclass
class RoundRecord:
    """What one pruning round measured; round 0 is the dense baseline.

    Accuracies are fractions in [0, 1]; ``*_accuracy`` are read at the end of
    training and ``early_stop_*`` at the iteration of minimum validation loss.
    """

    pruning_round: int
    density: float
    layer_densities: list[float]
    val_accuracy: float
    test_accuracy: float
    early_stop_iteration: int
    early_stop_val_accuracy: float
    early_stop_test_accuracy: float
    wall_time: float
    curve: dict = field(default_factory=dict)

    @classmethod
    def from_training(cls, pruning_round: int, model: MLP, result: TrainingResult) -> "RoundRecord":
        """Summarise ``result``, the training of ``model`` in round ``pruning_round``."""
        return cls(
            pruning_round=pruning_round,
            density=model.density,
            layer_densities=model.layer_densities(),
            val_accuracy=result.final_val_accuracy,
            test_accuracy=result.final_test_accuracy,
            early_stop_iteration=result.early_stop_iteration,
            early_stop_val_accuracy=result.early_stop_val_accuracy,
            early_stop_test_accuracy=result.early_stop_test_accuracy,
            wall_time=result.wall_time,
            curve=result.curve.to_dict(),
        )

    def iterations_to_reach(self, val_accuracy: float) -> Optional[int]:
        """First evaluated iteration at which validation accuracy reached ``val_accuracy`` (None if never)."""
        return first_iteration_reaching(self.curve.get("iterations", []), self.curve.get("val_accuracy", []), val_accuracy)

    def to_dict(self) -> dict:
        """Plain values for JSON (NaN becomes None)."""
        return _nan_to_none(asdict(self))


def _nan_to_none(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _none_to_nan(value):
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {k: _none_to_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_none_to_nan(v) for v in value]
    return value


def history_from_dicts(rows: list[dict]) -> list[RoundRecord]:
    """Rebuild :class:`RoundRecord` objects from :meth:`RoundRecord.to_dict` output."""
    return [RoundRecord(**_none_to_nan(row)) for row in rows]


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
        """Write the ticket to a ``.npz`` file (atomically, no pickling)."""
        arrays = {
            "layer_sizes": np.asarray(self.layer_sizes, dtype=np.int64),
            "meta": json_array(
                {"pruning_round": self.pruning_round, "rewind": self.rewind, "history": [r.to_dict() for r in self.history]}
            ),
        }
        for layer in range(len(self.masks)):
            arrays[f"mask_{layer}"] = self.masks[layer].astype(np.uint8)
            arrays[f"weights_{layer}"] = self.weights[layer]
            arrays[f"biases_{layer}"] = self.biases[layer]
            arrays[f"initial_weights_{layer}"] = self.initial.weights[layer]
            arrays[f"initial_biases_{layer}"] = self.initial.biases[layer]
        save_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "WinningTicket":
        """Read a ticket written by :meth:`save`.

        Raises
        ------
        ValueError
            If the file is not a ticket or its arrays do not fit together.
        """
        arrays = load_npz(path, ["layer_sizes", "meta"], what="winning ticket")
        sizes = tuple(int(s) for s in arrays["layer_sizes"])
        n_layers = len(sizes) - 1
        keys = ("mask", "weights", "biases", "initial_weights", "initial_biases")
        missing = [f"{k}_{l}" for l in range(n_layers) for k in keys if f"{k}_{l}" not in arrays]
        if n_layers < 1 or missing:
            raise ValueError(f"{path} is not a valid winning ticket: missing {', '.join(missing) or 'layers'}")
        try:
            meta = read_json_array(arrays["meta"])
            layers = {k: [arrays[f"{k}_{l}"] for l in range(n_layers)] for k in keys}
            for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                for k in ("mask", "weights", "initial_weights"):
                    if layers[k][l].shape != (fan_in, fan_out):
                        raise ValueError(f"{k}_{l} has shape {layers[k][l].shape}, expected {(fan_in, fan_out)}")
            masks = [m.astype(np.float32) for m in layers["mask"]]
            if not all(np.isin(m, (0, 1)).all() for m in masks):
                raise ValueError("masks must contain only 0 and 1")
            return cls(
                layer_sizes=sizes,
                masks=masks,
                weights=[apply_mask(w, m) for w, m in zip(layers["weights"], masks)],
                biases=layers["biases"],
                initial=Parameters(layers["initial_weights"], layers["initial_biases"]),
                pruning_round=int(meta["pruning_round"]),
                rewind=str(meta["rewind"]),
                history=history_from_dicts(meta["history"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path} is not a valid winning ticket: {error}") from error

    def summary(self) -> str:
        """The per-round history as a text table (ES = at early stopping), this ticket's round marked ``*``."""
        lines = [f"{'round':>5} {'density':>8} {'ES iter':>8} {'ES val':>7} {'ES test':>7} {'end test':>8} {'time s':>7}"]
        for r in self.history:
            mark = "*" if r.pruning_round == self.pruning_round else " "
            lines.append(
                f"{r.pruning_round:>4}{mark} {r.density:>8.4f} {r.early_stop_iteration:>8d} {r.early_stop_val_accuracy:>7.4f} "
                f"{r.early_stop_test_accuracy:>7.4f} {r.test_accuracy:>8.4f} {r.wall_time:>7.1f}"
            )
        return "\n".join(lines)
