"""Bad data is refused before training, by one rule, with a message naming the array and the place.

Every probe of ``BAD_SPLITS`` runs through the three ways data enters the library:
``Dataset(...)``, ``as_dataset(namespace)`` and ``as_dataset((X, y), validation=..., test=...)``.
"""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from lottery_np.data import PAPER_VALIDATION_SIZE, Dataset, as_dataset, load_fashion_mnist, load_mnist, write_idx
from lottery_np.data import paths
from lottery_np.data.idx import read_idx

SIZES = {"train": 8, "val": 4, "test": 3}
N_FEATURES = 6


def good_arrays():
    """Valid splits: 8 train, 4 validation and 3 test samples of 6 float32 features, labels 0..2."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in SIZES.items():
        arrays[f"X_{split}"] = rng.random((n, N_FEATURES), dtype=np.float32)
        arrays[f"y_{split}"] = np.arange(n) % 3
    return arrays


def put(array, values, dtype=None):
    """A copy of ``array`` (cast to ``dtype``) with ``values`` ({index: value}) written in."""
    array = array.astype(dtype or array.dtype)
    for index, value in values.items():
        array[index] = value
    return array


CONSTRUCTORS = {
    "Dataset": lambda arrays: Dataset(**arrays),
    "as_dataset(namespace)": lambda arrays: as_dataset(SimpleNamespace(**arrays)),
    "as_dataset(pair)": lambda arrays: as_dataset(
        (arrays["X_train"], arrays["y_train"]), validation=(arrays["X_val"], arrays["y_val"]),
        test=(arrays["X_test"], arrays["y_test"])),
}

# (array -> its replacement, keyed by the array's name), exception type, text the message must contain.
BAD_SPLITS = [
    # Features: 2-D, the same number of columns in every split.
    pytest.param({"X_train": lambda X: X[:, 0]}, ValueError,
                 "X_train must be 2-D of shape (n_samples, n_features) with n_features >= 1, got shape (8,)",
                 id="X_train 1-D"),
    pytest.param({"X_val": lambda X: X.reshape(4, 2, 3)}, ValueError,
                 "X_val must be 2-D of shape (n_samples, n_features)", id="X_val 3-D"),
    pytest.param({"X_train": lambda X: X[:, :0]}, ValueError, "n_features >= 1, got shape (8, 0)",
                 id="X_train without features"),
    pytest.param({"X_val": lambda X: X[:, :5]}, ValueError,
                 "X_val must have 6 features like X_train, got shape (4, 5)", id="X_val 5 features"),
    pytest.param({"X_test": lambda X: np.hstack([X, X[:, :1]])}, ValueError,
                 "X_test must have 6 features like X_train, got shape (3, 7)", id="X_test 7 features"),
    # Features: real numbers only.
    pytest.param({"X_train": lambda X: X > 0.5}, ValueError, "X_train must hold real numbers, got dtype bool",
                 id="X_train bool"),
    pytest.param({"X_val": lambda X: X.astype(object)}, ValueError,
                 "X_val must hold real numbers, got dtype object", id="X_val object"),
    pytest.param({"X_val": lambda X: None}, ValueError, "X_val must hold real numbers, got dtype object",
                 id="X_val None"),
    pytest.param({"X_test": lambda X: X + 1j}, ValueError, "X_test must hold real numbers, got dtype complex64",
                 id="X_test complex"),
    pytest.param({"X_train": lambda X: X.astype(str)}, ValueError, "X_train must hold real numbers, got dtype <U",
                 id="X_train strings"),
    pytest.param({"X_val": lambda X: [list(row) for row in X[:3]] + [[0.5]]}, ValueError,
                 "X_val could not be read as an array", id="X_val ragged list"),
    # Features: finite, with the first bad position and value named.
    pytest.param({"X_train": lambda X: put(X, {(2, 4): np.nan})}, ValueError,
                 "X_train holds nan at row 2, column 4; remove or impute non-finite values before training",
                 id="nan in X_train"),
    pytest.param({"X_val": lambda X: put(X, {(1, 0): np.inf})}, ValueError,
                 "X_val holds inf at row 1, column 0;", id="inf in X_val"),
    pytest.param({"X_test": lambda X: put(X, {(2, 5): -np.inf})}, ValueError,
                 "X_test holds -inf at row 2, column 5;", id="-inf in X_test"),
    pytest.param({"X_train": lambda X: put(X, {(5, 0): np.nan, (1, 4): np.nan, (1, 3): np.inf})}, ValueError,
                 "X_train holds inf at row 1, column 3;", id="first of several bad values named"),
    pytest.param({"X_val": lambda X: put(X, {(0, 0): np.nan}, np.float64)}, ValueError,
                 "X_val holds nan at row 0, column 0;", id="nan in float64 X_val"),
    pytest.param({"X_test": lambda X: put(X, {(1, 1): np.inf}, np.float16)}, ValueError,
                 "X_test holds inf at row 1, column 1;", id="inf in float16 X_test"),
    # Labels: one per row.
    pytest.param({"y_val": lambda y: y[:3]}, ValueError,
                 "y_val must have shape (4,), one class label per row of X_val, got shape (3,)", id="y_val short"),
    pytest.param({"y_train": lambda y: np.eye(3, dtype=np.int64)[y]}, ValueError,
                 "y_train must have shape (8,), one class label per row of X_train, got shape (8, 3)",
                 id="y_train one-hot"),
    pytest.param({"y_test": lambda y: np.int64(1)}, ValueError, "y_test must have shape (3,)", id="y_test scalar"),
    # Labels: integers, or floats holding whole numbers.
    pytest.param({"y_train": lambda y: y > 0}, ValueError, "y_train must hold integer class labels, got dtype bool",
                 id="y_train bool"),
    pytest.param({"y_val": lambda y: y.astype(object)}, ValueError,
                 "y_val must hold integer class labels, got dtype object", id="y_val object"),
    pytest.param({"y_test": lambda y: y.astype(str)}, ValueError,
                 "y_test must hold integer class labels, got dtype <U", id="y_test strings"),
    pytest.param({"y_train": lambda y: y + 0j}, ValueError,
                 "y_train must hold integer class labels, got dtype complex128", id="y_train complex"),
    pytest.param({"y_val": lambda y: put(y, {3: 2.5}, np.float64)}, ValueError,
                 "y_val must hold integer class labels, got float64 with non-integral values "
                 "(first at position 3: 2.5)", id="y_val non-integral"),
    pytest.param({"y_train": lambda y: put(y, {0: np.nan, 4: 0.5}, np.float64)}, ValueError,
                 "y_train must hold integer class labels, got float64 with non-integral values "
                 "(first at position 0: nan)", id="nan label"),
    pytest.param({"y_test": lambda y: put(y, {2: np.inf}, np.float32)}, ValueError,
                 "got float32 with non-integral values (first at position 2: inf)", id="inf label"),
    pytest.param({"y_train": lambda y: put(y, {1: 1e30}, np.float64)}, ValueError,
                 "y_train must hold integer class labels, got float64", id="float label beyond int64"),
    # Labels: >= 0.
    pytest.param({"y_train": lambda y: put(y, {5: -1})}, ValueError,
                 "y_train must hold class labels >= 0, got -1 at position 5", id="negative label"),
    pytest.param({"y_val": lambda y: put(y, {1: -2.0}, np.float64)}, ValueError,
                 "y_val must hold class labels >= 0, got -2 at position 1", id="negative float label"),
    # Every split given holds at least one sample.
    pytest.param({"X_train": lambda X: X[:0], "y_train": lambda y: y[:0]}, ValueError,
                 "X_train is empty (shape (0, 6)); the training split needs at least 1 sample", id="empty train"),
    pytest.param({"X_val": lambda X: X[:0], "y_val": lambda y: y[:0]}, ValueError,
                 "X_val is empty (shape (0, 6)); the validation split needs at least 1 sample", id="empty val"),
    pytest.param({"X_test": lambda X: X[:0], "y_test": lambda y: y[:0]}, ValueError,
                 "X_test is empty (shape (0, 6)); the test split needs at least 1 sample", id="empty test"),
    # A test set is both arrays or neither.
    pytest.param({"y_test": lambda y: None}, ValueError,
                 "X_test and y_test must both be given or both be None, got X_test without y_test",
                 id="X_test without y_test"),
    pytest.param({"X_test": lambda X: None}, ValueError, "got y_test without X_test", id="y_test without X_test"),
]


@pytest.mark.parametrize("construct", CONSTRUCTORS.values(), ids=CONSTRUCTORS.keys())
@pytest.mark.parametrize("changes, error, text", BAD_SPLITS)
def test_bad_split_refused(construct, changes, error, text):
    arrays = good_arrays()
    arrays.update({key: change(arrays[key]) for key, change in changes.items()})
    with pytest.raises(error) as info:
        construct(arrays)
    assert text in str(info.value)


@pytest.mark.parametrize("construct", CONSTRUCTORS.values(), ids=CONSTRUCTORS.keys())
def test_good_splits_accepted(construct):
    data = construct(good_arrays())
    assert data.sizes == SIZES and data.n_classes == 3 and data.splits == ("train", "val", "test")
    assert data.name == "arrays" and data.image_shape == (N_FEATURES,)
    for key, array in good_arrays().items():
        np.testing.assert_array_equal(getattr(data, key), array, err_msg=key)
        assert not getattr(data, key).flags.writeable, key


BAD_IMAGE_SHAPES = [
    pytest.param((2, 2), "image_shape (2, 2) holds 4 pixels, but X_train has 6 features", id="wrong product"),
    pytest.param((2.0, 3), "image_shape must be a tuple of ints >= 1, got (2.0, 3)", id="float dimension"),
    pytest.param((0, 6), "image_shape must be a tuple of ints >= 1", id="zero dimension"),
    pytest.param(6, "image_shape must be a tuple of ints >= 1, got 6", id="not a tuple"),
]


IMAGE_SHAPE_CONSTRUCTORS = {
    "Dataset": lambda arrays, shape: Dataset(**arrays, image_shape=shape),
    "as_dataset(namespace)": lambda arrays, shape: as_dataset(SimpleNamespace(**arrays, image_shape=shape)),
}


@pytest.mark.parametrize("construct", IMAGE_SHAPE_CONSTRUCTORS.values(), ids=IMAGE_SHAPE_CONSTRUCTORS.keys())
@pytest.mark.parametrize("image_shape, text", BAD_IMAGE_SHAPES)
def test_bad_image_shape_refused(construct, image_shape, text):
    with pytest.raises(ValueError) as info:
        construct(good_arrays(), image_shape)
    assert text in str(info.value)


def test_name_and_image_shape_taken_from_namespace():
    data = as_dataset(SimpleNamespace(**good_arrays(), name="tiny", image_shape=(2, 3)))
    assert data.name == "tiny" and data.image_shape == (2, 3)


@pytest.mark.parametrize("dtype, stored", [(np.float32, np.float32), (np.float64, np.float64),
                                           (np.float16, np.float32), (np.uint8, np.float32),
                                           (np.int32, np.float32), (np.int64, np.float32)])
def test_feature_dtypes(dtype, stored):
    X = (np.arange(60).reshape(10, 6) % 7).astype(dtype)
    for data in (Dataset(X, np.zeros(10, np.int64), X, np.zeros(10, np.int64)),
                 as_dataset((X, np.zeros(10, np.int64)))):
        assert data.X_train.dtype == stored and data.X_val.dtype == stored
        np.testing.assert_array_equal(data.X_train, X[:len(data.X_train)].astype(stored))
    # float32 and float64 are kept without a copy.
    assert np.shares_memory(Dataset(X, np.zeros(10, np.int64), X, np.zeros(10, np.int64)).X_train, X) == (
        dtype in (np.float32, np.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32, np.uint8, np.int64])
def test_whole_labels_become_int64(dtype):
    y = np.array([0, 2, 1, 2, 0, 1, 2, 1, 0, 9], dtype=dtype)
    data = as_dataset((np.zeros((10, 2)), y))
    assert data.y_train.dtype == np.int64 and data.y_val.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([data.y_train, data.y_val]), y.astype(np.int64))
    assert data.n_classes == 10


def test_lists_accepted():
    data = as_dataset(([[0, 1], [1, 0], [1, 1]], [0, 1, 1]))
    assert data.sizes == {"train": 2, "val": 1} and data.X_train.dtype == np.float32


def test_without_test_set():
    arrays = good_arrays()
    del arrays["X_test"], arrays["y_test"]
    for data in (Dataset(**arrays), as_dataset(SimpleNamespace(**arrays)),
                 as_dataset(SimpleNamespace(**arrays, X_test=None, y_test=None))):
        assert data.X_test is None and data.y_test is None and data.splits == ("train", "val")
        assert data.sizes == {"train": 8, "val": 4} and data.n_classes == 3
        assert repr(data) == "Dataset(name='arrays', image_shape=(6,), train=8, val=4, no test set)"
        assert data.subset(n_train=2).sizes == {"train": 2, "val": 4}
        with pytest.raises(ValueError, match="n_test must be None for a dataset without a test set, got 1"):
            data.subset(n_test=1)


def test_subset_refuses_empty_split():
    with pytest.raises(ValueError, match=r"n_val must be an int in \[1, 4\] or None, got 0"):
        Dataset(**good_arrays()).subset(n_val=0)


# --- as_dataset: what it passes on, replaces and holds out -------------------------------------


def test_dataset_passes_through_and_splits_can_be_replaced():
    data = Dataset(**good_arrays())
    assert as_dataset(data) is data
    X_new, y_new = np.ones((2, N_FEATURES)), np.array([4, 4])
    replaced = as_dataset(data, validation=(X_new, y_new))
    np.testing.assert_array_equal(replaced.X_val, X_new)
    assert np.shares_memory(replaced.X_train, data.X_train) and np.shares_memory(replaced.y_test, data.y_test)
    assert replaced.n_classes == 5
    tested = as_dataset(SimpleNamespace(**good_arrays()), test=(X_new, y_new))
    np.testing.assert_array_equal(tested.y_test, y_new)


def test_pair_with_validation_trains_on_all_rows():
    arrays = good_arrays()
    data = as_dataset((arrays["X_train"], arrays["y_train"]), validation=(arrays["X_val"], arrays["y_val"]))
    assert data.sizes == {"train": 8, "val": 4}
    data = as_dataset((arrays["X_train"], arrays["y_train"]), test=(arrays["X_test"], arrays["y_test"]))
    assert data.sizes == {"train": 7, "val": 1, "test": 3}


@pytest.mark.parametrize("n, n_val", [(2, 1), (9, 1), (10, 1), (100, 10), (49_999, 4_999), (50_000, 5_000),
                                      (60_000, PAPER_VALIDATION_SIZE)])
def test_pair_holds_out_last_rows(n, n_val):
    X, y = np.arange(n, dtype=np.float32)[:, None], np.arange(n) % 10
    data = as_dataset((X, y))
    assert data.sizes == {"train": n - n_val, "val": n_val}
    np.testing.assert_array_equal(data.X_val, X[n - n_val:])
    np.testing.assert_array_equal(data.y_train, y[:n - n_val])


BAD_CALLS = [
    pytest.param(lambda X, y: as_dataset(X), TypeError,
                 "data must be a Dataset, an object with attributes X_train, y_train, X_val, y_val, or a pair "
                 "(X, y), got ndarray", id="array as data"),
    pytest.param(lambda X, y: as_dataset((X, y, y)), TypeError, "or a pair (X, y), got tuple", id="3-tuple"),
    pytest.param(lambda X, y: as_dataset({"X": X, "y": y}), TypeError, "got dict", id="dict"),
    pytest.param(lambda X, y: as_dataset(SimpleNamespace(X_train=X, y_train=y, X_val=X)), TypeError,
                 "data must have attributes X_train, y_train, X_val, y_val; SimpleNamespace lacks y_val",
                 id="namespace without y_val"),
    pytest.param(lambda X, y: as_dataset((X, y), validation=X), TypeError,
                 "validation must be a pair (X_val, y_val), got ndarray", id="validation not a pair"),
    pytest.param(lambda X, y: as_dataset((X, y), test=(X, y, y)), TypeError,
                 "test must be a pair (X_test, y_test), got tuple", id="test not a pair"),
    pytest.param(lambda X, y: as_dataset((X, y[:-1])), ValueError,
                 "data must be a pair (X, y) with one label in y per row of X, got X of shape (20, 6) and y of "
                 "shape (19,)", id="pair lengths differ"),
    pytest.param(lambda X, y: as_dataset((np.float32(1), y)), ValueError, "got X of shape () and y of shape (20,)",
                 id="pair with scalar X"),
    pytest.param(lambda X, y: as_dataset((X[:1], y[:1])), ValueError,
                 "X_train is empty (shape (0, 6)); the training split needs at least 1 sample", id="pair of 1 row"),
    pytest.param(lambda X, y: as_dataset((put(X, {(0, 3): np.nan}), y)), ValueError,
                 "X_train holds nan at row 0, column 3", id="nan in first row of pair"),
    pytest.param(lambda X, y: as_dataset((put(X, {(19, 2): np.nan}), y)), ValueError,
                 "X_val holds nan at row 1, column 2", id="nan in held-out row of pair"),
    pytest.param(lambda X, y: as_dataset((X, put(y, {18: -3}))), ValueError,
                 "y_val must hold class labels >= 0, got -3 at position 0", id="negative held-out label"),
]


@pytest.mark.parametrize("call, error, text", BAD_CALLS)
def test_bad_call_refused(call, error, text):
    X, y = np.random.default_rng(1).random((20, N_FEATURES)), np.arange(20) % 4
    with pytest.raises(error) as info:
        call(X, y)
    assert text in str(info.value)


def test_error_in_cut_pair_says_which_rows_each_split_holds():
    X = np.zeros((20, 3))
    X[19, 2] = np.inf
    with pytest.raises(ValueError) as info:
        as_dataset((X, np.zeros(20, np.int64)))
    assert info.value.__notes__ == [
        "as_dataset cut the 20 rows of (X, y) in two: X_train holds the first 18, X_val the last 2 "
        "(its row 0 is row 18 of X)"]


# --- IDX files ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Point the cache at an empty folder and hide the environment and system folders."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "SYSTEM_FOLDERS", {})


@pytest.mark.parametrize("dims, code", [((2**31,) * 3, 0x08), ((2**16,) * 4, 0x08),
                                        ((2**32 - 1, 2**32 - 1), 0x08), ((2**31, 2**31, 2), 0x0E)],
                         ids=["2**93 bytes", "2**64 bytes", "just over int64", "float64"])
@pytest.mark.parametrize("payload", [b"", b"\x00" * 8], ids=["no payload", "8 bytes"])
def test_idx_dimensions_too_large_name_the_file(tmp_path, dims, code, payload):
    # int64 arithmetic wraps each of these to 0 or a negative byte count.
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes() + payload)
    itemsize = 8 if code == 0x0E else 1
    needed = itemsize * int(np.prod(np.asarray(dims, dtype=object)))
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert f"truncated, shape {dims} of" in str(info.value) and f"needs {needed} payload bytes" in str(info.value)


def write_mnist_like(folder, train_labels, test_labels):
    """Four IDX files of 2x3 images: 5003 training images (5000 are held out) and 3 test images."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [np.zeros((5003, 2, 3), np.uint8), np.asarray(train_labels, np.uint8),
              np.zeros((3, 2, 3), np.uint8), np.asarray(test_labels, np.uint8)]
    for name, array in zip(paths.IDX_FILES, arrays):
        write_idx(folder / f"{name}.gz", array)


LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
GOOD_TRAIN, GOOD_TEST = np.arange(5003) % 10, [9, 0, 1]


@pytest.mark.parametrize("name", LOADERS)
@pytest.mark.parametrize("train_labels, test_labels, file, text", [
    pytest.param(put(GOOD_TRAIN, {7: 200}), GOOD_TEST, "train-labels-idx1-ubyte.gz",
                 "labels must lie in 0..9, got 200 at position 7", id="200 in training labels"),
    pytest.param(GOOD_TRAIN, [0, 10, 255], "t10k-labels-idx1-ubyte.gz",
                 "labels must lie in 0..9, got 10 at position 1", id="10 in test labels"),
])
def test_idx_labels_beyond_nine_name_the_file(tmp_path, name, train_labels, test_labels, file, text):
    write_mnist_like(tmp_path / name, train_labels, test_labels)
    with pytest.raises(ValueError) as info:
        LOADERS[name](tmp_path, download=False)
    assert f"{tmp_path / name / file}: {text}" in str(info.value)


@pytest.mark.parametrize("name", LOADERS)
def test_idx_labels_up_to_nine_accepted(tmp_path, name):
    write_mnist_like(tmp_path / name, GOOD_TRAIN, GOOD_TEST)
    data = LOADERS[name](tmp_path, download=False)
    assert data.n_classes == 10 and data.sizes == {"train": 3, "val": 5000, "test": 3}


@pytest.mark.parametrize("value", [1e39, -1e39])
def test_features_beyond_float32_are_refused_naming_array_row_and_column(value):
    """Issue 24, class 7: a finite float64 beyond float32's range would train as infinity."""
    X = np.zeros((3, 4))
    X[1, 2] = value
    with pytest.raises(ValueError, match=re.escape(f"X_train holds {value:g} at row 1, column 2, beyond float32's")):
        as_dataset((X, np.array([0, 1, 0])))


def test_float32_extremes_are_kept():
    X = np.zeros((2, 2))
    X[0, 0] = np.finfo(np.float32).max
    assert as_dataset((X, np.array([0, 1]))).X_train.dtype == np.float64


def test_a_uint64_label_beyond_int64_is_named_with_its_own_value():
    y = np.array([0, 2**64 - 1, 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=re.escape("y_train must hold class labels below 2**63, got "
                                                   "18446744073709551615 at position 1")):
        as_dataset((np.zeros((3, 2)), y))
