"""lottery_np: the Lottery Ticket Hypothesis (Frankle & Carbin, 2019) from scratch in NumPy and Numba."""

__version__ = "0.1.0"
