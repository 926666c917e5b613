"""Tests for lottery_np.data: IDX parsing, folder resolution, downloads, loaders, Dataset."""

import functools
import gzip
import re
import hashlib
import http.server
import socket
import threading
import time

import numpy as np
import pytest

from lottery_np.data import (
    DatasetNotFoundError,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    write_idx,
)
from lottery_np.data import download, paths

IDX_NAMES = paths.IDX_FILES
N_TRAIN_FAKE = 5003  # the loaders hold out the last 5000 training images


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Point the cache at an empty folder and hide the environment and system folders."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "SYSTEM_FOLDERS", {})


def write_fake_dataset(folder, marker=0, n_test=3, compress=True):
    """Four tiny IDX files (2x3 images) whose test labels all equal ``marker``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(marker)
    suffix = ".gz" if compress else ""
    arrays = [
        rng.integers(0, 256, (N_TRAIN_FAKE, 2, 3), dtype=np.uint8),
        rng.integers(0, 10, N_TRAIN_FAKE, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 2, 3), dtype=np.uint8),
        np.full(n_test, marker, dtype=np.uint8),
    ]
    for name, array in zip(IDX_NAMES, arrays):
        write_idx(folder / f"{name}{suffix}", array)
    return arrays


# --- IDX reader --------------------------------------------------------------------------------


def idx_bytes(array):
    """Uncompressed IDX bytes of a uint8 ``array``, built by hand."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_known_bytes(tmp_path):
    # Header worked out by hand: uint8 (0x08), 2 dims, 2 x 3.
    (tmp_path / "x").write_bytes(bytes.fromhex("00000802 00000002 00000003 010203040506"))
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), [[1, 2, 3], [4, 5, 6]])


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    (tmp_path / "compressed.idx").write_bytes(gzip.compress(idx_bytes(array)))
    (tmp_path / "raw.gz").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed.idx"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), array)


CORRUPTIONS = {
    "truncated": (lambda b: b[:-1], "truncated"),
    "extra trailing bytes": (lambda b: b + b"\x00\x00", "extra trailing bytes after the 12 payload bytes"),
    "bad magic": (lambda b: b"\x01" + b[1:], "magic number"),
    "unknown dtype code": (lambda b: b[:2] + b"\x07" + b[3:], "dtype code 0x07"),
    "zero dimensions": (lambda b: b[:3] + b"\x00", "ndim 0"),
    "ends inside header": (lambda b: b[:9], "ends inside the header"),
    "empty": (lambda b: b"", "too short"),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_corrupt_idx_rejected(tmp_path, corruption, compress):
    change, message = CORRUPTIONS[corruption]
    data = change(idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4)))
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", ["cut stream", "flipped byte", "garbage after stream"])
def test_corrupt_gzip_rejected(tmp_path, damage):
    data = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    data = {
        "cut stream": data[: len(data) // 2],
        "flipped byte": data[:20] + bytes([data[20] ^ 0xFF]) + data[21:],
        "garbage after stream": data + b"not gzip",
    }[damage]
    path = tmp_path / "bad.gz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="corrupt gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="array dtype must be one IDX supports.*int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))


# --- real MNIST (skips when the files are absent) ----------------------------------------------


@pytest.fixture(scope="module")
def mnist_files():
    """Paths of the real MNIST files from $LOTTERY_NP_DATA or the user cache."""
    files = paths.locate("mnist")
    if files is None:
        pytest.skip(f"MNIST files not found; set {paths.ENV_VAR} to the folder above mnist/")
    return files


@pytest.fixture(scope="module")
def mnist(mnist_files):
    """Real MNIST, read once for the module (about a second)."""
    return load_mnist(mnist_files["train-images-idx3-ubyte"].parent, download=False)


def test_mnist_shapes_and_ranges(mnist):
    assert mnist.sizes == {"train": 55000, "val": 5000, "test": 10000}
    assert mnist.image_shape == (28, 28) and mnist.n_features == 784 and mnist.n_classes == 10
    for split in ("train", "val", "test"):
        X, y = getattr(mnist, f"X_{split}"), getattr(mnist, f"y_{split}")
        assert X.dtype == np.float32 and y.dtype == np.int64, split
        assert X.min() == 0.0 and X.max() == 1.0, split
        assert np.unique(y).tolist() == list(range(10)), split


def test_mnist_validation_is_last_5000_training_images(mnist, mnist_files):
    images = read_idx(mnist_files["train-images-idx3-ubyte"]).reshape(60000, 784)
    labels = read_idx(mnist_files["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(mnist.X_val, images[-5000:] / np.float32(255))
    np.testing.assert_array_equal(mnist.y_val, labels[-5000:])
    np.testing.assert_array_equal(mnist.X_train, images[:-5000] / np.float32(255))
    np.testing.assert_array_equal(mnist.y_train, labels[:-5000])


# --- folder resolution -------------------------------------------------------------------------


def test_resolution_order_explicit_then_env_then_cache(tmp_path, monkeypatch):
    write_fake_dataset(tmp_path / "explicit" / "mnist", marker=1)
    write_fake_dataset(tmp_path / "env" / "mnist", marker=2)
    write_fake_dataset(tmp_path / "xdg-cache" / "lottery_np" / "mnist", marker=3)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "env"))
    assert set(load_mnist(tmp_path / "explicit", download=False).y_test) == {1}
    assert set(load_mnist(download=False).y_test) == {2}
    monkeypatch.delenv(paths.ENV_VAR)
    assert set(load_mnist(download=False).y_test) == {3}



@pytest.mark.parametrize("kind", ["missing", "a file", "empty", "incomplete"])
def test_a_data_dir_is_the_only_folder_used_and_is_named_when_it_lacks_the_files(tmp_path, monkeypatch, kind):
    """Issue 24, class 5: no fallback to $LOTTERY_NP_DATA, the cache or a download behind the user's back."""
    write_fake_dataset(tmp_path / "env" / "mnist", marker=2)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(download.urllib.request, "urlopen", pytest.fail)
    named = tmp_path / "named"
    if kind == "a file":
        named.write_text("not a folder")
    elif kind == "empty":
        named.mkdir()
    elif kind == "incomplete":
        write_fake_dataset(named / "mnist", marker=1)
        (named / "mnist" / f"{IDX_NAMES[0]}.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(named)
    reason = {"missing": "which does not exist", "a file": "which is a file, not a folder"}.get(
        kind, "the only folder used, and it lacks them; nothing was downloaded")
    assert f"data_dir names {named}" in str(info.value) and reason in str(info.value)
    assert str(tmp_path / "env") not in str(info.value)  # never looked elsewhere


def test_data_dir_may_be_the_dataset_folder_itself(tmp_path):
    arrays = write_fake_dataset(tmp_path / "my-mnist", marker=4)
    data = load_mnist(tmp_path / "my-mnist", download=False)
    assert data.sizes == {"train": 3, "val": 5000, "test": 3}
    assert data.image_shape == (2, 3)
    np.testing.assert_array_equal(np.rint(data.X_val * 255), arrays[0][3:].reshape(5000, 6))


def test_uncompressed_and_mixed_file_names(tmp_path):
    write_fake_dataset(tmp_path / "mnist", marker=5, compress=False)
    (tmp_path / "mnist" / IDX_NAMES[3]).rename(tmp_path / "mnist" / "kept")
    write_idx(tmp_path / "mnist" / f"{IDX_NAMES[3]}.gz", read_idx(tmp_path / "mnist" / "kept"))
    assert set(load_mnist(tmp_path, download=False).y_test) == {5}


def test_folder_named_after_other_dataset_is_not_used(tmp_path):
    write_fake_dataset(tmp_path / "mnist")
    with pytest.raises(DatasetNotFoundError):
        load_fashion_mnist(tmp_path / "mnist", download=False)


def test_fashion_found_in_subfolder_and_system_folder(tmp_path, monkeypatch):
    write_fake_dataset(tmp_path / "root" / "fashion-mnist", marker=6)
    assert load_fashion_mnist(tmp_path / "root", download=False).name == "fashion-mnist"
    write_fake_dataset(tmp_path / "usr-share" / "fashion-mnist", marker=7)
    system_folder = tmp_path / "usr-share" / "fashion-mnist"
    monkeypatch.setattr(paths, "SYSTEM_FOLDERS", {"fashion-mnist": (system_folder,)})
    assert set(load_dataset("fashion-mnist", download=False).y_test) == {7}


def test_image_label_count_mismatch_rejected(tmp_path):
    write_fake_dataset(tmp_path / "mnist")
    write_idx(tmp_path / "mnist" / f"{IDX_NAMES[3]}.gz", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds 3 images but .* holds 4 labels"):
        load_mnist(tmp_path, download=False)


# --- downloads ---------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder of fake MNIST .gz files whose checksums replace the official ones."""
    folder = tmp_path / "mirror"
    write_fake_dataset(folder, marker=8)
    sums = {f"{name}.gz": hashlib.sha256((folder / f"{name}.gz").read_bytes()).hexdigest()
            for name in IDX_NAMES}
    monkeypatch.setitem(download.SHA256, "mnist", sums)
    return folder


@pytest.fixture
def http_mirror(mirror):
    """``mirror`` served over HTTP on 127.0.0.1."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=mirror)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_urls():
    """A refused port, and a server that accepts connections but never answers."""
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    urls = [f"http://127.0.0.1:{s.getsockname()[1]}/" for s in (refused, silent)]
    refused.close()
    yield urls
    silent.close()


def cache_folder(tmp_path):
    return tmp_path / "xdg-cache" / "lottery_np" / "mnist"


def test_download_from_file_mirror(tmp_path, mirror, monkeypatch):
    monkeypatch.setitem(download.MIRRORS, "mnist", [mirror.as_uri() + "/"])
    data = load_mnist()
    assert set(data.y_test) == {8}
    downloaded = sorted(path.name for path in cache_folder(tmp_path).iterdir())
    assert downloaded == sorted(f"{name}.gz" for name in IDX_NAMES)


def test_download_skips_dead_mirror_and_reuses_working_one(http_mirror, dead_urls, monkeypatch):
    monkeypatch.setitem(download.MIRRORS, "mnist", [dead_urls[0], http_mirror])
    opened = []
    real_urlopen = download.urllib.request.urlopen

    def recording_urlopen(url, **kwargs):
        opened.append(url)
        return real_urlopen(url, **kwargs)

    monkeypatch.setattr(download.urllib.request, "urlopen", recording_urlopen)
    assert set(load_mnist().y_test) == {8}
    assert [url.startswith(http_mirror) for url in opened] == [False, True, True, True, True]


def test_checksum_mismatch_leaves_no_file(tmp_path, http_mirror, monkeypatch):
    monkeypatch.setitem(download.MIRRORS, "mnist", [http_mirror])
    monkeypatch.setitem(download.SHA256["mnist"], f"{IDX_NAMES[0]}.gz", "0" * 64)
    with pytest.raises(DatasetNotFoundError, match="does not match the expected 0000"):
        load_mnist()
    assert list(cache_folder(tmp_path).iterdir()) == []


def test_unreachable_mirrors_fail_fast_with_helpful_message(tmp_path, dead_urls, monkeypatch):
    monkeypatch.setitem(download.MIRRORS, "mnist", dead_urls)
    monkeypatch.setattr(download, "TIMEOUT_S", 1.0)
    start = time.perf_counter()
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist()
    assert time.perf_counter() - start < 10
    message = str(info.value)
    expected_parts = [str(tmp_path / "nowhere" / "mnist"), str(cache_folder(tmp_path)),
                      paths.ENV_VAR, "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                      *dead_urls]
    for expected in expected_parts:
        assert expected in message
    assert isinstance(info.value, FileNotFoundError)
    assert list(cache_folder(tmp_path).iterdir()) == []


def test_download_false_never_touches_network(monkeypatch):
    monkeypatch.setattr(download.urllib.request, "urlopen", pytest.fail)
    with pytest.raises(DatasetNotFoundError, match=r"download=False"):
        load_mnist(download=False)


# --- digits, load_dataset, Dataset -------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_split_is_deterministic_and_complete(digits):
    assert digits.sizes == {"train": 1257, "val": 180, "test": 360}
    assert digits.image_shape == (8, 8) and digits.n_features == 64 and digits.n_classes == 10
    assert digits.X_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert digits.X_train.min() == 0.0 and digits.X_train.max() == 1.0
    again, other = load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(digits.X_test, again.X_test)
    assert not np.array_equal(digits.y_train, other.y_train)
    # Each seed's three splits together are a permutation of all 1797 (image, label) pairs.
    rows = [np.column_stack([np.concatenate([d.X_train, d.X_val, d.X_test]),
                             np.concatenate([d.y_train, d.y_val, d.y_test])])
            for d in (digits, other)]
    sorted_rows = [r[np.lexsort(r.T)] for r in rows]
    np.testing.assert_array_equal(*sorted_rows)


def test_load_dataset_dispatch(digits):
    assert load_dataset("digits").name == "digits"
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist', 'digits', got 'cifar10'"):
        load_dataset("cifar10")


def test_subset_keeps_first_rows(digits):
    small = digits.subset(n_train=100, n_test=7)
    assert small.sizes == {"train": 100, "val": 180, "test": 7}
    np.testing.assert_array_equal(small.X_train, digits.X_train[:100])
    np.testing.assert_array_equal(small.y_test, digits.y_test[:7])
    assert small.name == "digits" and small.image_shape == (8, 8)
    for bad in (0, -1, 1258, 2.0, True):
        message = f"n_train must be an int in \\[1, 1257\\] or None, got {bad!r}"
        with pytest.raises(ValueError, match=message):
            digits.subset(n_train=bad)


def test_dataset_arrays_are_read_only(digits):
    with pytest.raises(ValueError, match="read-only"):
        digits.X_train[0, 0] = 1.0


def test_a_gzip_stream_longer_than_its_header_is_refused_without_inflating_it(tmp_path):
    """Issue 24, class 10: a small file that inflates far beyond what its header declares (a gzip bomb)."""
    header = bytes([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4])  # uint8, shape (3, 4): 12 payload bytes
    path = tmp_path / "bomb-idx2-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(12) + bytes(50 * 2**20)))  # then 50 MB of zeros, 50 KB zipped
    with pytest.raises(ValueError, match=r"extra trailing bytes after the 12 payload bytes .* \(inflated no further"):
        read_idx(path)


@pytest.mark.parametrize("change, words", [
    (lambda folder: write_idx(folder / f"{IDX_NAMES[2]}.gz", np.zeros((0, 2, 3), np.uint8))
     or write_idx(folder / f"{IDX_NAMES[3]}.gz", np.zeros(0, np.uint8)), f"{IDX_NAMES[2]}.gz holds no images"),
    (lambda folder: write_idx(folder / f"{IDX_NAMES[2]}.gz", np.zeros((3, 3, 2), np.uint8)),
     f"{IDX_NAMES[2]}.gz holds images of 3x2 pixels"),
], ids=["no test images", "test images of another size"])
def test_a_bad_idx_file_is_blamed_by_name(tmp_path, change, words):
    """Issue 24, class 11: the file is named, not the split it would have become."""
    write_fake_dataset(tmp_path / "mnist")
    change(tmp_path / "mnist")
    with pytest.raises(ValueError, match=re.escape(words)):
        load_mnist(tmp_path, download=False)
