"""Training that has failed must say so: divergence, and networks that learned nothing.

Two rules, each with the reason it cannot fire on a healthy run:

* :func:`check_divergence` -- a loss that is not finite, or a validation loss above
  ``DIVERGENCE_FACTOR`` times chance level after an update, stops training with
  :class:`TrainingDivergedError`. Before the first update only a loss that is not finite
  is refused: a network that has not moved cannot have diverged, and a mask chosen at
  initialization may start far above chance (GraSP's masks of LeNet-300-100 start at a
  validation loss of about 20, and train to 97 %);
* :func:`learned` -- a network whose accuracy does not beat always guessing the most
  common class (by a three-sigma binomial test) learned nothing; the pruning loop
  raises :class:`DidNotLearnError` for such a dense network and never selects such
  a pruned round.
"""
from __future__ import annotations

import math

import numpy as np

DIVERGENCE_FACTOR = 10.0
"""A validation loss this many times above chance level (``log n_classes``) means the run diverged."""

CHANCE_Z = 3.0
"""A network *learned* if its accuracy is this many binomial standard deviations above the majority class."""


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite, or grew far beyond chance level (see :func:`check_divergence`).

    Examples
    --------
    >>> try:
    ...     check_divergence(float("nan"), 7, 10, "training loss", "lower the learning rate")
    ... except TrainingDivergedError as error:
    ...     print(error)
    training diverged at iteration 7: the training loss is nan; lower the learning rate
    """


class DidNotLearnError(RuntimeError):
    """A network trained to no better than always guessing the most common class (see :func:`learned`).

    Examples
    --------
    >>> issubclass(DidNotLearnError, RuntimeError)  # what find_ticket raises for a dense network at chance
    True
    """


def check_divergence(loss: float, iteration: int, n_classes: int, what: str, advice: str) -> None:
    """Raise :class:`TrainingDivergedError` if ``loss`` is not finite or above ``DIVERGENCE_FACTOR * log(n_classes)``.

    ``log(n_classes)`` is the cross-entropy of a uniform guess, and any network that
    learns goes below it. A mean loss of ten times that puts a probability of at most
    ``n_classes**-10`` on the right class on average (``1e-10`` for 10 classes), which
    only logits of hundreds reach, from weights that have blown up. Overfitting raises
    a validation loss by far less: a network that errs confidently on 2 % of the samples
    needs losses of about 1,000 on each of them to get there. The rule is checked on
    mean losses over many samples (each evaluation's validation loss), where one
    unlucky sample cannot trip it, and on every batch loss for NaN and infinity.

    Examples
    --------
    >>> check_divergence(2.3, 100, 10, "validation loss", "")  # about log(10): a network at chance, fine
    >>> check_divergence(1e4, 100, 10, "validation loss", "lower the learning rate")
    Traceback (most recent call last):
    ...
    lottery_np.failure.TrainingDivergedError: training diverged at iteration 100: the validation loss is 1e+04 (chance level is 2.3); lower the learning rate
    """
    ceiling = DIVERGENCE_FACTOR * math.log(max(n_classes, 2))
    if not math.isfinite(loss) or loss > ceiling:
        raise TrainingDivergedError(
            f"training diverged at iteration {iteration}: the {what} is {loss:.4g}"
            f"{'' if not math.isfinite(loss) else f' (chance level is {math.log(max(n_classes, 2)):.3g})'}; {advice}"
        )


def learned(accuracy: float, y: np.ndarray) -> bool:
    """Whether ``accuracy`` on labels ``y`` beats guessing their most common class, beyond chance.

    With ``p0`` the majority class's share of ``y`` and ``n = len(y)``, a network
    learned when its accuracy exceeds ``p0 + CHANCE_Z sqrt(p0 (1 - p0) / n)``: a
    predictor no better than the constant guess exceeds that with probability
    about 0.1 % (a one-sided three-sigma binomial test).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0] * 60 + [1] * 40)  # guessing 0 always scores 0.6
    >>> bool(learned(0.62, y)), bool(learned(0.9, y))
    (False, True)
    """
    y = np.asarray(y)
    p0 = np.bincount(y).max() / len(y)
    return accuracy > p0 + CHANCE_Z * math.sqrt(p0 * (1 - p0) / len(y))
