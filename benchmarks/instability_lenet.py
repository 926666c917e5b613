"""Instability analysis of LeNet-300-100 on MNIST (Frankle, Dziugaite, Roy & Carbin, ICML 2020).

Three initializations; the dense network at k = 0, 25, 100, 500 and 2000; IMP at 20 % per
round for 20 rounds (to 1.2 % of the weights), its tickets and both controls (random
pruning, random reinitialization) at seven densities from 51 % to 1.2 % at k = 0, and the
6.9 % ticket at every k; 24,000 iterations per training, as the paper trains LeNet::

    LOTTERY_NP_DATA=/work/shared/data python benchmarks/instability_lenet.py --n-jobs 2 --out results/instability

The same command with ``--resume`` runs only the jobs an interruption left; ``--preset quick``
is a run of seconds on the 8x8 digits. Every option: ``--help``; the logic lives in
:mod:`lottery_np.analysis.command`.
"""
import sys

from lottery_np.analysis.command import main

if __name__ == "__main__":
    sys.exit(main())
