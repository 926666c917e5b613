"""Files and faults: every damaged ticket, checkpoint or run folder is one CorruptFileError naming the file and key.

The probes are tables of (name, corruption, culprit): a corruption turns the arrays
(or bytes, or JSON) of a good file into a bad one, and the culprit is the key the
error message must name. Then: a write killed half-way, and checkpoints of other runs.
"""
import io
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from typing import NamedTuple

import numpy as np
import pytest

from lottery_np.files.archive import CorruptFileError
from lottery_np.cli import main
from lottery_np.model import MLP
from lottery_np.plots import plot_run
from lottery_np.pruning import LotteryTicketPruner, WinningTicket
from lottery_np.pruning.checkpoint import check_checkpoint_target, load_checkpoint
from lottery_np.pruning.layout import parameter_keys
from lottery_np.pruning.record import history_from_dicts
from lottery_np.files.storage import json_array, load_npz, read_json_array, save_npz_atomic

SIZES = (64, 16, 10)


def make_pruner():
    return LotteryTicketPruner.builder().target_sparsity(0.5).pruning_rounds(2).iterations(60).eval_every(20).build()


@pytest.fixture(scope="module")
def good(tmp_path_factory, tiny_digits):
    """A checkpoint, a ticket and a run folder of one short search, and the checkpoint's fingerprint."""
    folder = tmp_path_factory.mktemp("good")
    ticket = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=folder / "checkpoint.npz")
    ticket.save(folder / "ticket.npz")
    history = {"settings": {"dataset": "digits"}, "ticket_round": ticket.pruning_round, "density": ticket.density,
               "image_shape": [8, 8], "history": [r.to_dict() for r in ticket.history]}
    (folder / "history.json").write_text(json.dumps(history))
    fingerprint = read_json_array(load_npz(folder / "checkpoint.npz", ["meta"])["meta"])["fingerprint"]
    return folder, fingerprint


# --- making bad files ------------------------------------------------------------------------------------------

class Raw(NamedTuple):
    """A zip member written as given, header and all (``deflate`` compresses it)."""

    data: bytes
    deflate: bool = False


def npy_declaring(shape, descr="<f8", payload=b"\0" * 16) -> bytes:
    """A ``.npy`` member whose header declares ``shape`` but which holds only ``payload``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def write_npz(path, arrays: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            if isinstance(value, Raw):
                method = zipfile.ZIP_DEFLATED if value.deflate else zipfile.ZIP_STORED
                archive.writestr(f"{key}.npy", value.data, method)
            elif isinstance(value, Twice):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, value.array)
                with warnings.catch_warnings():  # zipfile warns of the duplicate name, which is the point
                    warnings.simplefilter("ignore", UserWarning)
                    archive.writestr(f"{key}.npy", buffer.getvalue())
                    archive.writestr(f"{key}.npy", buffer.getvalue())
            else:
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=True)
                archive.writestr(f"{key}.npy", buffer.getvalue())


def corrupted_copy(source, target, change) -> None:
    """``target``: ``source`` with ``change(arrays)`` applied, or ``change(bytes)`` for a whole-file corruption."""
    if isinstance(change, FileDamage):
        target.write_bytes(change.damage(source.read_bytes()))
        return
    with np.load(source) as archive:
        arrays = dict(archive)
    change(arrays)
    write_npz(target, arrays)


class FileDamage(NamedTuple):
    damage: object  # bytes -> bytes


def put(key, value):
    """Set ``key`` to ``value(arrays)``."""
    return lambda arrays: arrays.__setitem__(key, value(arrays))


def spoil(key, index, value):
    """Set one entry of the array ``key``."""
    def change(arrays):
        array = arrays[key].copy()
        array[index] = value
        arrays[key] = array
    return change


def drop(key):
    return lambda arrays: arrays.pop(key)


def meta(edit):
    """Apply ``edit(meta_dict)`` to the JSON stored as ``meta``."""
    def change(arrays):
        value = read_json_array(arrays["meta"])
        edit(value)
        arrays["meta"] = json_array(value)
    return change


def row(field, value, index=1):
    """Set a field of a history row (``value`` of ``...`` deletes it)."""
    def edit(value_of):
        rows = value_of["history"]
        if value is ...:
            del rows[index][field]
        else:
            rows[index][field] = value
    return edit


FILE_DAMAGE = [  # (name, damage, words of the message)
    ("random bytes", FileDamage(lambda data: np.random.default_rng(0).bytes(600)), "not a zip archive"),
    ("empty file", FileDamage(lambda data: b""), "it is empty"),
    ("text file", FileDamage(lambda data: b"layer_sizes = 64, 16, 10\n"), "not a zip archive"),
    ("truncated", FileDamage(lambda data: data[: len(data) // 2]), "truncated"),
]
ZIP_BOMB = Raw(npy_declaring((10 ** 6,), payload=bytes(8 * 10 ** 6)), deflate=True)  # 8 MB of zeros, ~8 KB zipped

TICKET_PROBES = FILE_DAMAGE + [
    ("missing key", drop("weights_1"), "weights_1"),
    ("missing meta", drop("meta"), "meta"),
    ("extra layer", put("mask_2", lambda a: np.ones((10, 3), np.uint8)), "mask_2"),
    ("2-entry layer_sizes", put("layer_sizes", lambda a: np.array([64, 16])), "weights_1"),
    ("1-entry layer_sizes", put("layer_sizes", lambda a: np.array([64])), "layer_sizes"),
    ("zero layer size", put("layer_sizes", lambda a: np.array([64, 0, 10])), "layer_sizes"),
    ("float layer_sizes", put("layer_sizes", lambda a: np.array([64.0, 16.0, 10.0])), "layer_sizes"),
    ("mask wrong shape", put("mask_0", lambda a: a["mask_0"][:5]), "mask_0"),
    ("weights transposed", put("weights_1", lambda a: a["weights_1"].T.copy()), "weights_1"),
    ("biases wrong shape", put("biases_0", lambda a: a["biases_0"][:, None]), "biases_0"),
    ("initial biases too long", put("initial_biases_1", lambda a: np.zeros(11, np.float32)), "initial_biases_1"),
    ("integer weights", put("weights_0", lambda a: a["weights_0"].astype(np.int32)), "weights_0"),
    ("complex biases", put("biases_1", lambda a: a["biases_1"].astype(np.complex64)), "biases_1"),
    ("string mask", put("mask_1", lambda a: a["mask_1"].astype(str)), "mask_1"),
    ("NaN weight", spoil("weights_0", (0, 0), np.nan), "weights_0"),
    ("inf bias", spoil("biases_1", 3, np.inf), "biases_1"),
    ("NaN initial weight", spoil("initial_weights_1", (2, 2), np.nan), "initial_weights_1"),
    ("-inf initial bias", spoil("initial_biases_0", 0, -np.inf), "initial_biases_0"),
    ("mask holds 2", spoil("mask_0", (1, 1), 2), "mask_0"),
    ("mask holds 0.5", put("mask_1", lambda a: np.where(a["mask_1"] == 1, 0.5, 0.0)), "mask_1"),
    ("declared-huge array", put("weights_0", lambda a: Raw(npy_declaring((10 ** 10,)))), "weights_0"),
    ("zip bomb", put("initial_weights_0", lambda a: ZIP_BOMB), "initial_weights_0"),
    ("pickled objects", put("biases_0", lambda a: np.array([object()], dtype=object)), "biases_0"),
    ("member not .npy data", lambda a: a.__setitem__("notes", Raw(b"hello")), "notes"),
    ("meta not JSON", put("meta", lambda a: np.array("{pruning_round: 2")), "meta"),
    ("meta a list", put("meta", lambda a: json_array([1, 2])), "meta"),
    ("meta a number array", put("meta", lambda a: np.zeros(3)), "meta"),
    ("meta lacks rewind", meta(lambda m: m.pop("rewind")), "rewind"),
    ("meta unknown key", meta(lambda m: m.update(extra=1)), "extra"),
    ("pruning_round past the history", meta(lambda m: m.update(pruning_round=3)), "pruning_round"),
    ("pruning_round negative", meta(lambda m: m.update(pruning_round=-1)), "pruning_round"),
    ("pruning_round a string", meta(lambda m: m.update(pruning_round="2")), "pruning_round"),
    ("pruning_round a bool", meta(lambda m: m.update(pruning_round=True)), "pruning_round"),
    ("history empty", meta(lambda m: m.update(history=[])), "history"),
    ("history an object", meta(lambda m: m.update(history={"0": {}})), "history"),
    ("history row a number", meta(lambda m: m["history"].__setitem__(1, 7)), "history[1]"),
    ("row lacks a field", meta(row("early_stop_iteration", ...)), "early_stop_iteration"),
    ("row unknown field", meta(row("learning_rate", 0.1)), "learning_rate"),
    ("row density a string", meta(row("density", "half")), "density"),
    ("row density above 1", meta(row("density", 1.5)), "density"),
    ("row iteration a float", meta(row("early_stop_iteration", 12.5)), "early_stop_iteration"),
    ("row curve a list", meta(row("curve", [1, 2])), "curve"),
    ("row curves of unequal length", meta(row("curve", {"iterations": [0, 10], "val_loss": [1.0]})), "curve"),
    ("rows out of order", meta(row("pruning_round", 2)), "pruning_round"),
]

CHECKPOINT_PROBES = FILE_DAMAGE + [
    ("missing key", drop("round1_trained_weights_0"), "round1_trained_weights_0"),
    ("missing meta", drop("meta"), "meta"),
    ("missing layer_sizes", drop("layer_sizes"), "layer_sizes"),
    ("extra round", put("round3_mask_0", lambda a: a["round2_mask_0"]), "round3_mask_0"),
    ("extra layer", put("initial_weights_2", lambda a: np.zeros((10, 4), np.float32)), "initial_weights_2"),
    ("layer_sizes of another network", put("layer_sizes", lambda a: np.array([64, 16, 16, 10])), "layer_sizes"),
    ("float layer_sizes", put("layer_sizes", lambda a: np.array([64.0, 16.0, 10.0])), "layer_sizes"),
    ("initial weights wrong shape", put("initial_weights_1", lambda a: a["initial_weights_1"][:8]),
     "initial_weights_1"),
    ("bias wrong shape", put("round1_start_biases_0", lambda a: a["round1_start_biases_0"][:3]),
     "round1_start_biases_0"),
    ("mask wrong shape", put("round2_mask_1", lambda a: a["round2_mask_1"].T.copy()), "round2_mask_1"),
    ("integer weights", put("round0_trained_weights_0", lambda a: a["round0_trained_weights_0"].astype(np.int64)),
     "round0_trained_weights_0"),
    ("NaN trained weight", spoil("round2_trained_weights_1", (0, 0), np.nan), "round2_trained_weights_1"),
    ("inf start weight", spoil("round1_start_weights_0", (0, 0), np.inf), "round1_start_weights_0"),
    ("NaN initial bias", spoil("initial_biases_0", 2, np.nan), "initial_biases_0"),
    ("inf trained bias", spoil("round0_trained_biases_1", 0, -np.inf), "round0_trained_biases_1"),
    ("mask holds 2", spoil("round1_mask_0", (0, 0), 2), "round1_mask_0"),
    ("mask holds 0.5", put("round2_mask_1", lambda a: a["round2_mask_1"] * 0.5), "round2_mask_1"),
    ("mask grows back", put("round2_mask_0", lambda a: a["round0_mask_0"]), "round2_mask_0"),
    ("pruned weight nonzero", put("round2_trained_weights_0", lambda a: a["round2_trained_weights_0"] + np.float32(0.5)),
     "round2_trained_weights_0"),
    ("declared-huge array", put("round1_trained_weights_0", lambda a: Raw(npy_declaring((10 ** 10,)))),
     "round1_trained_weights_0"),
    ("zip bomb", put("round1_start_weights_0", lambda a: ZIP_BOMB), "round1_start_weights_0"),
    ("meta not JSON", put("meta", lambda a: np.array("not json")), "meta"),
    ("meta lacks has_snapshot", meta(lambda m: m.pop("has_snapshot")), "has_snapshot"),
    ("meta unknown key", meta(lambda m: m.update(n_layers=2)), "n_layers"),
    ("has_snapshot a string", meta(lambda m: m.update(has_snapshot="no")), "has_snapshot"),
    ("fingerprint a string", meta(lambda m: m.update(fingerprint="same")), "fingerprint"),
    ("history empty", meta(lambda m: m.update(history=[])), "history"),
    ("row lacks a field", meta(row("wall_time", ..., index=0)), "wall_time"),
    ("row accuracy a string", meta(row("final_test_accuracy", "high")), "final_test_accuracy"),
    ("row under both names", meta(row("test_accuracy", 0.5)), "test_accuracy"),
]

class Twice(NamedTuple):
    """The same array written as two members of one name (a zip allows it)."""

    array: np.ndarray


def twice(key):
    return put(key, lambda arrays: Twice(arrays[key]))


# Issue 24, class 4: a file that disagrees with itself
TICKET_PROBES += [
    ("float16 initial weights", put("initial_weights_0", lambda a: a["initial_weights_0"].astype(np.float16)),
     "initial_weights_0"),
    ("a member twice", twice("weights_0"), "weights_0"),
    ("density against the mask", meta(lambda m: m["history"][m["pruning_round"]].update(density=0.9)), "mask_0"),
]
CHECKPOINT_PROBES += [
    ("float16 initial weights", put("initial_weights_0", lambda a: a["initial_weights_0"].astype(np.float16)),
     "initial_weights_0"),
    ("initial weights of another network", spoil("initial_weights_0", (0, 0), 0.125), "initial_weights_0"),
    ("a member twice", twice("round1_mask_0"), "round1_mask_0"),
    ("density against the mask", meta(row("density", 0.9)), "round1_mask_0"),
]

NESTED = "[" * 100_000 + "]" * 100_000  # JSON nested deeper than Python's parser recurses
TICKET_PROBES.append(("meta nested too deeply", put("meta", lambda arrays: np.array(NESTED)), "meta"))
CHECKPOINT_PROBES.append(("meta nested too deeply", put("meta", lambda arrays: np.array(NESTED)), "meta"))

HISTORY_PROBES = [  # (name, change of history.json's text, culprit)
    ("random bytes", lambda text: np.random.default_rng(1).bytes(300), "history.json"),
    ("nested too deeply", lambda text: NESTED.encode(), "nested too deeply"),
    ("empty file", lambda text: b"", "history.json"),
    ("plain text", lambda text: b"round 0: 100 %", "history.json"),
    ("truncated", lambda text: text[: len(text) // 2], "history.json"),
    ("a list", lambda text: b"[]", "history.json"),
]


def edit_history(edit):
    def change(text):
        value = json.loads(text)
        edit(value)
        return json.dumps(value).encode()
    return change


HISTORY_PROBES += [
    ("lacks image_shape", edit_history(lambda h: h.pop("image_shape")), "image_shape"),
    ("lacks history", edit_history(lambda h: h.pop("history")), "history"),
    ("settings a list", edit_history(lambda h: h.update(settings=[])), "settings"),
    ("ticket_round out of range", edit_history(lambda h: h.update(ticket_round=9)), "ticket_round"),
    ("ticket_round of another ticket",
     edit_history(lambda h: h.update(ticket_round=(h["ticket_round"] + 1) % len(h["history"]))), "ticket_round"),
    ("ticket_round a string", edit_history(lambda h: h.update(ticket_round="2")), "ticket_round"),
    ("density a string", edit_history(lambda h: h.update(density="50 %")), "density"),
    ("history empty", edit_history(lambda h: h.update(history=[])), "history"),
    ("history a round short", edit_history(lambda h: h["history"].pop()), "ticket_round"),
    ("curves of unequal length", edit_history(lambda h: h["history"][1]["curve"]["val_loss"].pop()), "curve"),
    ("row lacks a field", edit_history(lambda h: h["history"][0].pop("density")), "density"),
    ("row iteration a string", edit_history(lambda h: h["history"][2].update(early_stop_iteration="40")),
     "early_stop_iteration"),
    ("image_shape of other pixels", edit_history(lambda h: h.update(image_shape=[7, 7])), "image_shape"),
    ("image_shape negative", edit_history(lambda h: h.update(image_shape=[-8, -8])), "image_shape"),
    ("image_shape of floats", edit_history(lambda h: h.update(image_shape=[8.0, 8.0])), "image_shape"),
    ("image_shape empty", edit_history(lambda h: h.update(image_shape=[])), "image_shape"),
    ("image_shape a string", edit_history(lambda h: h.update(image_shape="8x8")), "image_shape"),
]


def assert_names(error: CorruptFileError, path, culprit: str) -> None:
    assert isinstance(error, ValueError) and error.path == path
    message = str(error)
    assert str(path) in message and culprit in message, f"the message does not name {path} and {culprit!r}: {message}"
    assert "allow_pickle" not in message  # numpy's advice, which misleads here


def names(probes):
    return [probe[0] for probe in probes]


# --- the probes ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, change, culprit", TICKET_PROBES, ids=names(TICKET_PROBES))
def test_a_bad_ticket_is_one_error_naming_file_and_key(good, tmp_path, name, change, culprit):
    path = tmp_path / "ticket.npz"
    corrupted_copy(good[0] / "ticket.npz", path, change)
    with pytest.raises(CorruptFileError) as caught:
        WinningTicket.load(path)
    assert_names(caught.value, path, culprit)


@pytest.mark.parametrize("name, change, culprit", CHECKPOINT_PROBES, ids=names(CHECKPOINT_PROBES))
def test_a_bad_checkpoint_is_one_error_naming_file_and_key(good, tmp_path, name, change, culprit):
    path = tmp_path / "checkpoint.npz"
    corrupted_copy(good[0] / "checkpoint.npz", path, change)
    with pytest.raises(CorruptFileError) as caught:
        load_checkpoint(path, good[1])
    assert_names(caught.value, path, culprit)


@pytest.mark.parametrize("name, change, culprit", HISTORY_PROBES, ids=names(HISTORY_PROBES))
def test_a_bad_history_json_stops_plot_run(good, tmp_path, name, change, culprit):
    shutil.copy(good[0] / "ticket.npz", tmp_path)
    (tmp_path / "history.json").write_bytes(change((good[0] / "history.json").read_bytes()))
    with pytest.raises(CorruptFileError) as caught:
        plot_run(tmp_path)
    assert_names(caught.value, tmp_path / "history.json", culprit)
    assert not list(tmp_path.glob("*.png"))


RUN_TICKET_PROBES = [probe for probe in TICKET_PROBES
                     if probe[0] in names(FILE_DAMAGE) + ["NaN weight", "mask holds 2"]]


@pytest.mark.parametrize("name, change, culprit", RUN_TICKET_PROBES, ids=names(RUN_TICKET_PROBES))
def test_a_bad_ticket_stops_plot_run(good, tmp_path, name, change, culprit):
    shutil.copy(good[0] / "history.json", tmp_path)
    corrupted_copy(good[0] / "ticket.npz", tmp_path / "ticket.npz", change)
    with pytest.raises(CorruptFileError) as caught:
        plot_run(tmp_path)
    assert_names(caught.value, tmp_path / "ticket.npz", culprit)


def test_the_good_files_load(good):
    folder, fingerprint = good
    ticket = WinningTicket.load(folder / "ticket.npz")
    state = load_checkpoint(folder / "checkpoint.npz", fingerprint)
    assert state.rounds_done == 3 and [r.to_dict() for r in state.history] == [r.to_dict() for r in ticket.history]
    assert len(plot_run(folder)) == 4


def test_lottery_np_plot_of_a_damaged_run_costs_one_line(good, tmp_path, capsys):
    shutil.copy(good[0] / "history.json", tmp_path)
    corrupted_copy(good[0] / "ticket.npz", tmp_path / "ticket.npz", spoil("weights_1", (0, 0), np.nan))
    assert main(["plot", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "ticket.npz" in error and "weights_1" in error


def test_resuming_from_nan_trained_weights_refuses_instead_of_finding_another_ticket(good, tmp_path, tiny_digits):
    path = tmp_path / "checkpoint.npz"
    corrupted_copy(good[0] / "checkpoint.npz", path, spoil("round1_trained_weights_0", (0, 0), np.nan))
    with pytest.raises(CorruptFileError, match="round1_trained_weights_0"):
        make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)


def test_a_declared_huge_array_is_refused_before_numpy_allocates_it(good, tmp_path):
    """Under an address-space limit of 1 GB more than at start, an 8 GB allocation would be a MemoryError."""
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs Linux's /proc to set the address-space limit")
    path = tmp_path / "ticket.npz"
    corrupted_copy(good[0] / "ticket.npz", path, put("weights_0", lambda a: Raw(npy_declaring((10 ** 9,)))))
    script = textwrap.dedent("""
        import resource, sys
        import numpy as np
        from lottery_np.files.archive import CorruptFileError
        from lottery_np.pruning import WinningTicket
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (in_use + 2 ** 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            np.load(sys.argv[1])["weights_0"]
        except MemoryError:
            print("numpy alone allocates")
        try:
            WinningTicket.load(sys.argv[1])
        except CorruptFileError as error:
            print("refused:", error)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True).stdout
    assert "numpy alone allocates" in out  # the probe is real: np.load would ask for the 8 GB
    assert "refused:" in out and "weights_0 declares shape (1000000000,)" in out


def test_history_rows_load_and_bad_rows_are_value_errors(good):
    rows = json.loads((good[0] / "history.json").read_text())["history"]
    records = history_from_dicts(rows)
    assert [r.to_dict() for r in records] == rows
    without_curve = history_from_dicts([{k: v for k, v in rows[0].items() if k != "curve"}])
    assert without_curve[0].curve == {}
    no_test_set = history_from_dicts([{**rows[0], "final_test_accuracy": None}])
    assert math.isnan(no_test_set[0].final_test_accuracy)
    for bad, message in [([{"density": 1.0}], r"history\[0\] lacks pruning_round"), ("rows", "must be a list"),
                         ([None], r"history\[0\] must be an object")]:
        with pytest.raises(ValueError, match=message):
            history_from_dicts(bad)


OLD_NAMES = {"final_val_accuracy": "val_accuracy", "final_test_accuracy": "test_accuracy"}


def with_old_names(rows):
    """History rows as lottery_np wrote them before the end-of-training accuracies were renamed."""
    return [{OLD_NAMES.get(name, name): value for name, value in row.items()} for row in rows]


def test_rows_under_the_old_names_load_as_the_new(good):
    rows = json.loads((good[0] / "history.json").read_text())["history"]
    old = with_old_names(rows)
    assert "test_accuracy" in old[0] and "final_test_accuracy" not in old[0]
    assert [r.to_dict() for r in history_from_dicts(old)] == rows
    with pytest.raises(ValueError, match=r"history\[1\]\.test_accuracy must be null or a number"):
        history_from_dicts([old[0], {**old[1], "test_accuracy": "high"}])


def test_an_old_ticket_and_run_folder_still_load_and_plot(good, tmp_path):
    corrupted_copy(good[0] / "ticket.npz", tmp_path / "ticket.npz",
                   meta(lambda m: m.update(history=with_old_names(m["history"]))))
    folder = json.loads((good[0] / "history.json").read_text())
    (tmp_path / "history.json").write_text(json.dumps({**folder, "history": with_old_names(folder["history"])}))
    ticket, new = WinningTicket.load(tmp_path / "ticket.npz"), WinningTicket.load(good[0] / "ticket.npz")
    assert [r.to_dict() for r in ticket.history] == [r.to_dict() for r in new.history]
    assert len(plot_run(tmp_path)) == 4


def old_layout(arrays):
    """A checkpoint's arrays as lottery_np wrote them before tickets and checkpoints shared one layout."""
    n_layers = len(arrays.pop("layer_sizes")) - 1
    renamed = {}
    for key, value in arrays.items():
        key = key.replace("_weights_", "_w").replace("_biases_", "_b").replace("_mask_", "_mask")
        renamed[key] = value
    arrays.clear()
    arrays.update(renamed)
    meta(lambda m: m.update(n_layers=n_layers))(arrays)


def test_an_old_layout_checkpoint_is_refused_with_how_to_start_afresh(good, tmp_path, tiny_digits):
    path = tmp_path / "checkpoint.npz"
    corrupted_copy(good[0] / "checkpoint.npz", path, old_layout)
    assert "initial_w0" in load_npz(path, [])
    advice = "written by an older lottery_np.*initial_w0.*start the run afresh, without --resume"
    with pytest.raises(ValueError, match=advice) as caught:
        load_checkpoint(path, good[1])
    assert not isinstance(caught.value, CorruptFileError)  # the file is sound, just old
    with pytest.raises(ValueError, match=advice):
        make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match=f"{advice}.*never overwrites"):
        make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path)


def test_tickets_and_checkpoints_store_parameters_in_one_layout(good):
    """The dense initialization is in both files, under the same keys, written by the same function."""
    ticket, checkpoint = load_npz(good[0] / "ticket.npz", []), load_npz(good[0] / "checkpoint.npz", [])
    n_layers = len(SIZES) - 1
    assert set(parameter_keys("", n_layers)) < set(ticket)
    assert set(parameter_keys("round2_start_", n_layers)) < set(checkpoint)
    for key in parameter_keys("initial_", n_layers) + ["layer_sizes"]:
        assert ticket[key].dtype == checkpoint[key].dtype and np.array_equal(ticket[key], checkpoint[key]), key
    r = read_json_array(ticket["meta"])["pruning_round"]
    for key in parameter_keys("", n_layers):  # the ticket of round r starts where the checkpoint's round r did
        np.testing.assert_array_equal(ticket[key], checkpoint[f"round{r}_start_{key}"])


def test_the_fingerprint_is_built_from_explicit_fields(good):
    fingerprint = good[1]
    assert {"rewind": "init", "train_dense": True, "layer_sizes": list(SIZES)}.items() <= fingerprint.items()
    assert fingerprint["retrain"] == fingerprint["training"] and isinstance(fingerprint["retrain"], dict)
    assert not any("RewindStrategy(" in repr(value) or "Config(" in repr(value) for value in fingerprint.values())


# --- atomic writes ---------------------------------------------------------------------------------------------

WRITER = """
import sys
import numpy as np
from lottery_np.files.storage import save_npz_atomic
big = np.arange(4_000_000, dtype=np.float64)  # 32 MB: the writer spends most of its time inside a write
while True:
    save_npz_atomic(sys.argv[1], {"big": big})
"""


def kill_mid_write(destination, attempts: int = 5) -> list:
    """SIGKILL a writer of ``destination`` while a temporary exists; the temporaries it left behind."""
    for _ in range(attempts):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(destination)])
        try:
            deadline = time.monotonic() + 120
            while not (destination.exists() and list(destination.parent.glob("*.tmp"))):
                assert writer.poll() is None and time.monotonic() < deadline, "the writer never got going"
                time.sleep(0.005)
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
        left = list(destination.parent.glob("*.tmp"))
        if left:
            return left
    pytest.fail(f"no kill in {attempts} caught the writer mid-write")


def test_a_write_killed_half_way_leaves_a_whole_file_and_the_next_save_no_temporary(tmp_path):
    destination = tmp_path / "checkpoint.npz"
    left = kill_mid_write(destination)
    assert all(path.name.startswith(".checkpoint.npz.") for path in left)
    np.testing.assert_array_equal(load_npz(destination, ["big"])["big"], np.arange(4_000_000, dtype=np.float64))
    save_npz_atomic(destination, {"small": np.ones(3)})
    assert not list(tmp_path.glob("*.tmp"))
    assert set(load_npz(destination, ["small"])) == {"small"}


def test_a_save_removes_only_its_own_stale_temporaries(tmp_path):
    own, other = tmp_path / ".a.npz.k3_x9a2q.tmp", tmp_path / ".a.npz.old.k3_x9a2q.tmp"
    own.write_bytes(b"half")
    other.write_bytes(b"half")
    save_npz_atomic(tmp_path / "a.npz", {"x": np.zeros(2)})
    assert not own.exists() and other.exists()


def test_a_save_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real_fsync(fd)))
    save_npz_atomic(tmp_path / "a.npz", {"x": np.zeros(2)})
    assert synced == [False, True]  # the data first, then the rename


# --- checkpoints of other runs ---------------------------------------------------------------------------------

def test_a_fingerprint_mismatch_names_each_setting_that_differs(good):
    folder, fingerprint = good
    other = {**fingerprint, "target_sparsity": 0.8, "seed": 7, "new_setting": True}
    with pytest.raises(ValueError, match="other settings") as caught:
        load_checkpoint(folder / "checkpoint.npz", other)
    message = str(caught.value)
    assert not isinstance(caught.value, CorruptFileError)
    assert str(folder / "checkpoint.npz") in message
    for difference in ("target_sparsity 0.8 here vs 0.5 in the file", "seed 7 here vs 0 in the file",
                       "new_setting True here vs nothing in the file"):
        assert difference in message
    assert "initial_weights" not in message and "layer_sizes" not in message  # only what differs
    if isinstance(fingerprint["training"], dict):  # nested settings are compared one by one
        training = {**fingerprint["training"], "learning_rate": 0.5}
        with pytest.raises(ValueError, match=r"training\.learning_rate 0\.5 here vs [0-9.e-]+ in the file; resume"):
            load_checkpoint(folder / "checkpoint.npz", {**fingerprint, "training": training})


def test_check_checkpoint_target_refuses_only_another_runs_file(good, tmp_path):
    folder, fingerprint = good
    path = shutil.copy(folder / "checkpoint.npz", tmp_path / "checkpoint.npz")
    other = {**fingerprint, "seed": 7}
    check_checkpoint_target(tmp_path / "absent.npz", other, resume=False, overwrite=False)
    check_checkpoint_target(path, fingerprint, resume=False, overwrite=False)  # a rerun of the same settings
    with pytest.raises(ValueError, match="never overwrites another run's checkpoint") as caught:
        check_checkpoint_target(path, other, resume=False, overwrite=False)
    assert "seed 7 here vs 0 in the file" in str(caught.value)
    check_checkpoint_target(path, other, resume=True, overwrite=False)  # load_checkpoint will judge it
    check_checkpoint_target(path, other, resume=False, overwrite=True)
    (tmp_path / "garbage.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.npz is not a valid pruning checkpoint.*never overwrites"):
        check_checkpoint_target(tmp_path / "garbage.npz", fingerprint, resume=False, overwrite=False)
    with pytest.raises(ValueError, match="never overwrites"):
        check_checkpoint_target(tmp_path, fingerprint, resume=False, overwrite=False)  # a folder


@pytest.mark.parametrize("setting, value, words", [
    ("pruning_rounds", 1, "holds 3 rounds, more than the run's dense round and 1 pruned ones"),
    ("rewind", "iteration:5", "has no snapshot, which a finished dense round of a iteration:5 run always saves"),
])
def test_a_checkpoint_at_odds_with_its_own_settings_is_refused(good, tmp_path, setting, value, words):
    """Issue 24, class 4: the settings the file records and what it holds disagree (the settings match the run's)."""
    path = tmp_path / "checkpoint.npz"
    corrupted_copy(good[0] / "checkpoint.npz", path, meta(lambda m: m["fingerprint"].update({setting: value})))
    with pytest.raises(CorruptFileError) as caught:
        load_checkpoint(path, {**good[1], setting: value})
    assert_names(caught.value, path, "meta")
    assert words in str(caught.value)


def test_members_the_reader_does_not_ask_for_are_never_inflated(good, tmp_path, monkeypatch):
    """Issue 24, class 10: extra members are refused by their names, before any of them is read."""
    path = tmp_path / "ticket.npz"
    corrupted_copy(good[0] / "ticket.npz", path, lambda arrays: arrays.update(
        {f"junk_{k}": np.zeros(1000) for k in range(50)}))
    inflated = []
    read = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda member, **kw: inflated.append(member.name) or read(member, **kw))
    with pytest.raises(CorruptFileError, match="unexpected junk_0"):
        WinningTicket.load(path)
    assert inflated == ["layer_sizes.npy"]


def test_resuming_on_data_with_one_row_changed_is_refused(good, tmp_path, tiny_digits):
    """Issue 24, class 3: the digest covers every row (it took every 97th; row 1 was never read)."""
    from types import SimpleNamespace

    path = tmp_path / "checkpoint.npz"
    shutil.copy(good[0] / "checkpoint.npz", path)
    X = tiny_digits.X_train.copy()
    X[1, 5] += 0.25
    changed = SimpleNamespace(**{**vars(tiny_digits), "X_train": X})
    with pytest.raises(ValueError, match=r"written by a run with other settings: data "):
        make_pruner().find_ticket(MLP(SIZES, seed=0), changed, checkpoint=path, resume=True)
    ticket = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)
    assert ticket.pruning_round == WinningTicket.load(good[0] / "ticket.npz").pruning_round


def test_a_checkpoint_with_the_older_sampled_data_digest_still_resumes(good, tmp_path, tiny_digits):
    from lottery_np.pruning.loop import OLD_DATA_STRIDE, _data_digest

    path = tmp_path / "checkpoint.npz"
    older = _data_digest(tiny_digits, OLD_DATA_STRIDE)
    corrupted_copy(good[0] / "checkpoint.npz", path, meta(lambda m: m["fingerprint"].update(data=older)))
    ticket = make_pruner().find_ticket(MLP(SIZES, seed=0), tiny_digits, checkpoint=path, resume=True)
    expected = WinningTicket.load(good[0] / "ticket.npz")
    assert all(np.array_equal(a, b) for a, b in zip(ticket.masks, expected.masks))


def test_a_folder_is_held_by_one_holder_and_free_again_after(tmp_path):
    from lottery_np.files import FolderInUseError, owned_folder

    with owned_folder(tmp_path / "out") as folder:
        assert folder.is_dir()
        probe = subprocess.run([sys.executable, "-c", "import sys; from lottery_np.files import owned_folder\n"
                                f"with owned_folder({str(folder)!r}): sys.exit(0)"], capture_output=True, text=True)
        assert probe.returncode == 1 and "is in use by another run" in probe.stderr
    with owned_folder(tmp_path / "out"):
        pass  # released at the end of the first block
    assert issubclass(FolderInUseError, ValueError)


def test_a_file_system_without_locks_runs_unheld(tmp_path, monkeypatch):
    import errno

    from lottery_np.files import lock

    def refuse(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock.fcntl, "flock", refuse)
    with lock.owned_folder(tmp_path / "out") as folder:
        assert folder.is_dir()
