"""The pruning schedule: every round's count is exact and the last lands on the target."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottery_np.pruning.schedule import global_schedule, layerwise_schedule, per_round_rate

LENET_LAYERS = [784 * 300, 300 * 100, 100 * 10]


@given(
    sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=4),
    sparsity=st.floats(0.0, 0.99),
    rounds=st.integers(1, 12),
    output_factor=st.sampled_from([0.5, 1.0]),
)
def test_layerwise_schedule_lands_exactly_on_target(sizes, sparsity, rounds, output_factor):
    factors = [1.0] * (len(sizes) - 1) + [output_factor]
    if len(sizes) == 1:
        factors = [1.0]
    lowest_reachable = sum(n * (1 - f) ** rounds for n, f in zip(sizes, factors))
    if lowest_reachable > sum(sizes) * (1 - sparsity) + 0.5:  # a half-rate layer cannot be emptied in few rounds
        with pytest.raises(ValueError, match="unreachable"):
            layerwise_schedule(sizes, factors, sparsity, rounds)
        return
    counts = layerwise_schedule(sizes, factors, sparsity, rounds)
    assert counts.shape == (rounds + 1, len(sizes))
    np.testing.assert_array_equal(counts[0], sizes)
    assert counts[-1].sum() == round(sum(sizes) * (1 - sparsity))
    assert (np.diff(counts, axis=0) <= 0).all()  # masks only lose weights
    assert (counts >= 0).all()


@given(n=st.integers(1, 10**6), sparsity=st.floats(0.0, 0.999), rounds=st.integers(1, 20))
def test_global_schedule_lands_exactly_on_target(n, sparsity, rounds):
    counts = global_schedule(n, sparsity, rounds)
    assert counts[0] == n and counts[-1] == round(n * (1 - sparsity))
    assert (np.diff(counts) <= 0).all()


def test_rate_reproduces_the_papers_lenet_setting():
    # Hidden layers at 20 % per round and the output layer at 10 % (Frankle & Carbin 2019, Figure 2):
    # after 3 rounds the paper reports 51.3 % of weights remaining.
    sizes, factors = np.array(LENET_LAYERS), np.array([1, 1, 0.5])
    remaining = (sizes * (1 - factors * 0.2) ** 3).sum() / sizes.sum()
    assert remaining == pytest.approx(0.513, abs=5e-4)
    assert per_round_rate(sizes, factors, 1 - remaining, 3) == pytest.approx(0.2, abs=1e-9)


def test_output_layer_is_pruned_at_half_the_rate():
    counts = layerwise_schedule(LENET_LAYERS, [1, 1, 0.5], 0.9, 10)
    hidden_kept = counts[1, 0] / LENET_LAYERS[0]
    output_kept = counts[1, 2] / LENET_LAYERS[2]
    assert 1 - output_kept == pytest.approx((1 - hidden_kept) / 2, abs=2e-3)


def test_unreachable_target_is_rejected():
    with pytest.raises(ValueError, match="unreachable"):
        per_round_rate([100, 10], [0.0, 0.0], 0.5, 3)
