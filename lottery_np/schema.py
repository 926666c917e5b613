"""Every setting of a pruning run, declared once: its name, rule, default, help and command-line flag.

A :class:`Setting` is the one home of everything the library says about one knob.
What the user meets is made from these declarations, not written again beside them:

* :class:`~lottery_np.config.TrainingConfig` and :class:`~lottery_np.pruning.PruningOptions`
  take their defaults from here and check each value by its rule (:func:`check`);
* the pruners' builders get a setter per setting, its docstring the help and the default
  (:meth:`~lottery_np.pruning.PrunerBuilder.configure` sets any of them by name);
* ``lottery-np find-ticket`` gets an option per setting with a flag (:func:`add_options`),
  and an error naming a setting is reported under its flag (:func:`flag_of`);
* :class:`~lottery_np.estimator.LotteryTicketClassifier`'s parameters of the same names
  pass through ``configure``; a test holds its signature and docstring to these declarations.

Adding a setting is one :class:`Setting` in :data:`TRAINING` or :data:`PRUNING`, and the
field it fills in the settings object that uses it.

>>> SETTINGS["pruning_rounds"].flag, SETTINGS["pruning_rounds"].default
('--rounds', 10)
>>> check("pruning_rounds", 0)
Traceback (most recent call last):
...
lottery_np.validation.SettingError: pruning_rounds must be an integer >= 1, got 0
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import validation

OPTIMIZERS = ("adam", "sgd")
"""The optimizers a run can train with (:mod:`lottery_np.optim`)."""

ADAM_FORMS = ("step_size", "moments")
"""Where Adam's bias correction goes (:class:`lottery_np.optim.Adam`)."""

SCOPES = ("layerwise", "global")
"""How a round's pruning is shared between the layers (:mod:`lottery_np.pruning.masks`)."""

CRITERIA = ("large_final", "small_final", "large_init", "small_init", "large_init_large_final",
            "small_init_small_final", "magnitude_increase", "movement", "random", "large_final_same_sign",
            "large_final_diff_sign")
"""The mask criteria a round can prune by, by name (each defined in :mod:`lottery_np.pruning.criteria`)."""

PAPER_ITERATIONS = 50_000
"""Frankle & Carbin's training length for LeNet-300-100 (Figure 2): a pruning run's default per round."""

DEFAULT_TARGET_SPARSITY = 0.9
"""``target_sparsity`` when neither it nor ``pruning_rate`` is given."""


@dataclass(frozen=True)
class Setting:
    """One setting: its name in Python (field, builder setter, estimator parameter) and all that goes with it.

    Attributes
    ----------
    name : str
    rule : callable ``(name, value) -> value``
        Checks a value and returns it normalised (NumPy scalars become Python numbers); raises
        :class:`~lottery_np.validation.SettingError` naming the setting. ``None`` is allowed
        only where ``optional``.
    default : object
        The library's default (None where another setting decides, see ``help``).
    help : str
        One sentence, for docstrings and ``--help``.
    kind : type
        ``int``, ``float`` or ``str``: how the command line reads it.
    flag : str or None
        The command-line option, or None if the command line does not set it.
    metavar : str or None
    choices : tuple of str or None
    optional : bool
        Whether None is a value (meaning: not given).

    Examples
    --------
    >>> setting = SETTINGS["criterion"]
    >>> setting.flag, setting.default, setting.rule("criterion", "movement")
    ('--criterion', 'large_final', 'movement')
    """

    name: str
    rule: Callable[[str, Any], Any]
    default: Any
    help: str
    kind: type
    flag: Optional[str] = None
    metavar: Optional[str] = None
    choices: Optional[tuple] = None
    optional: bool = False

    @property
    def dest(self) -> Optional[str]:
        """The attribute the command line stores this setting in (``--rounds`` -> ``rounds``)."""
        return None if self.flag is None else self.flag.lstrip("-").replace("-", "_")


def _integer(minimum: int) -> Callable[[str, Any], int]:
    return functools.partial(validation.integer, minimum=minimum)


def _real(minimum: float, maximum: Optional[float] = None, **openness) -> Callable[[str, Any], float]:
    return functools.partial(validation.real, minimum=minimum, maximum=maximum, **openness)


def _choice(options: tuple) -> Callable[[str, Any], str]:
    return functools.partial(validation.choice, options=options)


TRAINING = (
    Setting("iterations", _integer(1), None, f"training iterations per round (a pruning run's default: "
            f"{PAPER_ITERATIONS:,}, the paper's); give this or epochs", int, "--iterations", "N", optional=True),
    Setting("epochs", _real(0.0, low_open=True), None, "passes over the training set per round, instead of "
            "iterations", float, "--epochs", "E", optional=True),
    Setting("batch_size", _integer(1), 60, "samples per mini-batch (the paper: 60)", int, "--batch-size", "N"),
    Setting("optimizer", _choice(OPTIMIZERS), "adam", "the optimizer: Adam, or SGD with momentum", str,
            "--optimizer", choices=OPTIMIZERS),
    Setting("learning_rate", _real(0.0, low_open=True), 1.2e-3, "the optimizer's step size (the paper: Adam at "
            "1.2e-3)", float, "--learning-rate", "LR"),
    Setting("momentum", _real(0.0, 1.0, high_open=True), 0.9, "momentum of SGD (Adam ignores it)", float,
            "--momentum", "MU"),
    Setting("eval_every", _integer(1), 100, "iterations between evaluations on the validation and test sets",
            int, "--eval-every", "N"),
    Setting("adam_bias_correction", _choice(ADAM_FORMS), "step_size", "Adam's form: the bias correction folded "
            "into the step size (TensorFlow 1's, the paper's) or applied to the moments (PyTorch's)",
            str, "--adam-bias-correction", choices=ADAM_FORMS),
)
"""How every round trains: the fields of :class:`~lottery_np.config.TrainingConfig`."""

PRUNING = (
    Setting("target_sparsity", _real(0.0, 1.0, high_open=True), None, "fraction of the weights removed after the "
            f"last round (default: {DEFAULT_TARGET_SPARSITY}, unless pruning_rate is given)", float,
            "--target-sparsity", "S", optional=True),
    Setting("pruning_rate", _real(0.0, 1.0, low_open=True, high_open=True), None, "instead of target_sparsity: "
            "fraction of each layer's surviving weights pruned every round, the output layer's times "
            "output_rate_factor (the paper's: 0.2)", float, "--pruning-rate", "P", optional=True),
    Setting("pruning_rounds", _integer(1), 10, "prune-and-retrain rounds after the dense one (1: one-shot)",
            int, "--rounds", "N"),
    Setting("scope", _choice(SCOPES), "layerwise", "prune each layer by the same rate, or all by one threshold",
            str, "--scope", choices=SCOPES),
    Setting("criterion", _choice(CRITERIA), "large_final", "which surviving weights a round keeps: those of "
            "largest score, from their initial and trained values (Zhou et al. 2019; large_final is magnitude "
            "pruning)", str, "--criterion", "NAME", choices=CRITERIA),
    Setting("output_rate_factor", _real(0.0, 1.0), 0.5, "the output layer's pruning rate relative to the "
            "others' (the paper: 0.5; layerwise scope only)", float, "--output-rate-factor", "F"),
    Setting("seed", _integer(0), 0, "seeds the data order (and, on the command line, the initialization)",
            int, "--seed", "S"),
    Setting("accuracy_tolerance", _real(0.0, 1.0, high_open=True), 0.01, "how far (a fraction: 0.01 is one "
            "point) below the dense validation accuracy a ticket may fall", float, "--accuracy-tolerance", "T"),
)
"""What and how much to prune, and how a ticket is chosen."""

SETTINGS = {setting.name: setting for setting in TRAINING + PRUNING}
"""Every setting by name."""


def check(name: str, value: Any) -> Any:
    """``value`` checked by the rule of setting ``name`` (None passes where the setting is optional).

    Examples
    --------
    >>> check("batch_size", 60), check("target_sparsity", None)
    (60, None)
    """
    setting = SETTINGS[name]
    return None if value is None and setting.optional else setting.rule(name, value)


def help_of(name: str) -> str:
    """The setting's help with its default, as a docstring or ``--help`` shows it.

    Examples
    --------
    >>> help_of("batch_size")
    'samples per mini-batch (the paper: 60) (default: 60)'
    """
    setting = SETTINGS[name]
    return setting.help if setting.default is None else f"{setting.help} (default: {setting.default})"


def flag_of(name: str) -> Optional[str]:
    """The command-line option that sets the setting ``name`` (``pruning_rounds`` -> ``--rounds``), if any.

    Examples
    --------
    >>> flag_of("pruning_rounds"), flag_of("no_such_setting")
    ('--rounds', None)
    """
    setting = SETTINGS.get(name)
    return None if setting is None else setting.flag
