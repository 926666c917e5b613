"""The lottery ticket search as a scikit-learn classifier.

``LotteryTicketClassifier().fit(X, y)`` finds a winning ticket of an MLP on ``(X, y)``
(:class:`~lottery_np.pruning.LotteryTicketPruner`) and trains it, so the sparse network
can sit in a ``Pipeline`` after a ``StandardScaler`` or be tuned by ``GridSearchCV``::

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> clf = make_pipeline(StandardScaler(), LotteryTicketClassifier(target_sparsity=0.8))  # doctest: +SKIP

The hyperparameters are named like the builder's settings and are plain values
(``rewind="iteration:50"``, not a ``RewindStrategy``), as ``clone`` and ``set_params`` need.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import schema, validation
from .config import TrainingConfig
from .data import Dataset, as_dataset
from .failure import DidNotLearnError
from .model import MLP
from .pruning import LotteryTicketPruner, RewindStrategy, RoundRecord, WinningTicket
from .training import train

NOT_LEARNED = ("dense", "raise")
"""What ``fit`` does when the dense network learns nothing (``on_not_learned``)."""

AUTO_BATCH = 60
"""``batch_size="auto"`` means ``min(AUTO_BATCH, n_train)``: the paper's 60, or the whole of a tiny training set."""

SETTING_PARAMETERS = ("target_sparsity", "pruning_rounds", "epochs", "batch_size", "optimizer", "learning_rate",
                      "accuracy_tolerance")
"""The parameters that are settings of :mod:`lottery_np.schema`: handed to the pruner's builder by name and
checked by their rules there (``batch_size="auto"`` resolved first). Their defaults here suit small data, and
the docstring states each."""

SETTINGS_LEFT_OUT = {
    "iterations": "the estimator counts its training in epochs",
    "eval_every": "it evaluates once per epoch",
    "seed": "random_state seeds everything, as scikit-learn's estimators do",
    "pruning_rate": "it prunes to a target_sparsity",
    "scope": "it prunes layerwise, as the paper does",
    "criterion": "it prunes by magnitude, the lottery ticket's criterion",
    "output_rate_factor": "the paper's 0.5",
    "momentum": "SGD's; the builder's default",
    "adam_bias_correction": "the paper's form",
}
"""The settings of :mod:`lottery_np.schema` that are not parameters here, and why; a test holds every setting to
one of the two lists, so a new setting is a parameter here or says why not."""


def validation_split(codes: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` holding out the last ``fraction`` of every class, in a seeded random order.

    The samples are shuffled with ``default_rng(seed)``; the ``p``-th sample (from 0) of a
    class of ``n_c`` samples gets the share ``p / n_c``, and the ``max(1, round(fraction * n))``
    samples of largest share form the validation set. Every class thus gives about
    ``fraction`` of its samples (stratified), any ``fraction`` and class sizes work, and a
    class of one sample (share 0) is trained on, never held out.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,), int
        Class indices, at least 2 samples.
    fraction : float
        In (0, 1).
    seed : int
    """
    n = len(codes)
    n_val = min(n - 1, max(1, round(fraction * n)))
    order = np.random.default_rng(seed).permutation(n)
    by_class = order[np.argsort(codes[order], kind="stable")]  # classes in turn, each in the random order
    counts = np.bincount(codes)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    share = (np.arange(n) - first[codes[by_class]]) / counts[codes[by_class]]
    held_out = by_class[np.argsort(-share, kind="stable")[:n_val]]
    val = np.sort(held_out)
    return np.setdiff1d(np.arange(n), val), val


class LotteryTicketClassifier(ClassifierMixin, BaseEstimator):
    """A sparse MLP found by iterative magnitude pruning with rewinding, then trained.

    ``fit`` holds out a stratified validation set, searches for a winning ticket of
    ``MLP((n_features, *hidden_layer_sizes, n_classes))`` with
    :class:`~lottery_np.pruning.LotteryTicketPruner`, and trains the ticket: the
    ticket itself (``ticket_``) is the *rewound* subnetwork; the classifier predicts with
    the *trained* one (``model_``). That training replays the selected round's exactly
    (same configuration, data order and start iteration), so ``model_`` holds the weights
    that round ended with, and the round's measurements in ``history_`` describe it.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(32,)
        Widths of the hidden layers.
    target_sparsity : float, default=0.8
        Fraction of the weights removed after the last round, in [0, 1).
    pruning_rounds : int, default=2
        Prune-and-retrain rounds.
    rewind : {"init", "iteration:K", "lr"}, default="init"
        Where pruned rounds restart (:meth:`RewindStrategy.parse`).
    epochs : float, default=20
        Training epochs per round, and of the final training.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(60, n_train)``.
    optimizer : {"adam", "sgd"}, default="adam"
    learning_rate : float, default=3e-3
    validation_fraction : float, default=0.1
        Share of the samples held out (stratified, see :func:`validation_split`) for early
        stopping and for selecting the ticket; the final training uses the same split.
    accuracy_tolerance : float, default=0.01
        How far below the dense validation accuracy a ticket may fall.
    on_not_learned : {"dense", "raise"}, default="dense"
        When the dense network learns nothing (no better than the majority class on the
        validation set, :func:`lottery_np.failure.learned`), pruning it would mean nothing:
        ``"raise"`` lets the :class:`~lottery_np.failure.DidNotLearnError` through; ``"dense"``
        emits a ``ConvergenceWarning`` and keeps the trained dense network as the round-0
        ticket. Pure noise, or a validation set of a few samples, can trigger it.
    random_state : int, RandomState instance or None, default=None
        Turned into one seed at fit time, which seeds the initialization, the split and
        the data order. An int gives the same predictions, bit for bit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``; the network's output ``k`` is ``classes_[k]``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.
    ticket_ : WinningTicket
        The selected (rewound) subnetwork.
    history_ : list of RoundRecord
        Every round of the search, round 0 (dense) first.
    model_ : MLP
        The trained ticket that predicts.
    n_iter_ : int
        Training iterations of the final training.
    """

    def __init__(self, hidden_layer_sizes: tuple = (32,), target_sparsity: float = 0.8, pruning_rounds: int = 2,
                 rewind: str = "init", epochs: float = 20, batch_size="auto", optimizer: str = "adam",
                 learning_rate: float = 3e-3, validation_fraction: float = 0.1, accuracy_tolerance: float = 0.01,
                 on_not_learned: str = "dense", random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.target_sparsity = target_sparsity
        self.pruning_rounds = pruning_rounds
        self.rewind = rewind
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.accuracy_tolerance = accuracy_tolerance
        self.on_not_learned = on_not_learned
        self.random_state = random_state

    def fit(self, X, y) -> "LotteryTicketClassifier":
        """Find a winning ticket on ``(X, y)`` and train it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32.
        y : array-like of shape (n_samples,)
            Any class labels (strings, odd integers...), at least two classes.

        Raises
        ------
        ValueError
            Naming the first bad hyperparameter, or for bad data.
        DidNotLearnError
            With ``on_not_learned="raise"``, if the dense network learns nothing.
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, got 1 class")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        fraction = validation.real("validation_fraction", self.validation_fraction, 0.0, 1.0,
                                   low_open=True, high_open=True)
        not_learned = validation.choice("on_not_learned", self.on_not_learned, NOT_LEARNED)
        train_idx, val_idx = validation_split(codes, fraction, seed)
        data = as_dataset((X[train_idx], codes[train_idx]), validation=(X[val_idx], codes[val_idx]))
        batch_size = self._batch_size(len(train_idx))
        settings = {name: getattr(self, name) for name in SETTING_PARAMETERS}
        for name in (name for name, value in settings.items() if value is None):  # None documents nothing here
            schema.SETTINGS[name].rule(name, None)
        settings.update(batch_size=batch_size, eval_every=max(1, len(train_idx) // batch_size), seed=seed)
        pruner = (LotteryTicketPruner.builder().rewind_strategy(RewindStrategy.parse(self.rewind))
                  .configure(**settings).build())
        config = pruner.options.training  # evaluated once per epoch
        network = MLP((X.shape[1], *self._hidden_sizes(), len(self.classes_)), seed=seed)
        try:
            self.ticket_ = pruner.find_ticket(network, data)
            self.model_, self.n_iter_ = self._train_ticket(self.ticket_, data, config, pruner.rewind, seed)
        except DidNotLearnError as error:
            if not_learned == "raise":
                raise
            warnings.warn(f"{error}; keeping the dense network, unpruned", ConvergenceWarning, stacklevel=2)
            self.ticket_, self.model_, self.n_iter_ = self._dense_ticket(network, data, config, pruner.rewind, seed)
        self.history_ = self.ticket_.history
        return self

    def _hidden_sizes(self) -> tuple:
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (tuple, list)):
            raise validation.SettingError("hidden_layer_sizes", "a tuple of integers >= 1", sizes)
        return tuple(validation.integer(f"hidden_layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))

    def _batch_size(self, n_train: int) -> int:
        batch_size = min(AUTO_BATCH, n_train) if self.batch_size == "auto" else self.batch_size
        return validation.integer("batch_size", batch_size, minimum=1, maximum=n_train)

    @staticmethod
    def _train_ticket(ticket: WinningTicket, data: Dataset, config: TrainingConfig, rewind: RewindStrategy,
                      seed: int) -> tuple[MLP, int]:
        """Replay the training of the ticket's round: pruned rounds restart at the rewind iteration."""
        model = ticket.to_model()
        start = rewind.start_iteration if ticket.pruning_round else 0
        result = train(model, data, config, seed=seed, start_iteration=start)
        return model, result.iterations - start

    @staticmethod
    def _dense_ticket(network: MLP, data: Dataset, config: TrainingConfig, rewind: RewindStrategy,
                      seed: int) -> tuple[WinningTicket, MLP, int]:
        """Train the dense network, and describe it as the round-0 ticket of a search that stopped there."""
        model = network.copy()
        result = train(model, data, config, seed=seed)
        initial = network.get_parameters()
        ticket = WinningTicket(layer_sizes=network.layer_sizes, masks=network.masks, weights=initial.weights,
                               biases=initial.biases, initial=initial, pruning_round=0, rewind=str(rewind),
                               history=[RoundRecord.from_training(0, model, result)])
        return ticket, model, result.iterations

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """The most probable label of each sample, shape ``(n_samples,)``, from ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self.classes_[self.model_.predict(X)]
