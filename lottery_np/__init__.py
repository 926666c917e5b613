"""lottery_np: the Lottery Ticket Hypothesis (Frankle & Carbin, 2019) from scratch in NumPy and Numba.

The path of the data is short: :mod:`lottery_np.data` loads a dataset,
:class:`~lottery_np.model.MLP` is the network, :func:`~lottery_np.training.train`
trains it, and :mod:`lottery_np.pruning` finds winning tickets.
"""

__version__ = "0.1.0"

from .model import LENET_300_100, MLP
from .training import TrainingConfig, train

__all__ = ["LENET_300_100", "MLP", "TrainingConfig", "train", "__version__"]
