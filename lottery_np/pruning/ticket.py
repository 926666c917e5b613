"""Winning tickets: a mask, the weights to start from, and the history that found them."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from ..archive import NpzArchive, is_instance
from ..model import MLP, Parameters, apply_mask
from ..storage import json_array, save_npz_atomic
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


def _fraction(value) -> bool:
    return is_instance(value, float) and 0 <= value <= 1


def _count(value) -> bool:
    return is_instance(value, int) and value >= 0


def _curve(value) -> bool:
    def numbers(values) -> bool:
        return isinstance(values, list) and all(v is None or is_instance(v, float) for v in values)
    return isinstance(value, dict) and all(map(numbers, value.values()))


# What each RoundRecord field must hold when read back from JSON. An accuracy is None (NaN)
# without a test set; ``curve`` has a default, so a row may omit it.
_ACCURACY = ("null or a number in [0, 1]",
             lambda v: v is None or _fraction(v) or (is_instance(v, float) and math.isnan(v)))
_ROW_RULES = {
    "pruning_round": ("an integer >= 0", _count),
    "density": ("a number in (0, 1]", lambda v: _fraction(v) and v > 0),
    "layer_densities": ("a list of numbers in [0, 1]", lambda v: isinstance(v, list) and all(map(_fraction, v))),
    "val_accuracy": _ACCURACY,
    "test_accuracy": _ACCURACY,
    "early_stop_iteration": ("an integer >= 0", _count),
    "early_stop_val_accuracy": _ACCURACY,
    "early_stop_test_accuracy": _ACCURACY,
    "wall_time": ("a number >= 0", lambda v: is_instance(v, float) and v >= 0),
    "curve": ("an object of lists of numbers", _curve),
}


def history_from_dicts(rows: list[dict]) -> list[RoundRecord]:
    """Rebuild :class:`RoundRecord` objects from :meth:`RoundRecord.to_dict` output, round 0 first.

    Raises
    ------
    ValueError
        Naming the row and field, if a row lacks a field, has an unknown one, holds a
        value of the wrong type or range, or is out of order (row ``i`` must be round ``i``).
    """
    if not isinstance(rows, list):
        raise ValueError(f"history must be a list of rounds, got {type(rows).__name__}")
    records = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"history[{i}] must be an object, got {type(row).__name__}")
        missing = [name for name in _ROW_RULES if name not in row and name != "curve"]
        extra = sorted(set(row) - set(_ROW_RULES))
        if missing or extra:
            problem = f"lacks {', '.join(missing)}" if missing else f"has unknown field {', '.join(extra)}"
            raise ValueError(f"history[{i}] {problem}")
        for name, value in row.items():
            rule, holds = _ROW_RULES[name]
            if not holds(value):
                raise ValueError(f"history[{i}].{name} must be {rule}, got {_short_repr(value)}")
        if row["pruning_round"] != i:
            raise ValueError(f"history[{i}].pruning_round must be {i} (rounds in order), got {row['pruning_round']}")
        records.append(RoundRecord(**_none_to_nan(row)))
    return records


def read_history(archive: NpzArchive, key: str, rows) -> list[RoundRecord]:
    """:func:`history_from_dicts` of the ``rows`` a file stores under ``key``; they must not be empty.

    Raises
    ------
    CorruptFileError
        Naming the file, ``key`` and the bad row.
    """
    if rows == []:
        archive.fail(key, "holds an empty history (a saved run has at least its dense round)")
    try:
        return history_from_dicts(rows)
    except ValueError as error:
        archive.fail(key, str(error))


def _short_repr(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


_LAYER_KEYS = ("mask", "weights", "biases", "initial_weights", "initial_biases")


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
        archive.require(["layer_sizes", "meta", *(f"{k}_{l}" for l in range(len(sizes) - 1) for k in _LAYER_KEYS)])
        meta = archive.json("meta", {"pruning_round": int, "rewind": str, "history": list})
        history = read_history(archive, "meta", meta["history"])
        if not 0 <= meta["pruning_round"] < len(history):
            archive.fail("meta", f"pruning_round must index the {len(history)} rounds of the history, "
                                 f"got {meta['pruning_round']}")
        masks, weights, biases, initial = [], [], [], Parameters([], [])
        for l, shape in enumerate(zip(sizes[:-1], sizes[1:])):
            masks.append(archive.mask(f"mask_{l}", shape))
            weights.append(apply_mask(archive.floats(f"weights_{l}", shape), masks[l]))
            biases.append(archive.floats(f"biases_{l}", shape[1:]))
            initial.weights.append(archive.floats(f"initial_weights_{l}", shape))
            initial.biases.append(archive.floats(f"initial_biases_{l}", shape[1:]))
        return cls(layer_sizes=sizes, masks=masks, weights=weights, biases=biases, initial=initial,
                   pruning_round=meta["pruning_round"], rewind=meta["rewind"], history=history)

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
