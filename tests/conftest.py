"""Shared test configuration: a hypothesis profile and small datasets."""
import os
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import settings
from sklearn.datasets import load_digits as sklearn_digits

settings.register_profile("default", deadline=None, max_examples=40)
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def tiny_digits():
    """scikit-learn's 8x8 digits as a namespace with train/val/test splits (no lottery_np.data needed)."""
    X, y = sklearn_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return SimpleNamespace(
        X_train=X[:1200], y_train=y[:1200], X_val=X[1200:1500], y_val=y[1200:1500], X_test=X[1500:], y_test=y[1500:]
    )
