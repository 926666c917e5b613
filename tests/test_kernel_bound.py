"""``benchmarks/kernel_bound.py`` at a small size: its layers, its checks and its table."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import kernel_bound  # noqa: E402  (benchmarks/ is not a package)


def test_every_case_keeps_the_same_inputs_per_output():
    rng = np.random.default_rng(0)
    for fan_in in (784, 128):
        pattern = kernel_bound.layer(fan_in, 78, 16, rng)["pattern"]
        assert pattern.shape == (fan_in, kernel_bound.FAN_OUT)
        assert np.all(np.diff(pattern.csc_indptr) == 78)


def test_a_wrong_kernel_fails_the_check():
    case = kernel_bound.layer(128, 10, 16, np.random.default_rng(1))
    products = kernel_bound.kernels(case)
    kernel_bound.check(case, products)  # the real kernels pass
    broken = dict(products, sddmm=lambda: products["sddmm"]() * 1.01)
    with pytest.raises(AssertionError):
        kernel_bound.check(case, broken)


def test_small_run_writes_the_table_and_json(tmp_path):
    out = tmp_path / "bound.json"
    completed = subprocess.run([sys.executable, str(BENCHMARKS / "kernel_bound.py"), "--batch", "16", "--repeats", "2",
                                "--calls", "1", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "ns/weight" in completed.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(row["case"], row["product"]) for row in rows] == [
        (case, product) for case in kernel_bound.CASES for product in ("spmm", "sddmm")]
    kilobytes = {"L2": 784 * 16 * 4 / 1024, "L1": 128 * 16 * 4 / 1024, "4x batch": 784 * 64 * 4 / 1024}
    for row in rows:
        assert row["seconds"] > 0 and row["activations_kb"] == kilobytes[row["case"]]
        assert row["ns_per_weight"] == pytest.approx(1e9 * row["seconds"] / (78 * kernel_bound.FAN_OUT))
        if row["case"] == "L2":
            assert row["against_L2"] == 1.0


def test_refuses_more_weights_per_output_than_the_l1_case_has_inputs():
    with pytest.raises(ValueError, match="l1_inputs = 64"):
        kernel_bound.measure(density=0.1, batch=16, l1_inputs=64, repeats=1, calls=1)
