"""lottery_np: the Lottery Ticket Hypothesis (Frankle & Carbin, 2019) from scratch in NumPy and Numba.

The path of the data is short: :mod:`lottery_np.data` loads a dataset,
:class:`~lottery_np.model.MLP` is the network, :func:`~lottery_np.training.train`
trains it, and :mod:`lottery_np.pruning` finds winning tickets.

The package has four layers, and imports run downwards only:

* the textbook, in reading order: :mod:`.model` (the network), :mod:`.optim` (the
  optimizer), :mod:`.config` (how to train), :mod:`.training` (training), :mod:`.failure`
  (when training fails), :mod:`.pruning` (winning tickets); with :mod:`.data`, and the
  rules every setting is checked by (:mod:`.validation`);
* :mod:`.engine`, what makes the textbook fast (kernels, the packed training step, the
  optimizers' compiled loops, threads), importing none of it;
* :mod:`.files`, reading hostile files and writing atomically, importing nothing else;
* the applications: :mod:`.experiment` (the benchmark and the paper's grid), :mod:`.cli`,
  :mod:`.plots`, :mod:`.estimator` and :mod:`.export`.

>>> from lottery_np import MLP
>>> MLP((784, 300, 100, 10)).n_weights
266200
"""

__version__ = "0.1.0"

from .model import LENET_300_100, MLP, Parameters
from .training import TrainingConfig, train

__all__ = ["LENET_300_100", "MLP", "Parameters", "TrainingConfig", "train", "__version__"]
