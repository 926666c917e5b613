"""The threads setting: where it comes from, where it applies, and that the numbers do not depend on it."""
import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from lottery_np import training
from lottery_np.engine import threads
from lottery_np.cli import main
from lottery_np.config import TrainingConfig
from lottery_np.data import as_dataset, load_digits
from lottery_np.model import MLP
from lottery_np.pruning.masks import random_masks
from lottery_np.validation import SettingError

MAX = numba.config.NUMBA_NUM_THREADS


@pytest.fixture(autouse=True)
def restore_threads(monkeypatch):
    """Every test leaves the process's threads as it found them."""
    monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    before = numba.get_num_threads()
    yield
    monkeypatch.setattr(threads, "_chosen", None)
    numba.set_num_threads(before)


def fake_machine(monkeypatch, tmp_path, runnable, own=1):
    """``/proc/loadavg`` saying ``runnable`` threads can run now, ``own`` of them this process's."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"0.50 0.40 0.30 {runnable}/321 4567\n")
    monkeypatch.setattr(threads, "LOADAVG", str(loadavg))
    monkeypatch.setattr(threads, "_running_threads_of_this_process", lambda: own)


def test_the_argument_beats_the_environment_which_beats_the_default(monkeypatch, tmp_path):
    fake_machine(monkeypatch, tmp_path, runnable=1)
    assert threads.DEFAULT_THREADS == "auto" and threads.requested() == MAX  # a quiet machine: every core
    monkeypatch.setenv(threads.ENVIRONMENT_VARIABLE, "1")
    assert threads.requested() == 1
    assert threads.requested(MAX) == MAX and threads.requested(" Auto ") == MAX


@pytest.mark.parametrize("runnable, own, idle", [(1, 1, MAX), (3, 1, max(1, MAX - 2)), (2, 2, MAX), (9, 1, 1)])
def test_auto_takes_the_cores_other_processes_leave(monkeypatch, tmp_path, runnable, own, idle):
    fake_machine(monkeypatch, tmp_path, runnable, own)
    assert threads.idle_cores() == idle


def test_auto_is_decided_anew_by_every_training_run(monkeypatch, tmp_path):
    fake_machine(monkeypatch, tmp_path, runnable=1)
    with threads.limited("auto"):
        with threads.limited() as quiet:  # what train() does
            assert quiet == MAX
        fake_machine(monkeypatch, tmp_path, runnable=1 + MAX)  # others now keep every core busy
        with threads.limited() as busy:
            assert busy == 1


def test_the_real_machine_reads_sensibly():
    assert 1 <= threads.idle_cores() <= MAX


@pytest.mark.parametrize("text", ["zero", "1.5", "0", str(MAX + 1), "autox"])
def test_a_bad_environment_value_is_refused_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv(threads.ENVIRONMENT_VARIABLE, text)
    with pytest.raises(SettingError, match=threads.ENVIRONMENT_VARIABLE) as caught:
        threads.requested()
    assert caught.value.setting == threads.ENVIRONMENT_VARIABLE


@pytest.mark.parametrize("value", [0, -1, MAX + 1, True, 1.5])
def test_a_bad_argument_is_refused(value):
    with pytest.raises(SettingError, match="threads"):
        threads.requested(value)


def blas_threads():
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_limited_sets_numba_keeps_blas_on_one_thread_and_restores_both():
    numba.set_num_threads(MAX)
    blas_before = blas_threads()
    with threads.limited(MAX) as n:
        assert n == MAX and numba.get_num_threads() == MAX and blas_threads() <= {1}
        with threads.limited(1):
            assert threads.current() == 1 and numba.get_num_threads() == 1
            with threads.limited():  # what train() does: the enclosing choice stays
                assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == MAX and blas_threads() == blas_before


def test_configure_holds_for_the_rest_of_the_process():
    assert threads.configure(1) == 1
    assert threads.current() == 1 and numba.get_num_threads() == 1


def test_training_runs_on_the_current_threads(monkeypatch):
    seen = []
    original = training.training_step

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "training_step", spy)
    data = load_digits()
    with threads.limited(1):
        training.train(MLP((64, 20, 10)), data, TrainingConfig(iterations=3, eval_every=3))
    assert seen == [1]


@pytest.mark.skipif(MAX < 2, reason="needs two threads")
def test_the_numbers_do_not_depend_on_the_threads():
    # LeNet-300-100's own shapes: OpenBLAS rounds a 60 x 784 x 300 product differently on one and
    # two threads (the digits' 64 inputs are too few to show it), which train() must not let through.
    rng = np.random.default_rng(4)
    X, y = rng.random((1200, 784), dtype=np.float32), rng.integers(0, 10, 1200)
    data = as_dataset((X, y))
    results = []
    for n in (1, 2):
        for density in (1.0, 0.1):  # the dense path (BLAS) and the fused sparse one
            model = MLP(seed=4)
            if density < 1:
                shapes = [w.shape for w in model.weights]
                model.set_masks(random_masks(shapes, [round(density * i * o) for i, o in shapes],
                                             np.random.default_rng(4)))
            with threads.limited(n):
                result = training.train(model, data, TrainingConfig(iterations=40, eval_every=20), seed=4)
            results.append((n, density, model.weights, result.curve.val_loss))
    for (_, d1, w1, c1), (_, d2, w2, c2) in zip(results[:2], results[2:]):
        assert d1 == d2
        for a, b in zip(w1, w2):
            np.testing.assert_array_equal(a, b)
        assert c1 == c2


def test_the_command_line_names_the_option(tmp_path, capsys):
    assert main(["find-ticket", "--dataset", "digits", "--threads", "0", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lottery-np: error: --threads: ") and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()  # refused before anything is written
