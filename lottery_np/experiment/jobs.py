"""The benchmark's unit of work: one method, one seed, as a pure function.

A job loads its data itself (cached per process), trains single-threaded, and
returns a plain dict, so any worker of any joblib backend (loky here, Dask or Ray
on a cluster) computes the same numbers bit for bit, whatever ``n_jobs`` is.

Every job returns ``{"method", "seed", "records", "wall_time"}`` where ``records`` are
``RoundRecord.to_dict()`` rows. The IMP jobs add ``ticket_round`` (the round the
pruner selects on validation accuracy); ``lottery_ticket`` also returns every round's
``masks`` (uint8), which the control jobs train from and which are not written to JSON.
``one_shot`` belongs to the paper grid (:mod:`.paper`), whose settings say its rounds and counts.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import threading
import time
from typing import NamedTuple, Optional

import numpy as np

from ..engine import threads
from ..data import Dataset, load_dataset
from ..model import MLP, apply_mask
from ..pruning import (RewindStrategy, RoundRecord, WinningTicket, prune_layerwise, random_mask_model,
                       random_reinit_model)
from ..training import train
from .anatomy import supermask_job, treated_job, untrained_accuracies
from .from_start import from_start_job
from .settings import (ABLATED, CRITERION_METHODS, FROM_START, REINIT_SEED_OFFSET, SUPERMASKS, TREATED,
                       BenchmarkSettings)


class Job(NamedTuple):
    """One cell of the grid; ``pruning_round`` and ``masks`` only for the controls."""

    method: str
    seed: int
    pruning_round: Optional[int] = None
    masks: Optional[list] = None

    @property
    def key(self) -> tuple:
        """``(method, seed, pruning_round)``: what tells the job, and its result (:func:`result_key`), apart."""
        return self.method, self.seed, self.pruning_round


def result_key(result: dict) -> tuple:
    """The :attr:`Job.key` of the job that returned ``result``."""
    return result["method"], result["seed"], result.get("pruning_round")


@functools.lru_cache(maxsize=2)
def load_data(dataset: str, data_dir: Optional[str], subset: Optional[tuple]) -> Dataset:
    """The dataset of the settings, loaded once per process."""
    data = load_dataset(dataset, data_dir)
    return data.subset(*subset) if subset else data


def run_job(job: Job, settings: BenchmarkSettings) -> dict:
    """Run ``job`` under ``settings`` and return its result dict."""
    exit_with_parent()
    start = time.perf_counter()
    data = load_data(settings.dataset, settings.data_dir, settings.subset)
    with threads.limited(1):  # jobs, not threads, use the cores
        result = _METHODS[job.method](job, settings, data)
    return {"method": job.method, "seed": job.seed, **result, "wall_time": time.perf_counter() - start}


def _dense(job: Job, settings: BenchmarkSettings, data) -> dict:
    """The unpruned network, trained once: the baseline every method is compared with."""
    model = MLP(settings.layer_sizes, seed=job.seed)
    result = train(model, data, settings.training, seed=job.seed)
    return {"records": [RoundRecord.from_training(0, model, result).to_dict()]}


def _imp(job: Job, settings: BenchmarkSettings, data, rewind: RewindStrategy, with_masks: bool = False,
         criterion: str = "large_final") -> dict:
    """IMP with ``rewind`` by ``criterion``; with ``rewind`` to init also each round's mask's untrained accuracy."""
    pruner = settings.lottery_pruner(job.seed, rewind, criterion)
    model = MLP(settings.layer_sizes, seed=job.seed)
    ticket = pruner.find_ticket(model, data)
    result = {"records": [r.to_dict() for r in ticket.history], "ticket_round": ticket.pruning_round}
    if rewind == RewindStrategy.Init:
        result["untrained_accuracy"] = untrained_accuracies(model.get_parameters(), pruner.tickets_, data)
        result["input_connections"] = {str(r): candidate.masks[0].sum(axis=1).astype(int).tolist()
                                       for r, candidate in enumerate(pruner.tickets_) if r}
    if with_masks:
        result["masks"] = [[m.astype(np.uint8) for m in candidate.masks] for candidate in pruner.tickets_]
    return result


def _lottery_ticket(job: Job, settings: BenchmarkSettings, data) -> dict:
    """IMP rewinding to the initialization (Frankle & Carbin, 2019); returns every round's masks too."""
    return _imp(job, settings, data, RewindStrategy.Init, with_masks=True)


def _imp_criterion(job: Job, settings: BenchmarkSettings, data) -> dict:
    """IMP rewinding to the initialization, pruning by the criterion the method names (``imp_movement``, ...)."""
    return _imp(job, settings, data, RewindStrategy.Init, criterion=job.method.removeprefix("imp_"))


def _late_rewind(job: Job, settings: BenchmarkSettings, data) -> dict:
    """IMP rewinding to iteration ``late_rewind_iteration`` of the dense run (Frankle et al., 2020)."""
    return _imp(job, settings, data, RewindStrategy.Iteration(settings.late_rewind_iteration))


def _magnitude(job: Job, settings: BenchmarkSettings, data) -> dict:
    """Train dense once, then one-shot prune to each IMP density and fine-tune (Han et al., 2015).

    Record 0 is the trained dense network; record ``r`` sits at IMP round ``r``'s density.
    """
    model = MLP(settings.layer_sizes, seed=job.seed)
    result = train(model, data, settings.training, seed=job.seed)
    records = [RoundRecord.from_training(0, model, result).to_dict()]
    for r, density in enumerate(settings.densities()[1:], start=1):
        pruned = settings.magnitude_pruner(job.seed, density).prune(model, data)
        records.append({**pruned.record.to_dict(), "pruning_round": r})
    return {"records": records}


def _one_shot(job: Job, settings, data) -> dict:
    """Train dense once, prune it once to each control round's per-layer counts, rewind to init and train.

    The one-shot pruning of Frankle & Carbin (2019), Figure 4, at the paper grid's
    ``settings.control_rounds()``, hitting exactly the per-layer counts
    ``settings.layer_counts()[r]`` of IMP round ``r``. Record 0 is the trained dense
    network (the IMP run's round 0, bit for bit); record ``r`` sits at IMP round ``r``.
    """
    model = MLP(settings.layer_sizes, seed=job.seed)
    initial = model.get_parameters()
    result = train(model, data, settings.training, seed=job.seed)
    records = [RoundRecord.from_training(0, model, result).to_dict()]
    trained, dense_masks = model.get_parameters().weights, model.masks
    counts = settings.layer_counts()
    for r in settings.control_rounds():
        model.set_masks(prune_layerwise(trained, dense_masks, counts[r]))
        model.set_parameters(initial)
        result = train(model, data, settings.training, seed=job.seed)
        records.append(RoundRecord.from_training(r, model, result).to_dict())
    return {"records": records}


def _control(job: Job, settings: BenchmarkSettings, data) -> dict:
    """Train a control network at the ticket of IMP round ``job.pruning_round``, like the ticket itself."""
    ticket = _ticket_from_masks(settings, job.seed, job.masks, job.pruning_round)
    if job.method == "random_reinit":
        model = random_reinit_model(ticket, seed=job.seed + REINIT_SEED_OFFSET)
    else:
        model = random_mask_model(ticket, seed=job.seed)
    result = train(model, data, settings.training, seed=job.seed)
    return {"pruning_round": job.pruning_round,
            "records": [RoundRecord.from_training(job.pruning_round, model, result).to_dict()]}


def _ticket_from_masks(settings: BenchmarkSettings, seed: int, masks: list, pruning_round: int) -> WinningTicket:
    """The ``lottery_ticket`` job's round-``pruning_round`` ticket, rebuilt from its masks.

    The pruner starts from ``MLP(layer_sizes, seed=seed)``, so its initialization is redrawn here exactly.
    """
    initial = MLP(settings.layer_sizes, seed=seed).get_parameters()
    masks = [np.asarray(m, dtype=np.float32) for m in masks]
    return WinningTicket(layer_sizes=settings.layer_sizes, masks=masks,
                         weights=[apply_mask(w, m) for w, m in zip(initial.weights, masks)],
                         biases=initial.biases, initial=initial, pruning_round=pruning_round, rewind="init")


_METHODS = {"dense": _dense, "lottery_ticket": _lottery_ticket, "late_rewind": _late_rewind,
            "magnitude": _magnitude, "random_reinit": _control, "random_mask": _control, "one_shot": _one_shot,
            **{method: from_start_job for method in FROM_START + ABLATED},
            **{method: _imp_criterion for method in CRITERION_METHODS},
            **{method: treated_job for method in TREATED}, **{method: supermask_job for method in SUPERMASKS}}

METHOD_NAMES = tuple(_METHODS)
"""Every method a job can run, the benchmark's and the paper grid's."""


PARENT_CHECK_SECONDS = 1.0
"""How often a worker looks whether the process that started it is still there."""

_watching = threading.Event()


def exit_with_parent() -> None:
    """In a worker process, exit as soon as the process that started it is gone.

    A benchmark killed with ``SIGKILL`` cannot tell its pool of worker processes to stop, and
    they would go on computing jobs nobody will collect (each holding a few hundred MB and the
    killed run's output pipe). So the first job a worker runs starts a watch: when the worker's
    parent changes (its parent died and another process adopted it), the worker exits. In the
    main process (``n_jobs=1``) there is nothing to watch.
    """
    if multiprocessing.parent_process() is None or _watching.is_set():
        return
    _watching.set()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
