"""A training run stopped between two iterations and taken up again, bit for bit.

What decides the rest of a run of :func:`lottery_np.training.train` after iteration ``t``:

* the network: weights, biases and masks (dynamic sparse training moves the masks);
* the optimizer: its state at every surviving entry and its step count (Adam's bias
  correction reads it);
* the data order: a function of ``(seed, epoch)`` alone (:func:`~lottery_np.training.epoch_order`),
  so nothing needs saving; likewise SET's random growth at update ``t`` draws from ``(seed, t)``;
* what the run has measured: the learning curve so far, the batch losses since the last
  evaluation, the seconds spent, and the connectivity updates taken.

:class:`TrainingState` holds exactly that; ``train(..., resume_from=state)`` continues it,
and gives the numbers the run would have given had it never stopped. The optimizer's state
is saved spread over every entry of each parameter (:meth:`~lottery_np.optim.Optimizer.full_state`),
so a state saved from one form of training step resumes in any other.

:class:`TrainingCheckpoint` writes the state atomically every ``every_seconds`` (at an
evaluation, when the model holds every update), with a ``fingerprint`` of what the run is,
which a resumed run must match: a run is never continued into one it never was.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .curves import LearningCurve
from .files import NpzArchive, json_array, save_npz_atomic
from .model import Parameters

FORMAT = 1
"""The layout of a saved state; a file of another layout is refused."""

_INFO = {"format": int, "iteration": int, "start_iteration": int, "layer_sizes": list, "optimizer": list,
         "optimizer_iterations": int, "curve": dict, "running_loss": list, "seconds": (int, float),
         "rewiring_updates": list, "fingerprint": dict}


@dataclass
class TrainingState:
    """Everything a run needs to continue after ``iteration`` as if it had never stopped.

    Attributes
    ----------
    iteration : int
        The updates taken (counted like :func:`~lottery_np.training.train`'s curve).
    start_iteration : int
        Where the run began (late rewinding starts after 0).
    parameters : Parameters
    masks : list of ndarray, float32 0/1
    optimizer : list of dict
        Per parameter (weights, then biases), the optimizer's state by name over every entry;
        empty before the first step.
    optimizer_iterations : int
    curve : LearningCurve
    running_loss : list of float
        The batch losses since the last evaluation.
    seconds : float
        Wall time spent so far.
    rewiring_updates : list of dict
        ``updates`` of the :class:`lottery_np.sparse.Rewiring` so far.
    """

    iteration: int
    start_iteration: int
    parameters: Parameters
    masks: list
    optimizer: list
    optimizer_iterations: int
    curve: LearningCurve
    running_loss: list
    seconds: float
    rewiring_updates: list = field(default_factory=list)

    def save(self, path: str | os.PathLike, fingerprint: dict) -> Path:
        """Write the state and ``fingerprint`` (what the run is, as JSON values) atomically to ``path``."""
        arrays = {}
        for kind, values in (("weights", self.parameters.weights), ("biases", self.parameters.biases),
                             ("masks", self.masks)):
            arrays.update({f"{kind}_{layer}": np.asarray(v) for layer, v in enumerate(values)})
        names = [sorted(state) for state in self.optimizer]
        for i, state in enumerate(self.optimizer):
            arrays.update({f"optimizer_{i}_{name}": state[name] for name in names[i]})
        arrays["info"] = json_array({
            "format": FORMAT, "iteration": self.iteration, "start_iteration": self.start_iteration,
            "layer_sizes": [w.shape[0] for w in self.parameters.weights] + [self.parameters.biases[-1].size],
            "optimizer": names, "optimizer_iterations": self.optimizer_iterations, "curve": self.curve.to_dict(),
            "running_loss": list(self.running_loss), "seconds": self.seconds,
            "rewiring_updates": self.rewiring_updates, "fingerprint": fingerprint})
        return save_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, fingerprint: Optional[dict] = None) -> "TrainingState":
        """Read a state that :meth:`save` wrote, every array checked (:class:`~lottery_np.files.NpzArchive`).

        Raises
        ------
        ValueError
            If ``fingerprint`` is given and differs from the saved one (each differing entry named).
        CorruptFileError
            If the file is damaged or not a training state.
        """
        archive = NpzArchive(path, "training state")
        info = archive.json("info", _INFO)
        if info["format"] != FORMAT:
            archive.fail("info", f"has format {info['format']}, this lottery_np reads {FORMAT}")
        if fingerprint is not None and info["fingerprint"] != fingerprint:
            differ = sorted(k for k in {**fingerprint, **info["fingerprint"]}
                            if fingerprint.get(k) != info["fingerprint"].get(k))
            raise ValueError(f"{path} holds another run (it differs in {', '.join(differ)}); "
                             "resume with the settings it was started with, or start afresh elsewhere")
        sizes = info["layer_sizes"]
        shapes = list(zip(sizes[:-1], sizes[1:]))
        archive.require(["info", *(f"{kind}_{l}" for kind in ("weights", "biases", "masks") for l in range(len(shapes))),
                         *(f"optimizer_{i}_{n}" for i, names in enumerate(info["optimizer"]) for n in names)])
        params = Parameters([archive.floats(f"weights_{l}", s) for l, s in enumerate(shapes)],
                            [archive.floats(f"biases_{l}", (s[1],)) for l, s in enumerate(shapes)])
        masks = [archive.mask(f"masks_{l}", s) for l, s in enumerate(shapes)]
        entries = [int(np.prod(s)) for s in shapes] + [s[1] for s in shapes]
        optimizer = [{name: archive.floats(f"optimizer_{i}_{name}", (entries[i],)) for name in names}
                     for i, names in enumerate(info["optimizer"])]
        return cls(info["iteration"], info["start_iteration"], params, masks, optimizer, info["optimizer_iterations"],
                   LearningCurve(**info["curve"]), info["running_loss"], float(info["seconds"]),
                   info["rewiring_updates"])


@dataclass
class TrainingCheckpoint:
    """Where and how often :func:`~lottery_np.training.train` saves its :class:`TrainingState`.

    Parameters
    ----------
    path : path
        The state file, rewritten atomically each time.
    fingerprint : dict
        What the run is (settings, data digest, library version), saved with the state;
        :meth:`load` refuses a file of another fingerprint.
    every_seconds : float
        At least this long between two saves (0: at every evaluation).

    Examples
    --------
    >>> import tempfile
    >>> from lottery_np import MLP, TrainingConfig, train
    >>> from lottery_np.data import load_digits
    >>> path = Path(tempfile.mkdtemp()) / "state.npz"
    >>> checkpoint = TrainingCheckpoint(path, {"run": "demo"}, every_seconds=0)
    >>> config = TrainingConfig(iterations=200, eval_every=100)
    >>> first = train(MLP((64, 20, 10), seed=0), load_digits(), config, checkpoint=checkpoint)
    >>> checkpoint.load().iteration  # the last evaluation before the end
    100
    >>> again = train(MLP((64, 20, 10), seed=0), load_digits(), config, resume_from=checkpoint.load())
    >>> again.curve.val_loss == first.curve.val_loss
    True
    """

    path: str | os.PathLike
    fingerprint: dict
    every_seconds: float = 60.0
    _last: float = field(default_factory=time.perf_counter, repr=False)

    def due(self) -> bool:
        """Whether ``every_seconds`` have passed since the last save (or since this checkpoint was made)."""
        return time.perf_counter() - self._last >= self.every_seconds

    def save(self, state: TrainingState) -> None:
        """Write ``state`` with the fingerprint."""
        state.save(self.path, self.fingerprint)
        self._last = time.perf_counter()

    def exists(self) -> bool:
        return Path(self.path).exists()

    def load(self) -> TrainingState:
        """The saved state, refused if its fingerprint differs (see :meth:`TrainingState.load`)."""
        return TrainingState.load(self.path, self.fingerprint)
