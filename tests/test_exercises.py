"""The graded exercises: the library's answer passes every check; realistic wrong answers fail, diagnosed."""
import functools

import numpy as np
import pytest

from lottery_np.exercises import (CheckResult, check_adam_step, check_early_stopping_iteration,
                                  check_fixed_rate_schedule, check_global_schedule, check_gradient,
                                  check_masked_backward, check_masked_forward, check_prune_global,
                                  check_prune_layerwise, check_rewind, numerical_gradient, reference, relative_error)
from lottery_np.exercises.pruning import wrong_prune
from lottery_np.exercises.training import wrong_adam
from lottery_np.model import MLP
from lottery_np.validation import SettingError

CHECKS = {
    "masked_forward": (check_masked_forward, reference.masked_forward),
    "masked_backward": (check_masked_backward, reference.masked_backward),
    "prune_layerwise": (check_prune_layerwise, reference.prune_layerwise),
    "prune_global": (check_prune_global, reference.prune_global),
    "fixed_rate_schedule": (check_fixed_rate_schedule, reference.fixed_rate_schedule),
    "global_schedule": (check_global_schedule, reference.global_schedule),
    "rewind": (check_rewind, reference.rewind),
    "early_stopping_iteration": (check_early_stopping_iteration, reference.early_stopping_iteration),
    "adam_step": (check_adam_step, reference.adam_step),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("seed", [0, 7])
def test_the_library_passes_every_check(name, seed):
    check, solution = CHECKS[name]
    result = check(solution, points=2.5, seed=seed)
    assert result.passed and result.points == 2.5, result.feedback
    assert result.exercise == name and "random" in result.feedback


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_raising_function_gets_feedback_not_a_traceback(name):
    def student(*args):
        raise RuntimeError("not implemented yet")

    result = CHECKS[name][0](student)
    assert not result.passed and result.points == 0
    assert "It raised RuntimeError: not implemented yet" in result.feedback
    assert "line" in result.feedback and "raise RuntimeError" in result.feedback  # the student's line


def test_a_result_reads_as_one_paragraph_and_can_fail_a_cell():
    result = check_masked_forward(lambda X, W, M, b: X @ W + b, points=3)
    assert "\n" not in result.feedback and str(result).startswith("masked_forward: FAILED (0/3 points). Wrong on")
    with pytest.raises(AssertionError, match="without the mask"):
        result.assert_passed()
    check_masked_forward(reference.masked_forward).assert_passed()
    assert repr(result) == str(result)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="student_function must be callable, got int"):
        check_rewind(3)
    with pytest.raises(SettingError, match="points"):
        check_rewind(reference.rewind, points=-1)
    with pytest.raises(SettingError, match="bias_correction"):
        check_adam_step(reference.adam_step, bias_correction="none")


def failing(check, student, *words, **options) -> CheckResult:
    """The result of a check a wrong solution must fail, its feedback naming ``words``."""
    result = check(student, **options)
    assert not result.passed and result.points == 0, result.feedback
    for word in words:
        assert word in result.feedback, result.feedback
    return result


# --------------------------------------------------------------------------- a masked layer
def test_masked_forward_wrong_solutions():
    failing(check_masked_forward, lambda X, W, M, b: X @ W + b, "non-zero values under pruned weights",
            "without the mask", "hides this")
    failing(check_masked_forward, lambda X, W, M, b: X @ (W * M), "without the bias")
    failing(check_masked_forward, lambda X, W, M, b: np.maximum(X @ (W * M) + b, 0), "ReLU comes after")
    failing(check_masked_forward, lambda X, W, M, b: ((W * M).T @ X.T).T.T + b[:, None], "transpose's shape")


def test_masked_backward_names_the_product_whose_mask_is_forgotten():
    def dX_unmasked(X, W, M, dZ):
        return dZ @ W.T, (X.T @ dZ) * M, dZ.sum(axis=0)

    def dW_unmasked(X, W, M, dZ):
        return dZ @ (W * M).T, X.T @ dZ, dZ.sum(axis=0)

    def db_mean(X, W, M, dZ):
        return dZ @ (W * M).T, (X.T @ dZ) * M, dZ.mean(axis=0)

    result = failing(check_masked_backward, dX_unmasked, "Your dX is exactly dZ @ W.T", "dW and db are right")
    assert "non-zero values under pruned weights" in result.feedback  # a dense layer does not show it
    failing(check_masked_backward, dW_unmasked, "Your dW is exactly X.T @ dZ, not masked", "dX and db are right")
    failing(check_masked_backward, db_mean, "Your db is exactly the mean of dZ", "sum over the samples")


# --------------------------------------------------------------------------- one round of pruning
def student_layerwise(weights, masks, n_keep, *, use_mask=True, descending=True, at_least=False):
    """Pruning as students write it, with a switch for each classic mistake."""
    new = []
    for w, m, k in zip(weights, masks, n_keep):
        scores = np.where(np.asarray(m) != 0, np.abs(w), -1.0) if use_mask else np.abs(w)
        if at_least:  # a threshold: everything at least the k-th largest
            keep = scores >= np.sort(scores, axis=None)[::-1][k - 1]
        else:  # sorting ascending and reversing puts the higher index first among ties
            order = (np.argsort(-scores, axis=None, kind="stable") if descending
                     else np.argsort(scores, axis=None, kind="stable")[::-1])
            keep = np.zeros(w.size, dtype=bool)
            keep[order[:k]] = True
        new.append(keep.reshape(w.shape).astype(float))
    return new


def test_prune_layerwise_wrong_solutions():
    failing(check_prune_layerwise, functools.partial(student_layerwise, use_mask=False),
            "non-zero values under pruned weights", "You revive", "pruned ones included")
    failing(check_prune_layerwise, functools.partial(student_layerwise, at_least=True), "ties in magnitude",
            "You keep [5, 3] weights per layer, n_keep asks for [2, 2]", ">= t")
    failing(check_prune_layerwise, functools.partial(student_layerwise, descending=False), "ties in magnitude",
            "higher flat index", "lower flat index")
    failing(check_prune_layerwise, lambda w, m, k: [np.asarray(x) for x in m], "You keep [6, 6] weights")


def test_prune_layerwise_wrong_solutions_by_sign_and_count():
    def signed(weights, masks, n_keep):  # ranks w, not |w|
        return [(np.argsort(np.argsort(-np.where(m != 0, w, -np.inf), axis=None, kind="stable"))
                 .reshape(w.shape) < k).astype(float) for w, m, k in zip(weights, masks, n_keep)]

    failing(check_prune_layerwise, signed, "large negative weights", "signed value")
    failing(check_prune_layerwise, functools.partial(wrong_prune, removed=True), "number to remove")


def test_prune_global_wrong_solutions():
    def per_layer(weights, masks, n_keep):  # each layer at the same rate
        alive = [int(np.count_nonzero(m)) for m in masks]
        counts = [int(np.rint(n_keep * a / sum(alive))) for a in alive]
        return reference.prune_layerwise(weights, masks, counts)

    def revives(weights, masks, n_keep):
        return reference.prune_global(weights, [np.ones_like(m) for m in masks], n_keep)

    failing(check_prune_global, per_layer, "each layer alone at the same rate", "ranks the weights of all layers")
    failing(check_prune_global, revives, "You revive", "masks only shrink")
    failing(check_prune_global, functools.partial(wrong_prune, ties="high"), "ties", "higher flat index")


def unstable_layerwise(weights, masks, n_keep, *, as_type=np.float64):
    """NumPy's default sort of -|w|: not stable (``as_type=np.longdouble`` runs its generic introsort, no SIMD)."""
    new = []
    for w, m, k in zip(weights, masks, n_keep):
        alive = np.flatnonzero(np.ravel(m))
        order = alive[np.argsort(-np.abs(np.ravel(w)[alive]).astype(as_type))]
        keep = np.zeros(np.size(w))
        keep[order[:k]] = 1.0
        new.append(keep.reshape(np.shape(w)))
    return new


@pytest.mark.parametrize("as_type", [np.float64, np.longdouble], ids=["numpy's sort", "generic introsort"])
def test_an_unstable_sort_is_caught_on_a_long_tie_and_named(as_type):
    result = failing(check_prune_layerwise, functools.partial(unstable_layerwise, as_type=as_type),
                     "a larger layer, most of its weights tied at |w| = 0.5", "You keep the right number",
                     "an unstable sort", "kind='stable'", "(-|w|, index)")
    if as_type is np.float64:  # the very mistake, recognised
        assert "exactly what np.argsort without kind='stable' keeps" in result.feedback


def test_a_tie_rule_no_mistake_explains_is_said_to_be_the_tie_breaking():
    def shuffled_ties(weights, masks, n_keep):  # ties broken by a shuffle, then a stable sort
        new = []
        for w, m, k in zip(weights, masks, n_keep):
            alive = np.random.default_rng(1).permutation(np.flatnonzero(np.ravel(m)))
            keep = np.zeros(np.size(w))
            keep[alive[np.argsort(-np.abs(np.ravel(w)[alive]), kind="stable")][:k]] = 1.0
            new.append(keep.reshape(np.shape(w)))
        return new

    result = failing(check_prune_layerwise, shuffled_ties, "only your tie-breaking differs", "lower flat index wins")
    assert "Your masks are exactly" not in result.feedback


def test_a_column_major_ranking_is_caught_by_the_global_check():
    def column_major(weights, masks, n_keep):
        new = reference.prune_global([w.T for w in weights], [m.T for m in masks], n_keep)
        return [n.T for n in new]

    failing(check_prune_global, column_major, "a larger layer, most of its weights tied at |w| = 0.5",
            "flattening each layer column-major", "row-major")
    failing(check_prune_layerwise, functools.partial(wrong_prune, order="F"), "ties in magnitude", "column-major")


def test_a_count_one_short_is_named_as_such():
    def one_short(weights, masks, n_keep):
        return reference.prune_layerwise(weights, masks, [k - 1 for k in n_keep])

    failing(check_prune_layerwise, one_short, "You keep [2, 1] weights per layer, n_keep asks for [3, 2]",
            "one weight too few (n_keep - 1)", "one short", "order[:n_keep - 1]")
    failing(check_prune_global, lambda w, m, k: reference.prune_global(w, m, k - 1), "one short")
    failing(check_prune_global, lambda w, m, k: reference.prune_global(w, m, k + 1), "one over")
    # a strict threshold drops every weight tied with the n_keep-th: named as such where it is more than one
    failing(check_prune_layerwise, functools.partial(wrong_prune, ties="none"), "one short", "|w| > t")


def test_a_pruning_function_that_changes_its_inputs_is_caught():
    def in_place(weights, masks, n_keep):
        new = reference.prune_layerwise(weights, masks, n_keep)
        for m, n in zip(masks, new):
            m[...] = n
        return masks

    failing(check_prune_layerwise, in_place, "changed its input masks in place")


def test_the_wrong_pruning_with_no_mistake_switched_on_is_the_library():
    rng = np.random.default_rng(3)
    weights = [np.round(rng.normal(size=(5, 4)), 1), np.round(rng.normal(size=(4, 3)), 1)]
    masks = [(rng.random(w.shape) < 0.7).astype(np.float32) for w in weights]
    for ours, theirs in zip(wrong_prune(weights, masks, [6, 5]), reference.prune_layerwise(weights, masks, [6, 5])):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(wrong_prune(weights, masks, 9), reference.prune_global(weights, masks, 9)):
        np.testing.assert_array_equal(ours, theirs)


# --------------------------------------------------------------------------- schedules and rewinding
def test_fixed_rate_schedule_wrong_solutions():
    def truncating(layer_sizes, factors, rate, rounds):
        counts = [list(layer_sizes)]
        for _ in range(rounds):
            counts.append([n - int(rate * f * n) for n, f in zip(counts[-1], factors)])
        return counts

    def of_the_original(layer_sizes, factors, rate, rounds):
        return [[max(n - r * round(rate * f * n), 0) for n, f in zip(layer_sizes, factors)] for r in range(rounds + 1)]

    def half_up(layer_sizes, factors, rate, rounds):
        counts = [np.array(layer_sizes)]
        for _ in range(rounds):
            counts.append(counts[-1] - np.floor(rate * np.array(factors) * counts[-1] + 0.5).astype(int))
        return np.array(counts)

    failing(check_fixed_rate_schedule, truncating, "truncating p n")
    failing(check_fixed_rate_schedule, of_the_original, "original count", "still remaining")
    failing(check_fixed_rate_schedule, half_up, "rounding halves up", "half to even")
    failing(check_fixed_rate_schedule, lambda s, f, p, r: reference.fixed_rate_schedule(s, f, p, r)[1:],
            "no row for round 0")


def test_global_schedule_wrong_solutions():
    failing(check_global_schedule, lambda n, s, r: [round(n * (1 - s * k / r)) for k in range(r + 1)],
            "falling linearly", "geometrically")
    failing(check_global_schedule, lambda n, s, r: [int(n * (1 - s) ** (k / r)) for k in range(r + 1)], "truncating")


def test_rewind_wrong_solutions():
    def keeps_training(initial_weights, trained_weights, masks):
        return [w * m for w, m in zip(trained_weights, masks)]

    def unmasked(initial_weights, trained_weights, masks):
        return [w.copy() for w in initial_weights]

    def in_place(initial_weights, trained_weights, masks):
        for w, m in zip(initial_weights, masks):
            w[m == 0] = 0.0
        return initial_weights

    def mask_from_training(initial_weights, trained_weights, masks):
        return [np.where(t != 0, w, 0.0) for w, t in zip(initial_weights, trained_weights)]

    failing(check_rewind, keeps_training, "must be back at its initial value", "learning-rate rewinding")
    failing(check_rewind, unmasked, "must be exactly 0.0", "not masked")
    failing(check_rewind, in_place, "changed initial_weights in place")
    failing(check_rewind, mask_from_training, "trained to exactly 0.0", "take the mask from masks")


def test_rewind_in_another_dtype_is_caught():
    def in_float64(initial_weights, trained_weights, masks):
        return [np.where(m != 0, w, 0).astype(np.float64) for w, m in zip(initial_weights, masks)]

    failing(check_rewind, in_float64, "holds the right values but is float64, the initial weights are float32",
            "initial weights' dtype")
    assert check_rewind(lambda initial, trained, masks: [w * m for w, m in zip(initial, masks)]).passed


# --------------------------------------------------------------------------- training
def test_early_stopping_wrong_solutions():
    def last_of_ties(iterations, val_loss):
        best = 0
        for i, loss in enumerate(val_loss):
            if loss <= val_loss[best]:
                best = i
        return iterations[best]

    failing(check_early_stopping_iteration, lambda iterations, val_loss: int(np.argmin(val_loss)),
            "Your iteration is 2, expected 200", "position of the lowest loss")
    failing(check_early_stopping_iteration, last_of_ties, "a tie for the lowest loss", "last of the tied")
    failing(check_early_stopping_iteration, lambda iterations, val_loss: iterations[-1], "last iteration evaluated")
    failing(check_early_stopping_iteration, lambda iterations, val_loss: "200", "not an iteration number")


def student_adam(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon, *, next_t=False,
                 mask_update=True, mask_grad=True, form="step_size", keep_moments=True):
    """Adam as students write it, with a switch for each classic mistake."""
    if next_t:
        t += 1  # "the step count starts at 0": off by one
    g = grad * mask if mask_grad else grad
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g ** 2
    if form == "moments":
        step = learning_rate * (m_new / (1 - beta1 ** t)) / (np.sqrt(v_new / (1 - beta2 ** t)) + epsilon)
    else:
        step = learning_rate * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m_new / (np.sqrt(v_new) + epsilon)
    if keep_moments:  # a pruned weight's moments come back as given
        m_new, v_new = np.where(mask != 0, m_new, m), np.where(mask != 0, v_new, v)
    return weights - (step * mask if mask_update else step), m_new, v_new


def test_adam_step_passes_both_forms_written_as_students_write_them():
    assert check_adam_step(student_adam).passed
    assert check_adam_step(functools.partial(student_adam, form="moments"), bias_correction="moments").passed
    assert check_adam_step(functools.partial(reference.adam_step, bias_correction="moments"),
                           bias_correction="moments").passed


def test_adam_step_wrong_solutions():
    failing(check_adam_step, functools.partial(student_adam, next_t=True), "t + 1", "off by one")
    failing(check_adam_step, functools.partial(student_adam, mask_update=False, mask_grad=False),
            "a gradient that is non-zero under pruned weights", "moved the pruned weight", "unmasked step")
    failing(check_adam_step, functools.partial(student_adam, mask_update=False),
            "with moments left under pruned weights", "gradient masked but not the update")
    failing(check_adam_step, functools.partial(student_adam, form="moments"), "'moments' form")
    failing(check_adam_step, wrong_adam(shift=-1), "NaN or infinity", "t - 1")
    failing(check_adam_step, wrong_adam(corrected=""), "without bias correction")


def test_adam_step_grades_the_moments_at_pruned_weights():
    failing(check_adam_step, functools.partial(student_adam, mask_grad=False, keep_moments=False),
            "a gradient that is non-zero under pruned weights", "Your m at the pruned weight m[0, 2] is 0.005, but it "
            "was given as 0", "must come back as given", "updating the moments with the unmasked gradient")
    failing(check_adam_step, functools.partial(student_adam, keep_moments=False),
            "step 3, with moments left under pruned weights", "Your m at the pruned weight", "masked gradient",
            "still decays them")


def test_adam_step_that_changes_its_inputs_is_caught_and_they_are_named():
    def weights_in_place(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon):
        new, m, v = student_adam(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon)
        weights -= weights - new
        return weights, m, v

    def all_in_place(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon):
        new_w, new_m, new_v = student_adam(weights, grad, m, v, t, mask, learning_rate, beta1, beta2, epsilon)
        for given, new in ((weights, new_w), (m, new_m), (v, new_v)):
            given[...] = new
        return weights, m, v

    failing(check_adam_step, weights_in_place, "the first step of a dense layer", "It changed its input weights in "
            "place (weights[0, 0] was 0.5, is now", "do not change the arrays you are given", "w -= step")
    failing(check_adam_step, all_in_place, "It changed its input weights, m and v in place")


def test_adam_cases_give_m_and_v_as_separate_arrays():
    seen = []

    def spy(weights, grad, m, v, *rest):
        seen.append(np.shares_memory(m, v))
        return reference.adam_step(weights, grad, m, v, *rest)

    assert check_adam_step(spy).passed
    assert seen and not any(seen)


def test_the_numpy_adam_with_no_mistake_switched_on_is_the_library():
    rng = np.random.default_rng(0)
    mask = (rng.random((4, 5)) < 0.5).astype(float)
    args = (rng.normal(size=(4, 5)) * mask, rng.normal(size=(4, 5)), rng.normal(size=(4, 5)) * 0.1,
            rng.random((4, 5)) * 1e-3, 7, mask, 1e-2, 0.9, 0.999, 1e-8)
    for form in ("step_size", "moments"):
        ours, theirs = wrong_adam(form=form)(*args), reference.adam_step(*args, bias_correction=form)
        assert relative_error(ours[0], theirs[0]) < 1e-12
        assert relative_error(ours[1], theirs[1]) < 1e-12 and relative_error(ours[2], theirs[2]) < 1e-12


# --------------------------------------------------------------------------- gradient checking
def test_relative_error_magnitudes():
    assert relative_error(np.ones(3), np.ones(3)) == 0.0
    assert relative_error(np.array([2.0]), np.array([2.0 + 2e-8])) == pytest.approx(5e-9)
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0  # tiny keeps 0/0 away
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.ones(2), np.ones(3))


def test_numerical_gradient_checks_the_model_backprop_with_a_mask():
    rng = np.random.default_rng(1)
    model = MLP((4, 3, 2), seed=0, dtype=np.float64)
    model.set_masks([(rng.random((4, 3)) < 0.6).astype(np.float32), np.ones((3, 2), np.float32)])
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 2, 5)
    _, grad_w, _ = model.backprop(X, y)

    def loss(W):
        trial = model.copy()
        trial.weights[0] = W * model.masks[0]  # as the network sees it
        return trial.loss(X, y)

    report = check_gradient(loss, model.weights[0], grad_w[0])
    assert report.passed and report.relative_error < 1e-7, report.feedback
    assert numerical_gradient(loss, model.weights[0])[model.masks[0] == 0].tolist() == [0.0] * int(
        (model.masks[0] == 0).sum())
    wrong = check_gradient(loss, model.weights[0], grad_w[0] * 2)
    assert not wrong.passed and "wrong" in wrong.feedback and wrong.relative_error > 1e-2
