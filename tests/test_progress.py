"""Progress in a log: one plain line per round or job, no carriage returns, nothing per training iteration."""
import sys

import pytest
from tqdm.auto import tqdm

import lottery_np.experiment.runner as runner
from lottery_np.experiment.jobs import Job
from lottery_np.model import MLP
from lottery_np.progress import LineProgress, progress_bar
from lottery_np.pruning import LotteryTicketPruner


def test_a_log_gets_one_line_per_pruning_round_and_none_per_iteration(tiny_digits, capfd):
    pruner = (LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(2).iterations(40).eval_every(20)
              .seed(0).build())
    pruner.find_ticket(MLP((64, 16, 10), seed=0), tiny_digits, progress=True)
    err = capfd.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert [line.split(" density")[0] for line in lines] == [
        f"pruning {r + 1}/3 rounds round={r}" for r in range(3)]
    assert all("test_acc=" in line for line in lines)


def test_a_log_gets_one_line_per_finished_job(capfd):
    jobs = [Job("dense", seed) for seed in range(3)]
    runner.run_jobs(jobs, settings=None, n_jobs=1, backend="sequential", progress=True, description="methods",
                    run=lambda job, settings: {"method": job.method, "seed": job.seed})
    err = capfd.readouterr().err
    assert "\r" not in err
    assert err.splitlines() == [f"methods {n}/3 jobs method=dense seed={n - 1}" for n in (1, 2, 3)]


def test_disabled_bars_print_nothing(capfd):
    bar = progress_bar(3, "quiet", enabled=False)
    bar.update(1)
    bar.close()
    quiet = progress_bar(3, "iterations", enabled=True, log_updates=False)
    quiet.update(1)
    quiet.close()
    assert capfd.readouterr().err == ""


def test_a_terminal_gets_a_tqdm_bar(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = progress_bar(3, "rounds", enabled=True)
    assert isinstance(bar, tqdm) and not isinstance(bar, LineProgress)
    bar.close()


@pytest.mark.parametrize("initial", [0, 2])
def test_a_resumed_run_counts_from_where_it_stopped(initial, capsys):
    bar = progress_bar(4, "pruning rounds", enabled=True, unit="rounds", initial=initial)
    bar.set_postfix(round=initial)
    bar.update(1)
    assert capsys.readouterr().err == f"pruning rounds {initial + 1}/4 rounds round={initial}\n"
