"""Dense LeNet-300-100 reaches the paper's accuracy on MNIST (slow: minutes; run with ``pytest -m slow``)."""
import pytest

from lottery_np.data import DatasetNotFoundError, load_mnist
from lottery_np.model import MLP
from lottery_np.training import TrainingConfig, train


@pytest.mark.slow
def test_dense_lenet_300_100_reaches_97_5_percent_on_mnist():
    """10 epochs of Adam at 1.2e-3, batch 60 (the paper's setup) reach >= 97.5 % test accuracy.

    One seed, so the bound sits below the seeds' spread: the MNIST benchmark's dense networks
    (book/figures/results.md) reach 97.66, 97.84 and 98.17 % with seeds 0-2, mean 97.89 ± 0.26;
    seed 0, this test's, gives 97.66 %. (Before BLAS was kept on one thread in training, this
    test ran it on every core, which rounds differently, and passed a bound of 97.8 % there.)

    Accuracy is read, as in the paper, at the early-stopping iteration: the evaluation of
    minimum *validation* loss within the 10 epochs (the test set plays no part in choosing
    it). With a constant learning rate the test accuracy of the last iterate wanders by
    about +-0.5 points from epoch to epoch, so it is printed but not asserted.
    Frankle & Carbin (2019), Figure 3, report about 98 % for the unpruned network.
    """
    try:
        data = load_mnist(download=False)
    except DatasetNotFoundError as error:
        pytest.skip(f"MNIST not available: {str(error).splitlines()[0]} (set LOTTERY_NP_DATA)")
    model = MLP(seed=0)
    config = TrainingConfig(epochs=10, batch_size=60, optimizer="adam", learning_rate=1.2e-3, eval_every=200)
    result = train(model, data, config, seed=0)
    print(f"test accuracy {result.early_stop_test_accuracy:.4f} at early-stopping iteration "
          f"{result.early_stop_iteration} of {result.iterations} ({result.final_test_accuracy:.4f} at the end), "
          f"{result.wall_time:.1f} s")
    assert result.early_stop_iteration < result.iterations  # the minimum is inside the run, not at its edge
    assert result.early_stop_test_accuracy >= 0.975


@pytest.mark.slow
def test_the_demo_shows_a_tickets_three_signatures(tmp_path):
    """``lottery-np benchmark --demo`` (about a minute on two cores): at 22 % of the weights, over 3 seeds,
    the ticket is at least as accurate as dense, stops earlier, and both controls trail it by more than
    three of their spreads (measured: ticket 96.14 ± 0.09, dense 95.75 ± 0.19, reinit 94.95 ± 0.05,
    random mask 94.55 ± 0.19; early stopping at 867 against dense 1,033)."""
    import json

    import numpy as np

    from lottery_np.cli import main

    try:
        load_mnist(download=False)
    except DatasetNotFoundError as error:
        pytest.skip(f"MNIST not available: {str(error).splitlines()[0]} (set LOTTERY_NP_DATA)")
    assert main(["benchmark", "--demo", "--n-jobs", "2", "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]

    def at(method, r, key="early_stop_test_accuracy"):
        return np.array([rec[key] for run in runs if run["method"] == method for rec in run["records"]
                         if rec["pruning_round"] == r])

    ticket, dense = at("lottery_ticket", 2), at("dense", 0)
    assert len(ticket) == 3 and ticket.mean() >= dense.mean()
    assert at("lottery_ticket", 2, "early_stop_iteration").mean() < at("dense", 0, "early_stop_iteration").mean()
    for control in ("random_reinit", "random_mask"):
        behind = at(control, 2)
        assert ticket.mean() - behind.mean() > 3 * max(ticket.std(), behind.std()), control
