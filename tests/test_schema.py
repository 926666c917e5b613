"""Every setting declared once: the settings objects, the builders, the command line and the estimator follow it."""
import argparse
import ast
import dataclasses
import inspect
import json
import re

import numpy as np
import pytest

from lottery_np import schema
from lottery_np.cli import build_parser
from lottery_np.cli.find_ticket import add_parser, build_pruner, option_of
from lottery_np.config import TrainingConfig
from lottery_np.estimator import SETTING_PARAMETERS, SETTINGS_LEFT_OUT, LotteryTicketClassifier
from lottery_np.optim import OPTIMIZERS, Adam
from lottery_np.pruning import LotteryTicketPruner, MagnitudePruner, PruningOptions
from lottery_np.validation import SettingError

FLAGGED = [s for s in schema.SETTINGS.values() if s.flag]


def find_ticket_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["find-ticket", "--out", "unused", *argv])


def test_training_config_is_the_training_settings():
    fields = dataclasses.fields(TrainingConfig)
    assert [f.name for f in fields] == [s.name for s in schema.TRAINING]
    assert [f.default for f in fields] == [s.default for s in schema.TRAINING]


def test_pruning_options_take_their_defaults_from_the_settings():
    for field in dataclasses.fields(PruningOptions):
        if field.name in schema.SETTINGS:
            assert field.default == schema.SETTINGS[field.name].default, field.name


def test_the_optimizers_are_the_settings_choices():
    assert tuple(OPTIMIZERS) == schema.OPTIMIZERS and Adam.FORMS == schema.ADAM_FORMS


@pytest.mark.parametrize("builder", [LotteryTicketPruner.builder, MagnitudePruner.builder])
def test_every_setting_a_builder_takes_has_a_setter_stating_its_default(builder):
    made = builder()
    for name in made.SETTINGS:
        setter = getattr(made, name)
        assert setter.__doc__, name
        default = schema.SETTINGS[name].default
        if default is not None and name != "optimizer":  # optimizer(name, learning_rate) is written by hand
            assert f"(default: {default})" in setter.__doc__, name


@pytest.mark.parametrize("name, value", [("pruning_rounds", 0), ("batch_size", -1), ("scope", "everything"),
                                         ("learning_rate", 0.0), ("momentum", 1.0), ("accuracy_tolerance", 1.0),
                                         ("eval_every", 2.5), ("output_rate_factor", 2.0)])
def test_a_setter_and_configure_refuse_alike_by_the_declared_rule(name, value):
    with pytest.raises(SettingError, match=f"^{name} must be") as by_setter:
        getattr(LotteryTicketPruner.builder(), name)(value).build()
    with pytest.raises(SettingError) as by_name:
        LotteryTicketPruner.builder().configure(**{name: value}).build()
    with pytest.raises(SettingError) as by_rule:
        schema.check(name, value)
    assert str(by_setter.value) == str(by_name.value) == str(by_rule.value)


def test_configure_refuses_a_setting_the_builder_does_not_take():
    with pytest.raises(SettingError, match="MagnitudePrunerBuilder takes no setting 'accuracy_tolerance'"):
        MagnitudePruner.builder().configure(accuracy_tolerance=0.1)


def test_a_training_length_replaces_the_other():
    options = LotteryTicketPruner.builder().epochs(3).configure(iterations=7).build().options
    assert (options.training.iterations, options.training.epochs) == (7, None)


def test_training_copies_a_config_whole():
    config = TrainingConfig(epochs=2.5, batch_size=7, optimizer="sgd", learning_rate=0.05, momentum=0.5,
                            eval_every=3, adam_bias_correction="moments")
    assert LotteryTicketPruner.builder().training(config).build().options.training == config


@pytest.mark.parametrize("setting", FLAGGED, ids=lambda s: s.name)
def test_every_flag_is_an_option_with_the_declared_default_and_help(setting):
    parser = add_parser(argparse.ArgumentParser().add_subparsers())
    assert parser.get_default(setting.dest) == setting.default
    text = "".join(parser.format_help().split())  # argparse wraps the lines, at spaces and hyphens
    assert "".join(schema.help_of(setting.name).split()) in text
    if setting.choices and setting.metavar:  # too many to show in the usage line: the help lists them
        assert f"{setting.flag}{setting.metavar}" in text and "oneof" + ",".join(setting.choices) in text
    elif setting.choices:
        assert f"{setting.flag}{{{','.join(setting.choices)}}}" in text


@pytest.mark.parametrize("setting", FLAGGED, ids=lambda s: s.name)
def test_an_error_naming_a_setting_names_its_flag(setting):
    assert option_of(SettingError(setting.name, "a rule", None)) == setting.flag


def test_the_command_line_reaches_the_pruner_setting_by_setting():
    args = find_ticket_args("--pruning-rate", "0.2", "--rounds", "3", "--scope", "global", "--output-rate-factor",
                            "1", "--accuracy-tolerance", "0.05", "--epochs", "2", "--eval-every", "7",
                            "--batch-size", "9", "--optimizer", "sgd", "--learning-rate", "0.05", "--momentum", "0.8",
                            "--adam-bias-correction", "moments", "--seed", "4", "--rewind", "iteration:5")
    pruner = build_pruner(args)
    assert pruner.options == PruningOptions(
        pruning_rate=0.2, pruning_rounds=3, scope="global", output_rate_factor=1.0, seed=4,
        training=TrainingConfig(epochs=2, eval_every=7, batch_size=9, optimizer="sgd", learning_rate=0.05,
                                momentum=0.8, adam_bias_correction="moments"))
    assert pruner.accuracy_tolerance == 0.05 and str(pruner.rewind) == "iteration:5"


def test_the_command_line_defaults_are_the_builders():
    args = find_ticket_args()
    args.iterations = schema.PAPER_ITERATIONS  # what run() records when no length is given
    assert build_pruner(args).options == LotteryTicketPruner.builder().build().options


def test_a_run_folder_older_than_an_option_resumes_with_its_default(tmp_path):
    from lottery_np.cli.run_folder import CHECKPOINT, SETTINGS, check_run_folder
    from lottery_np.pruning import NUMERICS_VERSION

    settings = {"momentum": schema.SETTINGS["momentum"].default, "rounds": 3, "numerics": NUMERICS_VERSION}
    older = {name: value for name, value in settings.items() if name != "momentum"}  # written before --momentum
    (tmp_path / SETTINGS).write_text(json.dumps(older))
    (tmp_path / CHECKPOINT).write_bytes(b"")
    check_run_folder(tmp_path, settings, resume=True)
    with pytest.raises(ValueError, match=r"--momentum 0\.5 \(the run has 0\.9\)"):
        check_run_folder(tmp_path, {**settings, "momentum": 0.5}, resume=True)


def test_the_estimator_documents_each_setting_parameter_with_its_default():
    signature = inspect.signature(LotteryTicketClassifier)
    doc = LotteryTicketClassifier.__doc__
    for name, parameter in signature.parameters.items():
        documented = re.search(rf"^    {name} : .*default=(.+)$", doc, re.MULTILINE)
        assert documented, f"{name} is not documented with its default"
        assert ast.literal_eval(documented.group(1)) == parameter.default, name
    assert set(SETTING_PARAMETERS) <= set(signature.parameters) and set(SETTING_PARAMETERS) <= set(schema.SETTINGS)


@pytest.mark.parametrize("name", SETTING_PARAMETERS)
def test_the_estimator_checks_its_setting_parameters_by_the_declared_rule(name):
    bad = {"optimizer": "adagrad", "batch_size": 0}.get(name, -1.0)
    X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
    with pytest.raises(SettingError, match=f"^{name} must be"):
        LotteryTicketClassifier(**{name: bad}).fit(X, y)


def test_every_setting_is_an_estimator_parameter_or_says_why_not():
    assert sorted(SETTING_PARAMETERS + tuple(SETTINGS_LEFT_OUT)) == sorted(schema.SETTINGS)
    assert all(SETTINGS_LEFT_OUT.values())


def test_the_pruners_docstring_names_every_setter_of_its_builder():
    doc = LotteryTicketPruner.__doc__
    for name in LotteryTicketPruner.builder().SETTINGS + ("rewind_strategy", "validation_data", "configure"):
        assert f"``{name}``" in doc or f"~PrunerBuilder.{name}" in doc, name
