"""Datasets for the lottery-ticket experiments: MNIST, Fashion-MNIST and 8x8 digits.

>>> from lottery_np.data import load_dataset
>>> data = load_dataset("digits")
>>> data.X_train.shape, data.n_classes
((1257, 64), 10)

MNIST and Fashion-MNIST are read from IDX files found via the ``data_dir``
argument, the ``LOTTERY_NP_DATA`` environment variable or the user cache, and
downloaded (sha256-verified) into the cache when missing. Arrays of your own
enter through :func:`as_dataset`, which checks them by the same rules.
"""

from .dataset import PAPER_VALIDATION_SIZE, Dataset, as_dataset
from .idx import read_idx, write_idx
from .loaders import LOADERS, load_dataset, load_digits, load_fashion_mnist, load_mnist
from .paths import ENV_VAR, DatasetNotFoundError, cache_root, candidate_folders, locate

__all__ = [
    "Dataset",
    "DatasetNotFoundError",
    "ENV_VAR",
    "LOADERS",
    "PAPER_VALIDATION_SIZE",
    "as_dataset",
    "cache_root",
    "candidate_folders",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "locate",
    "read_idx",
    "write_idx",
]
