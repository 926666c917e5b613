"""The masked-layer kernels against their NumPy reference, on every path.

The reference (``lottery_np.engine.kernels.reference``) is evaluated in float32 like
the kernels, so results may differ only by float32 rounding: ``rtol=1e-5`` and
an absolute tolerance of ``1e-5`` per term of the sum each entry adds up.
The layers' weights are exactly 0 where pruned, the precondition of the forward
and input-gradient products (as the model keeps them); one test shows what the
precondition is for.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_np.engine import kernels
from lottery_np.engine.kernels import SparsityPattern, dispatch, jitted, reference

# Few examples: each one is cheap once the kernels are compiled (that compilation,
# a few seconds, is paid once per machine thanks to Numba's cache).
KERNEL_SETTINGS = settings(deadline=None, max_examples=30)

PRODUCTS = {  # name -> (kernel, reference, the two arrays it takes, terms summed per entry)
    "forward": (kernels.masked_forward, reference.masked_forward, ("A", "W"), "fan_in"),
    "backward_input": (kernels.masked_backward_input, reference.masked_backward_input, ("dZ", "W"), "fan_out"),
    "backward_weights": (kernels.masked_backward_weights, reference.masked_backward_weights, ("A", "dZ"), "n"),
}


def make_layer(fan_in, fan_out, n, density, seed, empty_rows=0.0, empty_cols=0.0, dtype=np.float32):
    """A random layer: mask, weights (exactly 0 where pruned), activations and output errors."""
    rng = np.random.default_rng(seed)
    mask = rng.random((fan_in, fan_out)) < density
    mask[rng.random(fan_in) < empty_rows, :] = False
    mask[:, rng.random(fan_out) < empty_cols] = False
    return {
        "mask": mask.astype(dtype), "fan_in": fan_in, "fan_out": fan_out, "n": n,
        "W": np.where(mask, rng.standard_normal((fan_in, fan_out)), 0.0).astype(dtype),
        "A": rng.standard_normal((fan_in, n)).astype(dtype),
        "dZ": rng.standard_normal((fan_out, n)).astype(dtype),
    }


@st.composite
def layers(draw):
    sizes = st.integers(1, 70)
    return make_layer(
        draw(sizes), draw(sizes), draw(sizes),
        density=draw(st.sampled_from([0.0, 1.0, 0.02, 0.1, 0.5]) | st.floats(0.0, 1.0)),
        seed=draw(st.integers(0, 2**32 - 1)),
        empty_rows=draw(st.sampled_from([0.0, 0.3])),
        empty_cols=draw(st.sampled_from([0.0, 0.3])),
    )


def check_product(name, layer, **options):
    """Run product ``name`` with ``options`` and compare it with the reference; return the result."""
    kernel, ref, arrays, terms = PRODUCTS[name]
    args = [layer[a] for a in arrays]
    pattern = SparsityPattern.from_mask(layer["mask"])
    result = kernel(*args, pattern, **options)
    expected = ref(*args, layer["mask"])
    assert result.dtype == expected.dtype, f"{name}: dtype {result.dtype} != {expected.dtype}"
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5 * layer[terms], err_msg=f"{name} {options}")
    return result


@pytest.mark.parametrize("path", ["dense", "sparse", None])
@pytest.mark.parametrize("name", list(PRODUCTS))
@KERNEL_SETTINGS
@given(layer=layers())
def test_products_match_reference(name, path, layer):
    check_product(name, layer, path=path)


@pytest.mark.parametrize("name", ["forward", "backward_input"])
def test_the_dense_path_relies_on_pruned_weights_being_zero(name):
    """Weights that break the precondition: the dense path reads them as they are, the others mask them."""
    layer = make_layer(30, 20, 10, density=0.3, seed=11)
    layer["W"] = layer["W"] + (1 - layer["mask"])  # 1.0 at every pruned entry
    kernel, ref, arrays, _ = PRODUCTS[name]
    args = [layer[a] for a in arrays]
    pattern = SparsityPattern.from_mask(layer["mask"])
    expected = ref(*args, layer["mask"])
    for path in ("sparse", "reference"):
        np.testing.assert_allclose(kernel(*args, pattern, path=path), expected, rtol=1e-5, atol=1e-4)
    unmasked = ref(*args, np.ones_like(layer["mask"]))
    np.testing.assert_allclose(kernel(*args, pattern, path="dense"), unmasked, rtol=1e-5, atol=1e-4)
    assert not np.allclose(unmasked, expected)


@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_serial_and_parallel_builds_match_reference(build):
    """Both builds of each kernel, on rows with every remainder of the eight- and four-at-a-time loops."""
    layer = make_layer(97, 61, 67, density=0.3, seed=1, empty_rows=0.1, empty_cols=0.1)
    pattern = SparsityPattern.from_mask(layer["mask"])
    assert len(set(np.diff(pattern.csr_indptr) % 8)) == 8 and len(set(np.diff(pattern.csc_indptr) % 8)) == 8
    spmm, sddmm = getattr(jitted, f"spmm_{build}"), getattr(jitted, f"sddmm_{build}")
    W, A, dZ, mask = layer["W"], layer["A"], layer["dZ"], layer["mask"]

    Z = np.full((61, 67), np.nan, dtype=np.float32)
    spmm(pattern.csc_indptr, pattern.csc_indices, pattern.gather_by_output(W), A, Z)
    np.testing.assert_allclose(Z, reference.masked_forward(A, W, mask), rtol=1e-5, atol=1e-5 * 97)
    dA = np.full((97, 67), np.nan, dtype=np.float32)
    spmm(pattern.csr_indptr, pattern.csr_indices, pattern.gather(W), dZ, dA)
    np.testing.assert_allclose(dA, reference.masked_backward_input(dZ, W, mask), rtol=1e-5, atol=1e-5 * 61)
    dW = reference.masked_backward_weights(A, dZ, mask)
    by_input = np.full(pattern.active.size, np.nan, dtype=np.float32)
    sddmm(pattern.csr_indptr, pattern.csr_indices, A, dZ, by_input)
    np.testing.assert_allclose(by_input, pattern.gather(dW), rtol=1e-5, atol=1e-5 * 67)
    by_output = np.full(pattern.active.size, np.nan, dtype=np.float32)
    sddmm(pattern.csc_indptr, pattern.csc_indices, dZ, A, by_output)
    np.testing.assert_allclose(by_output, pattern.gather_by_output(dW), rtol=1e-5, atol=1e-5 * 67)


@pytest.mark.parametrize("path", ["dense", "sparse", "reference"])
@KERNEL_SETTINGS
@given(layer=layers())
def test_surviving_weight_gradients_are_the_full_gradient_at_the_survivors(path, layer):
    pattern = SparsityPattern.from_mask(layer["mask"])
    values = kernels.surviving_weight_gradients(layer["A"], layer["dZ"], pattern, path)
    assert values.shape == (pattern.active.size,) and values.dtype == np.float32
    dense = kernels.masked_backward_weights(layer["A"], layer["dZ"], pattern, path)
    np.testing.assert_array_equal(values, dense.ravel()[pattern.active])


def test_pattern_gather_and_scatter_are_inverse_on_the_survivors():
    layer = make_layer(13, 7, 1, density=0.4, seed=9)
    pattern = SparsityPattern.from_mask(layer["mask"])
    packed = pattern.gather(layer["W"])
    np.testing.assert_array_equal(packed, layer["W"][layer["mask"] == 1])  # C order = active order
    unpacked = pattern.scatter(packed)
    np.testing.assert_array_equal(unpacked, layer["W"] * layer["mask"])
    assert not np.signbit(unpacked[layer["mask"] == 0]).any()
    # by output: the same survivors grouped by column, rows sorted within each
    by_output = pattern.gather_by_output(layer["W"])
    np.testing.assert_array_equal(by_output, layer["W"].T[layer["mask"].T == 1])
    np.testing.assert_array_equal(by_output, packed[pattern.csc_order])
    rows, cols = np.divmod(pattern.csc_active, 7)
    np.testing.assert_array_equal(rows, pattern.csc_indices)
    assert np.all(np.diff(cols) >= 0)


@KERNEL_SETTINGS
@given(size=st.integers(1, 500), picked=st.integers(0, 600), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_take_equals_fancy_indexing(size, picked, dtype, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(size).astype(dtype)
    values[rng.random(size) < 0.2] = -0.0  # signed zeros are copied as they are
    indices = rng.integers(0, size, picked)
    taken = jitted.take(values, indices)
    assert taken.dtype == dtype and taken.shape == (picked,)
    assert taken.tobytes() == values[indices].tobytes()


def test_pattern_gathers_refuse_a_matrix_of_another_shape():
    pattern = SparsityPattern.from_mask(make_layer(13, 7, 1, density=0.4, seed=9)["mask"])
    for gather in (pattern.gather, pattern.gather_by_output):
        with pytest.raises(ValueError, match=r"matrix must have the pattern's shape \(13, 7\), got \(7, 13\)"):
            gather(np.zeros((7, 13), np.float32))
        with pytest.raises(ValueError, match="got \\(91,\\)"):
            gather(np.zeros(91, np.float32))


# ------------------------------------------------------------------ edge cases
@pytest.mark.parametrize("path", ["dense", "sparse", "reference"])
def test_all_zero_mask_gives_zeros(path):
    layer = make_layer(9, 5, 4, density=0.0, seed=2)
    pattern = SparsityPattern.from_mask(layer["mask"])
    assert pattern.active.size == 0 and pattern.density == 0.0
    assert not kernels.masked_forward(layer["A"], layer["W"], pattern, path=path).any()
    assert not kernels.masked_backward_input(layer["dZ"], layer["W"], pattern, path=path).any()
    assert not kernels.masked_backward_weights(layer["A"], layer["dZ"], pattern, path=path).any()


@pytest.mark.parametrize("path", ["dense", "sparse"])
def test_weight_gradient_is_exactly_zero_where_pruned(path):
    layer = make_layer(40, 30, 20, density=0.2, seed=3)
    dW = kernels.masked_backward_weights(layer["A"], layer["dZ"], SparsityPattern.from_mask(layer["mask"]), path=path)
    pruned = layer["mask"] == 0
    assert np.all(dW[pruned] == 0.0)
    if path == "sparse":  # zeroed, never multiplied: +0.0 bit for bit
        assert not np.signbit(dW[pruned]).any()


@pytest.mark.parametrize("path", [None, "reference"])
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_float64_takes_the_reference_path(name, path):
    layer = make_layer(12, 7, 5, density=0.4, seed=4, dtype=np.float64)
    kernel, ref, arrays, _ = PRODUCTS[name]
    args = [layer[a] for a in arrays]
    result = kernel(*args, SparsityPattern.from_mask(layer["mask"]), path=path)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, ref(*args, layer["mask"]))


@pytest.mark.parametrize("force", [False, True], ids=["argument", "forced_path"])
@pytest.mark.parametrize("path", ["dense", "sparse"])
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_float64_on_a_float32_path_is_refused_not_rerouted(name, path, force):
    layer = make_layer(12, 7, 5, density=0.4, seed=4, dtype=np.float64)
    kernel, _, arrays, _ = PRODUCTS[name]
    args = [layer[a] for a in arrays] + [SparsityPattern.from_mask(layer["mask"])]
    with pytest.raises(ValueError, match=f"the {path} path computes in float32; float64 arrays take the reference"):
        if force:
            with kernels.forced_path(path):
                kernel(*args)
        else:
            kernel(*args, path=path)


def test_mixed_precision_is_computed_in_float64():
    layer = make_layer(12, 7, 5, density=0.4, seed=5)
    Z = kernels.masked_forward(layer["A"].astype(np.float64), layer["W"], SparsityPattern.from_mask(layer["mask"]))
    assert Z.dtype == np.float64


def test_other_dtypes_and_layouts_are_converted_to_float32():
    layer = make_layer(12, 7, 5, density=0.4, seed=6)
    pattern = SparsityPattern.from_mask(layer["mask"])
    A_f16 = layer["A"].astype(np.float16)
    W_fortran = np.asfortranarray(layer["W"])
    for path in ("dense", "sparse"):
        Z = kernels.masked_forward(A_f16, W_fortran, pattern, path=path)
        assert Z.dtype == np.float32
        expected = reference.masked_forward(A_f16.astype(np.float32), layer["W"], layer["mask"])
        np.testing.assert_allclose(Z, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("density, path", [(0.01, "sparse"), (1.0, "dense")])
def test_automatic_path_follows_choose_path(density, path, monkeypatch):
    monkeypatch.setattr(dispatch, "CROSSOVER_DENSITY", 0.5)
    layer = make_layer(50, 40, 30, density=density, seed=7)
    pattern = SparsityPattern.from_mask(layer["mask"])
    assert kernels.choose_path(pattern.density) == path
    forced = kernels.masked_backward_weights(layer["A"], layer["dZ"], pattern, path=path)
    np.testing.assert_array_equal(kernels.masked_backward_weights(layer["A"], layer["dZ"], pattern), forced)


def test_choose_path_switches_at_the_crossover():
    crossover = dispatch.CROSSOVER_DENSITY
    assert 0.0 < crossover < 1.0
    assert kernels.choose_path(0.0) == "sparse"
    assert kernels.choose_path(np.nextafter(crossover, 0.0)) == "sparse"
    assert kernels.choose_path(crossover) == "dense"
    assert kernels.choose_path(1.0) == "dense"
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="density"):
            kernels.choose_path(bad)


# ------------------------------------------------------------------ validation
@pytest.fixture
def small():
    layer = make_layer(6, 4, 3, density=0.5, seed=8)
    layer["pattern"] = SparsityPattern.from_mask(layer["mask"])
    return layer


@pytest.mark.parametrize("call, argument", [
    (lambda s: kernels.masked_forward(s["A"][:, 0], s["W"], s["pattern"]), "A"),
    (lambda s: kernels.masked_forward(s["A"][:5], s["W"], s["pattern"]), "A"),
    (lambda s: kernels.masked_forward(s["A"], s["W"].T, s["pattern"]), "weights"),
    (lambda s: kernels.masked_forward(s["A"], s["W"][None], s["pattern"]), "weights"),
    (lambda s: kernels.masked_backward_input(s["A"], s["W"], s["pattern"]), "dZ"),
    (lambda s: kernels.masked_backward_input(s["dZ"], s["W"][:, :3], s["pattern"]), "weights"),
    (lambda s: kernels.masked_backward_weights(s["A"], s["dZ"][:, :2], s["pattern"]), "n_samples"),
    (lambda s: kernels.masked_backward_weights(s["A"], s["dZ"][:3], s["pattern"]), "dZ"),
    (lambda s: kernels.surviving_weight_gradients(s["A"], s["dZ"][:, :2], s["pattern"]), "n_samples"),
    (lambda s: kernels.masked_forward(s["A"], s["W"], s["pattern"], path="fast"), "path"),
    (lambda s: SparsityPattern.from_mask(s["mask"][0]), "mask"),
    (lambda s: SparsityPattern.from_mask(s["mask"] * 2), "mask"),
])
def test_bad_input_raises_value_error_naming_it(small, call, argument):
    with pytest.raises(ValueError, match=rf"\b{argument}\b"):
        call(small)


def test_bad_types_raise_type_error(small):
    with pytest.raises(TypeError, match="pattern"):
        kernels.masked_forward(small["A"], small["W"], small["mask"])
    with pytest.raises(TypeError, match="A"):
        kernels.masked_forward(small["A"].astype(complex), small["W"], small["pattern"])


# ------------------------------------------------------------------ pattern
@KERNEL_SETTINGS
@given(layer=layers())
def test_pattern_indexes_exactly_the_surviving_weights(layer):
    mask = layer["mask"]
    pattern = SparsityPattern.from_mask(mask.astype(bool))
    fan_in, fan_out = mask.shape
    assert pattern.mask.dtype == np.float32 and pattern.mask.flags.c_contiguous
    np.testing.assert_array_equal(pattern.active, np.flatnonzero(mask))
    assert pattern.density == mask.sum() / mask.size
    rebuilt_by_row, rebuilt_by_column = np.zeros_like(mask), np.zeros_like(mask)
    for i in range(fan_in):
        row = pattern.csr_indices[pattern.csr_indptr[i]:pattern.csr_indptr[i + 1]]
        assert np.all(np.diff(row) > 0)
        rebuilt_by_row[i, row] = 1
    for j in range(fan_out):
        column = pattern.csc_indices[pattern.csc_indptr[j]:pattern.csc_indptr[j + 1]]
        assert np.all(np.diff(column) > 0)
        rebuilt_by_column[column, j] = 1
    np.testing.assert_array_equal(rebuilt_by_row, mask)
    np.testing.assert_array_equal(rebuilt_by_column, mask)


def test_pattern_keeps_its_own_copy_of_the_mask():
    mask = np.ones((3, 2), dtype=np.float32)
    pattern = SparsityPattern.from_mask(mask)
    mask[0, 0] = 0
    assert pattern.mask[0, 0] == 1 and pattern.active.size == 6
