"""The whole search with a student's pruning and rewinding: the library's functions reproduce its ticket bit for bit."""
import numpy as np
import pytest

from lottery_np.data import load_digits
from lottery_np.exercises import check_imp, imp_rounds, reference
from lottery_np.model import MLP
from lottery_np.pruning import LotteryTicketPruner


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("scope, amount", [("layerwise", {"target_sparsity": 0.8}),
                                           ("global", {"target_sparsity": 0.7}),
                                           ("layerwise", {"pruning_rate": 0.3})])
def test_the_loop_with_the_library_functions_reproduces_find_ticket(digits, scope, amount):
    pruner = (LotteryTicketPruner.builder().configure(**amount).pruning_rounds(2).iterations(40).eval_every(20)
              .scope(scope).seed(3).build())
    model = MLP((64, 16, 10), seed=1)
    ticket = pruner.find_ticket(model, digits)
    prune = reference.prune_global if scope == "global" else reference.prune_layerwise
    rounds = list(imp_rounds(model, digits, pruner.options, prune, reference.rewind))
    assert len(rounds) == len(pruner.tickets_) == 3
    for finished, candidate in zip(rounds, pruner.tickets_):
        for ours, theirs in zip(finished.masks + finished.start.weights + finished.start.biases,
                                candidate.masks + candidate.weights + candidate.biases):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    assert [r.record for r in rounds] == ticket.history  # every learning curve, bit for bit
    assert [r.record.density for r in rounds][-1] < 1 and model.density == 1.0  # the caller's model untouched


def test_check_imp_passes_the_library_and_fails_wrong_functions():
    assert check_imp(reference.prune_layerwise, reference.rewind, points=4).points == 4

    def signed(weights, masks, n_keep):  # ranks w, not |w|
        return [(np.argsort(np.argsort(-np.where(m != 0, w, -np.inf), axis=None, kind="stable")).reshape(w.shape)
                 < k).astype(np.float32) for w, m, k in zip(weights, masks, n_keep)]

    result = check_imp(signed, reference.rewind)
    assert not result.passed and "In round 1 of a search on the digits" in result.feedback
    assert "your pruning function is wrong" in result.feedback and "signed value" in result.feedback

    def keeps_training(initial_weights, trained_weights, masks):
        return [w * m for w, m in zip(trained_weights, masks)]

    result = check_imp(reference.prune_layerwise, keeps_training)
    assert not result.passed and "your rewinding function is wrong" in result.feedback
    assert "learning-rate rewinding" in result.feedback


def test_check_imp_reports_a_raising_function_and_refuses_a_non_function():
    def unfinished(weights, masks, n_keep):
        raise NotImplementedError("todo")

    result = check_imp(unfinished, reference.rewind)
    assert not result.passed and "It raised NotImplementedError: todo" in result.feedback
    with pytest.raises(TypeError, match="rewind_function must be callable"):
        check_imp(reference.prune_layerwise, None)
