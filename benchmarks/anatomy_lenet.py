"""The anatomy of a ticket on MNIST, LeNet-300-100 (Zhou, Lan, Liu & Yosinski, NeurIPS 2019).

IMP by every mask criterion, the ticket's mask with its kept weights restarted by every mask-1 action and its
pruned weights frozen at their initialization, and learned supermasks, beside the dense network, the ticket
and its two controls: three seeds, 10 epochs per network, 8 rounds down to 1 % of the weights, the grid of the
chapter on sparse training from the start. Run behind ``book/figures/anatomy/``::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LOTTERY_NP_DATA=/work/shared/data \\
        python benchmarks/anatomy_lenet.py --n-jobs 2 --out results/anatomy

It is ``lottery-np benchmark`` with these options first (:data:`OPTIONS`), so any option given after them
wins: ``--resume`` runs only the jobs an interruption left, and ``--quick --dataset digits`` is a run of
seconds. Beside the benchmark's table and figures it writes ``anatomy.md`` (every table of the anatomy) and
four figures of its own (:mod:`lottery_np.experiment.anatomy_report`).
"""
import sys

from lottery_np.experiment import ANATOMY, main

OPTIONS = ["--dataset", "mnist", "--seeds", "0", "1", "2", "--target-sparsity", "0.99", "--rounds", "8", "--methods", "dense", "lottery_ticket", "random_reinit", "random_mask", *ANATOMY]
"""The grid's options (each network trains the benchmark's default 10 epochs); the command line's own come after
them, and a later option wins."""

if __name__ == "__main__":
    sys.exit(main([*OPTIONS, *sys.argv[1:]]))
