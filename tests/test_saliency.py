"""Pruning at initialization: SNIP, GraSP (and the R-operator's H v) and SynFlow scores against finite differences
and hand-worked examples; the masks they choose: exact counts, only shrinking, deterministic, the model untouched.

Tolerances are relative errors ``max|a - b| / max(|a| + |b|)`` (:func:`rel_error`), measured against the largest
entries so that entries near 0 cannot blow them up. A float64 central difference of step ``h`` errs by about ``h^2``
(truncation) plus ``1e-16 / h`` (rounding) of the quantity's size: about 1e-9 for a gradient at ``h = 1e-6``, 1e-10
for a difference of gradients at steps of 1e-5; a mixed second difference of the loss at ``h = t = 1e-4`` rounds to
about ``1e-16 / (h t) = 1e-8`` of the loss, 1e-7 of ``H g``. The bounds (1e-7, 1e-8, 1e-6) sit one to two orders
above these. float32 scores may differ from float64 ones by the rounding of a few layers of sums, ``~1e-7`` each:
bound 1e-4. ReLU is not differentiable at 0, so finite differences are taken only on draws whose hidden
pre-activations all lie farther than 1e-3 from 0, and no step moves a weight by much more than 1e-4.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lottery_np.model import MLP, Parameters
from lottery_np.pruning import (grasp_masks, grasp_scores, hessian_vector_product, masks_from_scores, prune_global,
                                snip_masks, snip_scores, synflow_masks, synflow_scores)
from lottery_np.validation import SettingError

SIZES = (6, 5, 4, 3)  # 62 weights
KINK_MARGIN = 1e-3


def rel_error(a, b) -> float:
    """``max|a - b| / max(|a| + |b|, tiny)`` over every entry of two lists of arrays."""
    a = np.concatenate([np.ravel(x) for x in a])
    b = np.concatenate([np.ravel(x) for x in b])
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), np.finfo(float).tiny))


def pre_activations(model, X):
    """The hidden layers' pre-activations ``Z_l``, computed plainly (samples in rows)."""
    A, found = X, []
    for w, b in zip(model.weights[:-1], model.biases[:-1]):
        found.append(A @ w + b)
        A = np.maximum(found[-1], 0)
    return found


def problem(seed, prune=False):
    """A float64 network of SIZES (random biases, random masks if ``prune``) and a batch of 8 samples."""
    rng = np.random.default_rng(seed)
    model = MLP(SIZES, seed=seed, dtype=np.float64)
    for b in model.biases:
        b[:] = rng.normal(size=b.shape) * 0.1
    if prune:
        model.set_masks([(rng.random(w.shape) < 0.6).astype(np.float32) for w in model.weights])
    X, y = rng.normal(size=(8, SIZES[0])), rng.integers(0, SIZES[-1], 8)
    return model, X, y


def smooth_problem(seed, prune=False):
    """The first :func:`problem` from ``seed`` on whose hidden pre-activations all lie beyond KINK_MARGIN of 0."""
    for attempt in range(seed, seed + 1000, 7):
        model, X, y = problem(attempt, prune)
        if all(np.abs(Z).min() > KINK_MARGIN for Z in pre_activations(model, X)):
            return model, X, y
    raise AssertionError(f"no draw from seed {seed} keeps clear of the ReLU kinks")


def shifted(model, step):
    """A copy of ``model`` with ``step`` (one array per layer) added to its weights."""
    twin = model.copy()
    twin.set_parameters(Parameters([w + s for w, s in zip(model.weights, step)], model.biases))
    return twin


def surviving(model):
    """``(layer, index)`` of every surviving weight."""
    return [(layer, index) for layer, m in enumerate(model.masks) for index in zip(*np.nonzero(m))]


def unit(model, layer, index, h):
    """A step of ``h`` along one weight."""
    step = [np.zeros_like(w) for w in model.weights]
    step[layer][index] = h
    return step


def flow(weights):
    """SynFlow's ``R = 1^T |W_L|^T ... |W_1|^T 1``, computed plainly."""
    f = np.ones(weights[0].shape[0])
    for w in weights:
        f = np.abs(w).T @ f
    return f.sum()


# ------------------------------------------------------------------------------- scores against references
@pytest.mark.parametrize("prune", [False, True])
def test_snip_is_the_loss_gradient_by_central_differences_times_the_weight(prune):
    model, X, y = smooth_problem(seed=1, prune=prune)
    h = 1e-6
    expected = [np.zeros_like(w) for w in model.weights]
    for layer, index in surviving(model):
        plus = shifted(model, unit(model, layer, index, h)).loss(X, y)
        minus = shifted(model, unit(model, layer, index, -h)).loss(X, y)
        expected[layer][index] = abs((plus - minus) / (2 * h) * model.weights[layer][index])
    assert rel_error(snip_scores(model, X, y), expected) < 1e-7


@pytest.mark.parametrize("prune", [False, True])
def test_grasp_hessian_gradient_product_is_the_gradient_difference_along_g(prune):
    model, X, y = smooth_problem(seed=2, prune=prune)
    _, g, _ = model.backprop(X, y)
    h = 1e-5 / max(np.abs(x).max() for x in g)  # no weight moves by more than 1e-5
    plus = shifted(model, [h * x for x in g]).backprop(X, y)[1]
    minus = shifted(model, [-h * x for x in g]).backprop(X, y)[1]
    hg = [(p - m) / (2 * h) for p, m in zip(plus, minus)]  # backprop masks the gradients: 0 where pruned
    assert rel_error(grasp_scores(model, X, y), [-w * x for w, x in zip(model.weights, hg)]) < 1e-8


def test_grasp_hessian_gradient_product_is_a_second_difference_of_the_loss():
    # (H g)_i = d^2 L / (dw_i dt) along w + t g: a mixed central difference of the loss, four losses per entry.
    model, X, y = smooth_problem(seed=3, prune=True)
    _, g, _ = model.backprop(X, y)
    hg = hessian_vector_product(model, X, y, g)
    h = t = 1e-4
    entries = [(layer, np.unravel_index(np.argmax(np.abs(x)), x.shape)) for layer, x in enumerate(hg)]
    entries += surviving(model)[::15]
    got, want = [], []
    for layer, index in entries:
        losses = [shifted(model, [a + b for a, b in zip(unit(model, layer, index, s), [u * x for x in g])]).loss(X, y)
                  for s, u in [(h, t), (h, -t), (-h, t), (-h, -t)]]
        want.append((losses[0] - losses[1] - losses[2] + losses[3]) / (4 * h * t))
        got.append(hg[layer][index])
    assert rel_error([got], [want]) < 1e-6


def test_hessian_vector_product_in_any_direction():
    model, X, y = smooth_problem(seed=4, prune=True)
    rng = np.random.default_rng(0)
    v = [rng.normal(size=w.shape) * m for w, m in zip(model.weights, model.masks)]
    h = 1e-5 / max(np.abs(x).max() for x in v)
    plus = shifted(model, [h * x for x in v]).backprop(X, y)[1]
    minus = shifted(model, [-h * x for x in v]).backprop(X, y)[1]
    assert rel_error(hessian_vector_product(model, X, y, v), [(p - m) / (2 * h) for p, m in zip(plus, minus)]) < 1e-8


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), prune=st.booleans())
def test_the_hessian_is_symmetric(seed, prune):
    # u^T (H v) = v^T (H u) holds for every draw, kinks or not: the R-operator differentiates the network with its
    # ReLU pattern held, a smooth function.
    model, X, y = problem(seed, prune)
    rng = np.random.default_rng(seed + 1)
    u, v = ([rng.normal(size=w.shape) * m for w, m in zip(model.weights, model.masks)] for _ in range(2))
    uhv = sum(float((a * b).sum()) for a, b in zip(u, hessian_vector_product(model, X, y, v)))
    vhu = sum(float((a * b).sum()) for a, b in zip(v, hessian_vector_product(model, X, y, u)))
    assert abs(uhv - vhu) <= 1e-10 * (abs(uhv) + abs(vhu))


@pytest.mark.parametrize("prune", [False, True])
def test_synflow_is_the_flow_gradient_by_central_differences_times_the_weight(prune):
    # R is linear in each |w|, so the central difference is exact but for rounding.
    model, _, _ = problem(seed=5, prune=prune)
    h = 1e-6
    assert min(abs(model.weights[layer][index]) for layer, index in surviving(model)) > 10 * h  # |w| stays one-signed
    expected = [np.zeros_like(w) for w in model.weights]
    for layer, index in surviving(model):
        plus = flow([w + s for w, s in zip(model.weights, unit(model, layer, index, h))])
        minus = flow([w + s for w, s in zip(model.weights, unit(model, layer, index, -h))])
        expected[layer][index] = abs((plus - minus) / (2 * h) * model.weights[layer][index])
    scores = synflow_scores(model)
    assert rel_error([s * flow(model.weights) for s in scores], expected) < 1e-8
    np.testing.assert_allclose([s.sum() for s in scores], 1.0, rtol=1e-12)  # conservation: every layer carries R


@pytest.mark.parametrize("score", ["snip", "grasp", "synflow"])
def test_float32_scores_track_the_float64_reference(score):
    rng = np.random.default_rng(6)
    sizes = (64, 50, 20, 10)
    fast = MLP(sizes, seed=6)
    fast.set_masks([(rng.random(w.shape) < 0.5).astype(np.float32) for w in fast.weights])
    exact = MLP(sizes, seed=6, dtype=np.float64)
    exact.set_masks(fast.masks)
    exact.set_parameters(Parameters(fast.weights, fast.biases))  # the same numbers, float64 arithmetic
    X, y = rng.standard_normal((32, 64)).astype(np.float32), rng.integers(0, 10, 32)
    if score == "synflow":
        got, want = synflow_scores(fast), synflow_scores(exact)
    else:
        function = {"snip": snip_scores, "grasp": grasp_scores}[score]
        got, want = function(fast, X, y), function(exact, X.astype(np.float64), y)
    assert all(s.dtype == np.float64 for s in got)
    assert rel_error(got, want) < 1e-4


# ------------------------------------------------------------------------------- worked by hand
def test_snip_worked_out_by_hand():
    # x = [1, 2]; W1 = [[1, -1], [0.5, 1]] gives z1 = [2, 1], both units on; W2 = diag(1, -1) gives logits [2, -1].
    # Target class 1: q = p_1 = 1 / (1 + e^3), output error E2 = p - e_1 = (1 - q) [1, -1].
    # dW2 = a1 E2^T = (1 - q) [[2, -2], [1, -1]];  E1 = W2 E2 = (1 - q) [1, 1];
    # dW1 = x E1^T = (1 - q) [[1, 1], [2, 2]].
    model = MLP((2, 2, 2), dtype=np.float64)
    model.weights[0][:] = [[1.0, -1.0], [0.5, 1.0]]
    model.weights[1][:] = [[1.0, 0.0], [0.0, -1.0]]
    scores = snip_scores(model, np.array([[1.0, 2.0]]), np.array([1]))
    s = 1 - 1 / (1 + np.e ** 3)
    np.testing.assert_allclose(scores[0], s * np.array([[1, 1], [1, 2]]), rtol=1e-14)  # |dW1 * W1|
    np.testing.assert_allclose(scores[1], s * np.array([[2, 0], [0, 1]]), rtol=1e-14)  # |dW2 * W2|


def test_synflow_worked_out_by_hand():
    # Magnitudes |W1| = [[1, 2], [3, 0.5]], |W2| = [[2], [1]]. Flow in: f0 = [1, 1], f1 = |W1|^T f0 = [4, 2.5].
    # Flow out: b2 = [1], b1 = |W2| b2 = [2, 1]. R = f1 . |W2| b2 = 8 + 2.5 = 10.5.
    # S1 = f0 b1^T * |W1| = [[2, 2], [6, 0.5]]; S2 = f1 b2^T * |W2| = [[8], [2.5]]; each sums to R.
    model = MLP((2, 2, 1), dtype=np.float64)
    model.weights[0][:] = [[1.0, -2.0], [3.0, 0.5]]
    model.weights[1][:] = [[2.0], [-1.0]]
    scores = synflow_scores(model)
    np.testing.assert_allclose(scores[0], np.array([[2, 2], [6, 0.5]]) / 10.5, rtol=1e-14)
    np.testing.assert_allclose(scores[1], np.array([[8], [2.5]]) / 10.5, rtol=1e-14)
    cut = model.copy()
    cut.set_masks([np.ones((2, 2)), np.zeros((2, 1))])  # no path left: R = 0, every score 0
    assert all((s == 0).all() for s in synflow_scores(cut))


# ------------------------------------------------------------------------------- masks
METHODS = {  # (masks, scores, which scores a single shot keeps)
    "snip": (snip_masks, snip_scores, "largest"),
    "grasp": (grasp_masks, grasp_scores, "smallest"),
    "synflow": (lambda model, X, y, k: synflow_masks(model, k, iterations=10),
                lambda model, X, y: synflow_scores(model), None),
}


@pytest.mark.parametrize("method", sorted(METHODS))
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16), prune=st.booleans(), data=st.data())
def test_masks_keep_exactly_n_keep_surviving_weights(method, seed, prune, data):
    choose, score, keep = METHODS[method]
    model, X, y = problem(seed, prune)
    old = model.masks
    n_keep = data.draw(st.integers(0, model.n_remaining), label="n_keep")
    new = choose(model, X, y, n_keep)
    assert [m.shape for m in new] == [m.shape for m in old] and all(m.dtype == np.float32 for m in new)
    assert sum(int(m.sum()) for m in new) == n_keep
    assert all((n <= o).all() for n, o in zip(new, old))  # only surviving entries kept: nothing revived
    assert all(np.array_equal(a, b) for a, b in zip(new, choose(model, X, y, n_keep)))  # bit for bit
    scores = score(model, X, y)
    assert all((s[o == 0] == 0).all() for s, o in zip(scores, old))  # a pruned weight scores 0
    if keep is not None:  # one shot: every kept score on the right side of every pruned one
        kept = np.concatenate([s[n == 1] for s, n in zip(scores, new)])
        pruned = np.concatenate([s[(o == 1) & (n == 0)] for s, o, n in zip(scores, old, new)])
        if kept.size and pruned.size:
            assert kept.min() >= pruned.max() if keep == "largest" else kept.max() <= pruned.min()


def test_grasp_keeps_the_lowest_scores():
    model, X, y = problem(seed=7)
    scores = np.concatenate([s.ravel() for s in grasp_scores(model, X, y)])
    kept = np.concatenate([m.ravel() for m in grasp_masks(model, X, y, 20)]) == 1
    np.testing.assert_array_equal(np.sort(scores[kept]), np.sort(scores)[:20])


@pytest.mark.parametrize("iterations", [1, 7, 100])
@pytest.mark.parametrize("n_keep", [0, 1, 9, 31, 61, 62])
def test_synflow_schedule_hits_every_count_exactly(n_keep, iterations):
    model = MLP(SIZES, seed=8)
    masks = synflow_masks(model, n_keep, iterations)
    assert sum(int(m.sum()) for m in masks) == n_keep
    pruned = model.copy()
    pruned.set_masks([np.triu(np.ones(w.shape)) for w in model.weights])  # start from a pruned network
    masks = synflow_masks(pruned, min(n_keep, pruned.n_remaining), iterations)
    assert sum(int(m.sum()) for m in masks) == min(n_keep, pruned.n_remaining)
    assert all((n <= o).all() for n, o in zip(masks, pruned.masks))


def test_synflow_iterations_avoid_the_layer_collapse_of_one_shot_pruning():
    # Every layer carries the same total score R (conservation), so a large layer's weights score low one by one:
    # pruned in one shot the first layer goes entirely. Iterating lets its survivors gain score, and a path remains.
    model = MLP((40, 30, 20, 2), seed=9, dtype=np.float64)
    one_shot = synflow_masks(model, n_keep=40, iterations=1)
    assert not one_shot[0].any()
    masks = synflow_masks(model, n_keep=40)
    assert sum(int(m.sum()) for m in masks) == 40
    assert flow([w * m for w, m in zip(model.weights, masks)]) > 0


@st.composite
def tied_layers(draw):
    """Weights with repeated magnitudes (ties) and random masks, as tests/test_masks.py draws them."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
        w = draw(arrays(np.float32, shape, elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])))
        out.append((w, draw(arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0])))))
    return out


@settings(max_examples=30, deadline=None)
@given(tied_layers(), st.data())
def test_ranking_and_ties_are_prune_globals(layer_list, data):
    weights, masks = [w for w, _ in layer_list], [m for _, m in layer_list]
    n_keep = data.draw(st.integers(0, int(sum(m.sum() for m in masks))))
    expected = prune_global(weights, masks, n_keep)
    for got in (masks_from_scores([np.abs(w) for w in weights], masks, n_keep),
                masks_from_scores([-np.abs(w) for w in weights], masks, n_keep, keep="smallest")):
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))


def test_no_function_changes_the_model():
    rng = np.random.default_rng(10)
    model = MLP((12, 8, 5, 3), seed=10)
    model.set_masks([(rng.random(w.shape) < 0.5).astype(np.float32) for w in model.weights])
    before = model.copy()
    X, y = rng.standard_normal((9, 12)).astype(np.float32), rng.integers(0, 3, 9)
    v = [np.ones(w.shape) for w in model.weights]
    for call in (lambda: snip_scores(model, X, y), lambda: grasp_scores(model, X, y), lambda: synflow_scores(model),
                 lambda: hessian_vector_product(model, X, y, v), lambda: snip_masks(model, X, y, 20),
                 lambda: grasp_masks(model, X, y, 20), lambda: synflow_masks(model, 20, iterations=5)):
        call()
        for name in ("weights", "biases", "masks"):
            for a, b in zip(getattr(model, name), getattr(before, name)):
                assert a.dtype == b.dtype and np.array_equal(a, b), name


@pytest.mark.parametrize("call, error, message", [
    (lambda: masks_from_scores([np.ones((2, 2))], [np.ones((2, 2))], 1, keep="middle"), SettingError,
     "keep must be one of 'largest', 'smallest', got 'middle'"),
    (lambda: masks_from_scores([np.ones((1, 3))], [np.array([[1, 0, 1]])], 3), SettingError,
     r"n_keep must be an integer in \[0, 2\], got 3"),
    (lambda: masks_from_scores([np.ones((2, 2))], [np.ones((2, 3))], 1), ValueError,
     r"masks\[0\] must have the shape of weights\[0\], \(2, 2\), got \(2, 3\)"),
    (lambda: masks_from_scores([np.ones((2, 2)), np.ones(2)], [np.ones((2, 2))], 1), ValueError, "same length"),
    (lambda: masks_from_scores([np.array([[np.nan, 1.0]])], [np.ones((1, 2))], 1), ValueError,
     r"scores\[0\] must hold finite numbers"),
    (lambda: synflow_masks(MLP((3, 2)), 1, iterations=0), SettingError, "iterations must be an integer >= 1"),
    (lambda: synflow_masks(MLP((3, 2)), 7), SettingError, r"n_keep must be an integer in \[0, 6\], got 7"),
    (lambda: hessian_vector_product(MLP((3, 2)), np.ones((1, 3)), [0], []), ValueError, "vectors must hold 1"),
    (lambda: hessian_vector_product(MLP((3, 2)), np.ones((1, 3)), [0], [np.ones((2, 3))]), ValueError,
     r"vectors\[0\] must have shape \(3, 2\)"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
