"""Frankle & Carbin's own LeNet-300-100 protocol on MNIST, past the paper's figures.

Three seeds, 24 rounds at 20 % per round (Pm down to 0.5 %), 50,000 iterations per
training, with random reinitialization, random mask and one-shot pruning at the
paper's Pm (51.3, 21.1, 7.0, 3.6, 1.9 %) and at the last round::

    LOTTERY_NP_DATA=/work/shared/data python benchmarks/paper_lenet.py --n-jobs 2 --out results/paper_lenet

The same command with ``--resume`` runs only the jobs an interruption left; ``--quick`` is
a run of seconds on the 8x8 digits. Every option: ``--help``; the logic lives in
:mod:`lottery_np.experiment.paper`.
"""
import sys

from lottery_np.experiment.paper import main

if __name__ == "__main__":
    sys.exit(main())
