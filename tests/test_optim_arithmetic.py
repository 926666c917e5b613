"""Float32 optimizer steps track a float64 run of the same formula to float32 rounding.

Every case feeds one sequence of 200 gradients (magnitudes from 1e-9 to 1e-1, so that
epsilon matters) to the float32 optimizer and to a float64 NumPy transcription of its
formula, starting from zero weights so that the comparison is not swamped by the
rounding of large weights. The bound asserted: the largest difference is at most
``2 sqrt(t) u`` times the largest displacement, with ``u = 2**-24`` float32's unit
roundoff and ``t = 200`` steps: rounding errors of a couple of units per step that add
up like a random walk. A systematic error does not: forming ``1 - beta2`` in float32
(the constant is then 1.3e-5 off) gives 6e-6 of the displacement, above the bound's
1.7e-6; measured runs of the correct kernels sit at 0.6-0.9e-6.
"""
import math

import numpy as np
import pytest

from lottery_np.engine.kernels import SparsityPattern
from lottery_np.optim import SGD, Adam

STEPS = 200
UNIT_ROUNDOFF = 2.0**-24
BOUND = 2 * math.sqrt(STEPS) * UNIT_ROUNDOFF


def adam_reference(w, gradients, lr, beta1, beta2, epsilon, form):
    """Adam in float64, transcribed from its formula (Kingma & Ba, Section 2 or Algorithm 1)."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if form == "step_size":
            w = w - lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + epsilon)
        else:
            w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + epsilon)
    return w


def sgd_reference(w, gradients, lr, momentum):
    """Heavy-ball SGD in float64: ``u <- mu u - lr g``, ``w <- w + u``."""
    u = np.zeros_like(w)
    for g in gradients:
        u = momentum * u - lr * g
        w = w + u
    return w


OPTIMIZERS = {
    "adam": (lambda: Adam(1e-3), lambda w, gs: adam_reference(w, gs, 1e-3, 0.9, 0.999, 1e-8, "step_size")),
    "adam-moments": (lambda: Adam(1e-3, bias_correction="moments"),
                     lambda w, gs: adam_reference(w, gs, 1e-3, 0.9, 0.999, 1e-8, "moments")),
    "sgd": (lambda: SGD(1e-2, momentum=0.9), lambda w, gs: sgd_reference(w, gs, 1e-2, 0.9)),
}


def gradient_sequence(shapes, rng):
    """``STEPS`` float32 gradients per layer, entries of magnitude 1e-9 .. 1e-1 with a drift."""
    scales = [10.0 ** rng.uniform(-9, -1, shape) for shape in shapes]
    return [[((rng.standard_normal(s) + 0.5) * scale).astype(np.float32) for s, scale in zip(shapes, scales)]
            for _ in range(STEPS)]


@pytest.mark.parametrize("density", [1.0, 0.3, 0.05])
@pytest.mark.parametrize("layout", ["indexed", "packed"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_steps_track_the_float64_formula(name, layout, density):
    """``indexed``: full weight matrices updated at the survivors' indices (the plain step);
    ``packed``: the survivors in contiguous arrays, updated whole (the packed sparse step)."""
    make, reference = OPTIMIZERS[name]
    rng = np.random.default_rng(7)
    shapes = [(40, 24), (24, 6)]
    patterns = [SparsityPattern.from_mask(rng.random(shape) < density if density < 1 else np.ones(shape))
                for shape in shapes]
    optimizer = make()
    sequence = gradient_sequence(shapes, rng)
    if layout == "indexed":
        params = [np.zeros(shape, np.float32) for shape in shapes]
        active = [None if p.is_dense else p.active for p in patterns]
    else:
        params = [np.zeros(p.active.size, np.float32) for p in patterns]
        active = None
    for gradients in sequence:
        optimizer.step(params, [p.gather(g) for p, g in zip(patterns, gradients)], active)
    for layer, pattern in enumerate(patterns):
        found = pattern.gather(params[layer]) if layout == "indexed" else params[layer]
        expected = reference(np.zeros(pattern.active.size), [pattern.gather(g).astype(np.float64) for g in
                                                                  (gs[layer] for gs in sequence)])
        error = np.abs(found.astype(np.float64) - expected).max()
        displacement = np.abs(expected).max()
        assert displacement > 0
        assert error <= BOUND * displacement, (
            f"layer {layer}: float32 is {error:.3g} from the float64 formula, "
            f"{error / displacement:.3g} of the displacement (bound {BOUND:.3g})")
        if layout == "indexed":
            assert (params[layer][pattern.mask == 0] == 0.0).all()


def test_the_two_adam_forms_differ_where_epsilon_matters():
    # A first gradient g = eps: the "moments" form compares sqrt(v_hat) = |g| with eps and steps lr / 2;
    # the "step_size" form compares sqrt(v) = sqrt(1 - beta2) |g| = 0.0316 |g| with eps and steps 16x less.
    steps = {}
    for form in Adam.FORMS:
        weight = np.zeros(1)
        Adam(1e-3, bias_correction=form).step([weight], [np.full(1, 1e-8)])
        steps[form] = -weight[0]
    np.testing.assert_allclose(steps["step_size"], 1e-3 * 0.0316227766 / (0.0316227766 + 1), rtol=1e-6)
    np.testing.assert_allclose(steps["moments"], 1e-3 / 2, rtol=1e-6)


@pytest.mark.parametrize("make, n_guards", [(Adam, 3), (lambda: SGD(0.05), 1)], ids=["adam", "sgd"])
@pytest.mark.parametrize("compact", [False, True], ids=["whole", "at-indices"])
def test_subnormal_state_is_flushed_and_no_weight_notices(make, n_guards, compact):
    """Weights whose gradient falls to 0 for good, or stays at 1e-20: their state would turn subnormal and stick.

    The same kernels run twice on one gradient sequence, once with the optimizer's own
    guards (the last ``n_guards`` constants of ``updates.ADAM_CONSTANTS`` or ``MOMENTUM_CONSTANTS``:
    ``tiny``, and Adam's floors for ``g`` and ``m``) and once with all of them 0, which flushes
    nothing. The floors keep subnormal numbers out of intermediate results, which only a clock
    can see (``benchmarks/README.md`` has the times); here they must leave every weight as it was.
    """
    n, stop = 64, 40  # the second quarter always gets 1e-20; after step 40 the first quarter gets nothing
    weights = np.random.default_rng(7).normal(0.0, 0.05, n).astype(np.float32)
    active = np.arange(0, 2 * n, 2) if compact else None  # every other entry of a twice-longer parameter
    runs = {}
    for name in ("guarded", "unguarded"):
        optimizer = make()
        param = np.zeros(2 * n, np.float32) if compact else weights.copy()
        if compact:
            param[active] = weights
        if name == "unguarded":  # the same compiled kernels, handed zeros for every guard
            constants = optimizer.constants
            optimizer.constants = lambda dtype: np.concatenate([constants(dtype)[:-n_guards], np.zeros(n_guards, dtype)])
        for t in range(1, 1500):
            grad = np.random.default_rng(t).normal(0.0, 1e-2, n).astype(np.float32)  # the same in both runs
            grad[n // 4:n // 2] = np.float32(1e-20)  # g * g is subnormal
            if t > stop:
                grad[:n // 4] = 0.0
            optimizer.step([param], [grad], None if active is None else [active])
        runs[name] = (param, list(optimizer.state[0].values()))  # Adam's m and v, SGD's velocity
    tiny = np.finfo(np.float32).tiny
    subnormal = {name: [int(np.count_nonzero((s != 0) & (np.abs(s) < tiny))) for s in state]
                 for name, (_, state) in runs.items()}
    assert all(subnormal["unguarded"]), "every state array must turn subnormal unguarded, or the test proves nothing"
    assert not any(subnormal["guarded"])
    assert np.array_equal(runs["guarded"][0].view(np.uint32), runs["unguarded"][0].view(np.uint32))
