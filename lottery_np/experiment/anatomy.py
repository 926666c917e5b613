"""The anatomy of a ticket as benchmark jobs: other mask criteria, other starting values, and supermasks.

Zhou, Lan, Liu & Yosinski ("Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask", NeurIPS 2019)
vary one part of the lottery ticket at a time. Each part is a family of methods here, run on the same grid
as IMP and its controls, so that every number sits at the same densities, seeds and training:

* ``imp_<criterion>`` (:data:`~.settings.CRITERION_METHODS`) -- IMP rewinding to the initialization, each
  round keeping the survivors of largest ``criterion`` score (:mod:`lottery_np.pruning.criteria`) instead of
  largest trained magnitude. ``imp_small_final`` is also the *inverted* ablation of IMP (Frankle, Dziugaite,
  Roy & Carbin, ICLR 2021): keep what magnitude pruning would remove.
* ``ticket_<treatment>`` (:data:`~.settings.TREATED`) -- the ``lottery_ticket`` run's mask of one round,
  its kept weights restarted by a mask-1 action (:mod:`lottery_np.pruning.treatments`) and trained like the
  ticket; like the controls, a job per pruned round. ``ticket_pruned_frozen_init`` and
  ``ticket_pruned_zero_shrunk`` are the mask-0 actions: the pruned weights held at their initial values
  instead of zero, or at zero only where training shrank them; ``ticket_all_zero_shrunk`` applies that rule to
  the kept weights' starting values too (Zhou et al.'s second variant).
* ``supermask_top_k`` and ``supermask_bernoulli`` (:data:`~.settings.SUPERMASKS`) -- no weight trains; a
  score per weight learns which to keep (:func:`lottery_np.supermask.train_supermask`), top-k at every IMP
  density, Bernoulli once (it learns its own density).

Every IMP job (``lottery_ticket`` and the ``imp_`` methods) also reports ``untrained_accuracy``: per round,
the test accuracy of its mask on the *untrained* initialization, with dynamic weight rescaling
(:func:`lottery_np.supermask.untrained_accuracy`): Zhou et al.'s Section 5 supermask of that criterion.
"""
from __future__ import annotations

import time

import numpy as np

from ..model import MLP, Parameters
from ..pruning import RoundRecord, pruned_values, treat, zero_shrunk
from ..supermask import train_supermask, untrained_accuracy
from ..training import train

TREATMENT_STREAM = 7_919
"""Part of the seed of a treatment's draws, ``(seed, TREATMENT_STREAM, pruning_round)``: apart from every other."""


def untrained_accuracies(initial: Parameters, tickets, data) -> list[float]:
    """Test accuracy of every round's mask on the untrained ``initial`` weights, rescaled (round 0: all kept).

    Examples
    --------
    >>> from lottery_np.data import load_digits
    >>> from lottery_np.pruning import LotteryTicketPruner
    >>> data, model = load_digits(), MLP((64, 20, 10), seed=0)
    >>> pruner = LotteryTicketPruner.builder().pruning_rounds(1).iterations(30).build()
    >>> _ = pruner.find_ticket(model, data)
    >>> accuracies = untrained_accuracies(model.get_parameters(), pruner.tickets_, data)
    >>> len(accuracies), accuracies[0] == model.accuracy(data.X_test, data.y_test)
    (2, True)
    """
    model = MLP([initial.weights[0].shape[0], *(w.shape[1] for w in initial.weights)])
    model.set_parameters(initial)
    return [untrained_accuracy(model, ticket.masks, data.X_test, data.y_test) for ticket in tickets]


def treated_model(layer_sizes, seed: int, masks: list, treatment: str, pruning_round: int) -> MLP:
    """``MLP(layer_sizes, seed)`` under ``masks``, its kept weights restarted by ``treatment``.

    Examples
    --------
    >>> masks = [np.ones((4, 3), dtype=np.float32), np.zeros((3, 2), dtype=np.float32)]
    >>> masks[1][0] = 1
    >>> net = treated_model((4, 3, 2), 0, masks, "signed_constant", 1)
    >>> bool((np.sign(net.weights[0]) == np.sign(MLP((4, 3, 2), seed=0).weights[0])).all()), net.density
    (True, 0.7777777777777778)
    """
    model = MLP(layer_sizes, seed=seed)
    initial = model.get_parameters()
    model.set_masks(masks)
    weights = treat(treatment, initial.weights, model.masks, np.random.default_rng((seed, TREATMENT_STREAM,
                                                                                    pruning_round)))
    model.set_parameters(Parameters(weights, initial.biases))
    return model


def treated_job(job, settings, data) -> dict:
    """Train the ``lottery_ticket`` mask of ``job.pruning_round`` from ``job.method``'s treated starting values.

    ``ticket_<treatment>`` restarts the kept weights by a mask-1 action. ``ticket_pruned_<action>`` keeps them
    rewound and holds the pruned weights as the mask-0 action says (:func:`~lottery_np.pruning.pruned_values`),
    frozen: the network computes with every weight and trains the kept ones (``train(..., trainable=masks)``);
    its record carries the ticket's densities, those of the weights trained. ``ticket_all_zero_shrunk`` also starts
    the kept weights that training shrank at 0. The ``zero_shrunk`` rule reads each
    weight's trained value from the dense network (IMP's round 0, retrained here bit for bit), where Zhou et
    al. read the round that pruned it.
    """
    masks = [np.asarray(m, dtype=np.float32) for m in job.masks]
    action = (job.method.removeprefix("ticket_pruned_") if job.method.startswith("ticket_pruned_") else
              "all_zero_shrunk" if job.method == "ticket_all_zero_shrunk" else None)
    if action is None:
        model = treated_model(settings.layer_sizes, job.seed, masks, job.method.removeprefix("ticket_"),
                              job.pruning_round)
    else:
        model = MLP(settings.layer_sizes, seed=job.seed)
        initial = model.get_parameters()
        final = None
        if action.endswith("zero_shrunk"):
            dense = model.copy()
            train(dense, data, settings.training, seed=job.seed)
            final = dense.weights
        if action == "all_zero_shrunk":  # the rule on every weight: the kept ones that shrank restart at 0
            start = zero_shrunk(initial.weights, final)
        else:
            held = pruned_values(action, initial.weights, masks, final)
            start = [np.where(m == 1, w, h) for w, h, m in zip(initial.weights, held, masks)]
        model.set_parameters(Parameters(start, initial.biases))
    result = train(model, data, settings.training, seed=job.seed, trainable=None if action is None else masks)
    record = RoundRecord.from_training(job.pruning_round, model, result).to_dict()
    if action is not None:
        sizes = [m.size for m in masks]
        record.update(density=sum(float(m.sum()) for m in masks) / sum(sizes),
                      layer_densities=[float(m.sum()) / size for m, size in zip(masks, sizes)])
    return {"pruning_round": job.pruning_round, "records": [record]}


def supermask_record(pruning_round: int, model: MLP, result, seconds: float) -> dict:
    """A learned supermask as a round's record: its curve, and its test accuracy as final and early-stopping one.

    A supermask run does not stop early; the record's early-stopping fields are those of the end of its
    training, and its densities those of the tested mask (the first, for Bernoulli's samples).
    """
    history, masks = result.history, result.masks[0]
    sizes = [m.size for m in masks]
    return RoundRecord(
        pruning_round=pruning_round, density=sum(float(m.sum()) for m in masks) / sum(sizes),
        layer_densities=[float(m.sum()) / size for m, size in zip(masks, sizes)],
        final_val_accuracy=history[-1]["val_accuracy"], final_test_accuracy=result.test_accuracy,
        early_stop_iteration=history[-1]["iteration"], early_stop_val_accuracy=history[-1]["val_accuracy"],
        early_stop_test_accuracy=result.test_accuracy, wall_time=seconds,
        curve={"iterations": [h["iteration"] for h in history], "train_loss": [h["train_loss"] for h in history],
               "val_loss": [h["val_loss"] for h in history], "val_accuracy": [h["val_accuracy"] for h in history],
               "test_accuracy": [float("nan")] * len(history)}).to_dict()


def supermask_job(job, settings, data) -> dict:
    """Learn a supermask over ``MLP(layer_sizes, seed)`` for as many iterations as an IMP round trains.

    ``supermask_top_k`` learns one at the density of every pruned IMP round (records of rounds 1..R), as
    Ramanujan et al. do, without rescaling the kept weights; ``supermask_bernoulli`` learns its own density,
    once (a record of round 1, at the density it found), with Zhou et al.'s dynamic weight rescaling.
    Rescaling top-k's masks by ``N / n`` multiplies each layer's pre-activations by about ``1 / sqrt(d)`` at
    density ``d``: at 5 % the untrained network's loss starts above 30 and the first steps leave it
    predicting one class (measured on MNIST), so top-k runs unscaled.
    """
    method = job.method.removeprefix("supermask_")
    densities = settings.densities()[1:] if method == "top_k" else [1.0]
    records = []
    for r, density in enumerate(densities, start=1):
        model, start = MLP(settings.layer_sizes, seed=job.seed), time.perf_counter()
        result = train_supermask(model, data, method=method, density=density, rescale=method == "bernoulli",
                                 iterations=settings.training.iterations, batch_size=settings.training.batch_size,
                                 eval_every=settings.training.eval_every, seed=job.seed)
        records.append(supermask_record(r, model, result, time.perf_counter() - start))
    return {"records": records}
