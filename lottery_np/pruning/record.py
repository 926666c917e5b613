"""What one pruning round measured, and reading those measurements back from a file.

A pruning history is a list of :class:`RoundRecord`, round 0 (the dense network)
first. Tickets, checkpoints, run folders and benchmark results all store it as the
rows of :meth:`RoundRecord.to_dict`; :func:`history_from_dicts` checks every row
before it rebuilds the records, since a row read from disk may have been edited.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

from ..files import NpzArchive, is_instance
from ..model import MLP
from ..curves import TrainingResult, first_iteration_reaching


@dataclass
class RoundRecord:
    """What one pruning round measured; round 0 is the dense baseline.

    Accuracies are fractions in [0, 1] (NaN without a test set); ``final_*`` are read
    at the end of training, ``early_stop_*`` at the iteration of minimum validation loss.

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
    >>> record = ticket.history[1]
    >>> record.pruning_round, round(record.density, 3), record.early_stop_iteration
    (1, 0.708, 60)
    """

    pruning_round: int
    density: float
    layer_densities: list[float]
    final_val_accuracy: float
    final_test_accuracy: float
    early_stop_iteration: int
    early_stop_val_accuracy: float
    early_stop_test_accuracy: float
    wall_time: float = field(compare=False)  # the one number two identical runs do not share
    curve: dict = field(default_factory=dict)

    @classmethod
    def from_training(cls, pruning_round: int, model: MLP, result: TrainingResult) -> "RoundRecord":
        """Summarise ``result``, the training of ``model`` in round ``pruning_round``."""
        return cls(
            pruning_round=pruning_round,
            density=model.density,
            layer_densities=model.layer_densities(),
            final_val_accuracy=result.final_val_accuracy,
            final_test_accuracy=result.final_test_accuracy,
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
    return (isinstance(value, dict) and all(map(numbers, value.values()))
            and len({len(values) for values in value.values()}) <= 1)


# What each RoundRecord field must hold when read back from JSON. An accuracy is None (NaN)
# without a test set; ``curve`` has a default, so a row may omit it.
_ACCURACY = ("null or a number in [0, 1]",
             lambda v: v is None or _fraction(v) or (is_instance(v, float) and math.isnan(v)))
_ROW_RULES = {
    "pruning_round": ("an integer >= 0", _count),
    "density": ("a number in (0, 1]", lambda v: _fraction(v) and v > 0),
    "layer_densities": ("a list of numbers in [0, 1]", lambda v: isinstance(v, list) and all(map(_fraction, v))),
    "final_val_accuracy": _ACCURACY,
    "final_test_accuracy": _ACCURACY,
    "early_stop_iteration": ("an integer >= 0", _count),
    "early_stop_val_accuracy": _ACCURACY,
    "early_stop_test_accuracy": _ACCURACY,
    "wall_time": ("a number >= 0", lambda v: is_instance(v, float) and v >= 0),
    "curve": ("an object of lists of numbers, all of one length (one entry per evaluation)", _curve),
}

# Fields under the names that lottery_np wrote before they were renamed for what they hold.
_OLD_NAMES = {"val_accuracy": "final_val_accuracy", "test_accuracy": "final_test_accuracy"}


def _current_names(row: dict, i: int) -> dict[str, str]:
    """Each field of ``row`` under its current name, mapped to the name the row spells it with."""
    both = [old for old, new in _OLD_NAMES.items() if old in row and new in row]
    if both:
        raise ValueError(f"history[{i}] has both {both[0]} and its current name {_OLD_NAMES[both[0]]}")
    return {_OLD_NAMES.get(name, name): name for name in row}


def history_from_dicts(rows: list[dict], rounds: Optional[Sequence[int]] = None) -> list[RoundRecord]:
    """Rebuild :class:`RoundRecord` objects from :meth:`RoundRecord.to_dict` output, round 0 first.

    Rows of older files, which name ``final_val_accuracy`` and ``final_test_accuracy``
    ``val_accuracy`` and ``test_accuracy``, are read too.

    Parameters
    ----------
    rows : list of dict
    rounds : sequence of int, optional
        The round each row must be; by default ``0, 1, 2, ...`` as many as there are rows.

    Raises
    ------
    ValueError
        Naming the row and field, if a row lacks a field, has an unknown one, holds a
        value of the wrong type or range, or is another round than ``rounds`` says.

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
    >>> rows = [record.to_dict() for record in ticket.history]  # as a history.json holds them
    >>> history_from_dicts(rows) == ticket.history
    True
    """
    if not isinstance(rows, list):
        raise ValueError(f"history must be a list of rounds, got {type(rows).__name__}")
    rounds = list(range(len(rows))) if rounds is None else list(rounds)
    if len(rows) != len(rounds):
        raise ValueError(f"history must hold {len(rounds)} rounds, got {len(rows)}")
    records = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"history[{i}] must be an object, got {type(row).__name__}")
        spelled = _current_names(row, i)
        row = {name: row[spelled[name]] for name in spelled}
        missing = [name for name in _ROW_RULES if name not in row and name != "curve"]
        extra = sorted(spelled[name] for name in set(row) - set(_ROW_RULES))
        if missing or extra:
            problem = f"lacks {', '.join(missing)}" if missing else f"has unknown field {', '.join(extra)}"
            raise ValueError(f"history[{i}] {problem}")
        for name, value in row.items():
            rule, holds = _ROW_RULES[name]
            if not holds(value):
                raise ValueError(f"history[{i}].{spelled[name]} must be {rule}, got {_short_repr(value)}")
        if row["pruning_round"] != rounds[i]:
            raise ValueError(f"history[{i}].pruning_round must be {rounds[i]} (rounds in order), "
                             f"got {row['pruning_round']}")
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
