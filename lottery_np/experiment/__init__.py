"""The benchmark: winning tickets against magnitude pruning and random controls, over seeds.

For each seed, LeNet-300-100 (64-300-100-10 on the 8x8 digits) is trained

* ``dense`` -- unpruned, the baseline;
* ``lottery_ticket`` -- by iterative magnitude pruning (IMP) rewinding to the initialization;
* ``late_rewind`` -- by IMP rewinding to an early iteration ``k`` of the dense run;
* ``magnitude`` -- trained dense, one-shot pruned to each IMP round's density, fine-tuned;
* ``random_reinit`` / ``random_mask`` -- the controls at each IMP round's ticket: its
  mask over a fresh initialization, and a random mask over the original one.

With ``--methods``, also the methods sparse from the start (:mod:`.from_start`) and the anatomy of a
ticket (:mod:`.anatomy`: IMP by other mask criteria, the ticket's mask restarted otherwise, learned
supermasks; its figures and supermask table in :mod:`.anatomy_report`).

Every (method, seed) is an independent job (:mod:`.jobs`) run through joblib
(:mod:`.runner`) and saved as it finishes (:mod:`.store`), so that ``--resume`` reruns only
the missing jobs; :mod:`.report` prints the table and writes ``results.json`` and the
figures. :mod:`.settings` holds what every job runs, made whole once the data is known
from option values such as the presets ``QUICK`` and ``FULL``; :mod:`.command` is the
command line::

    python benchmarks/lth_vs_magnitude.py --quick
    lottery-np benchmark --dataset mnist --seeds 0 1 2 --n-jobs 2 --out results/mnist
    lottery-np benchmark --dataset mnist --seeds 0 1 2 --n-jobs 2 --out results/mnist --resume
"""
from . import cluster
from .command import build_parser, main, options_from_args, run
from .jobs import Job, exit_with_parent, load_data, run_job
from .runner import run_benchmark, run_phases
from .store import mask_key, open_jobs_folder, refuse_other_settings, save_round_masks
from .from_start import masks_at_init
from .anatomy import treated_model, untrained_accuracies
from .settings import (ABLATED, ANATOMY, CRITERION_METHODS, FROM_START, FULL, METHODS, QUICK, REINIT_SEED_OFFSET,
                       SUPERMASKS, TREATED, BenchmarkSettings)

METHODS_FROM_START = FROM_START + ABLATED
"""Every mask chosen before training or moved during it, by name (:mod:`.from_start`)."""

__all__ = [
    "ABLATED",
    "ANATOMY",
    "CRITERION_METHODS",
    "FROM_START",
    "FULL",
    "METHODS",
    "METHODS_FROM_START",
    "QUICK",
    "REINIT_SEED_OFFSET",
    "SUPERMASKS",
    "TREATED",
    "BenchmarkSettings",
    "Job",
    "build_parser",
    "cluster",
    "exit_with_parent",
    "load_data",
    "mask_key",
    "main",
    "masks_at_init",
    "options_from_args",
    "run",
    "open_jobs_folder",
    "refuse_other_settings",
    "run_benchmark",
    "run_job",
    "run_phases",
    "save_round_masks",
    "treated_model",
    "untrained_accuracies",
]
