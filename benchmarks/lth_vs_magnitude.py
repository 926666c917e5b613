"""Winning tickets vs one-shot magnitude pruning vs random controls on MNIST (LeNet-300-100).

The full run behind ``book/figures/`` (three seeds, two cores)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LOTTERY_NP_DATA=/work/shared/data \\
        python benchmarks/lth_vs_magnitude.py --dataset mnist --seeds 0 1 2 --n-jobs 2 --out results/mnist

A smoke run of seconds on the 8x8 digits: ``python benchmarks/lth_vs_magnitude.py --quick``.
Every finished job is saved in ``OUT/jobs/``; after an interruption, the same command with
``--resume`` runs only the missing jobs.
Every option: ``--help``; the logic lives in :mod:`lottery_np.experiment`.
"""
import sys

from lottery_np.experiment import main

if __name__ == "__main__":
    sys.exit(main())
