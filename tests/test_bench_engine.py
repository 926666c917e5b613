"""Smoke test of ``benchmarks/bench_engine.py --quick``: it runs, prints its tables and writes sane JSON."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"


def test_quick_run_writes_tables_and_json(tmp_path):
    out = tmp_path / "bench.json"
    completed = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--threads", "1", "--load-iterations", "20",
                                "--json", str(out)],
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "s/epoch" in completed.stdout and "speedup" in completed.stdout

    results = json.loads(out.read_text())
    assert results["config"]["dataset"] == "digits"
    assert results["config"]["sklearn_dtype"] == "float32"
    for name in ("lottery_np", "lottery_np train()", "scikit-learn"):
        entry = results["epoch"][name]
        assert len(entry["samples"]) == results["config"]["repeats"]
        assert entry["seconds_per_epoch"] > 0
    assert "lottery_np/scikit-learn" in results["ratios"]
    densities = {row["density"] for row in results["sparse_vs_dense"]}
    assert densities == {1.0, 0.1}
    for row in results["sparse_vs_dense"]:
        assert row["dense_seconds"] > 0 and row["sparse_seconds"] > 0
        assert abs(row["speedup"] - row["dense_seconds"] / row["sparse_seconds"]) < 1e-12
    assert {row["threads"] for row in results["sparse_vs_dense"]} == {1}
    for table in ("rounds", "inference"):
        rows = {row["density"]: row for row in results[table]}
        assert set(rows) == {1.0, 0.1} and rows[1.0]["speedup"] == 1.0, table
    for row in results["rounds"]:
        assert row["paper_round_seconds"] == row["seconds"] * 50_000 / results["config"]["round_iterations"]
    assert [(row["threads"], row["density"]) for row in results["under_load"]] == [
        (1, 1.0), (1, 0.1), ("auto", 1.0), ("auto", 0.1)]
    for row in results["under_load"]:
        assert row["slowdown"] == row["loaded_seconds"] / row["quiet_seconds"] and row["hogs"] == 2
    assert "Whole round" in completed.stdout and "Under load" in completed.stdout
    assert "Compact tickets" in completed.stdout
    assert [row["predictions_identical"] for row in results["compaction"]] == [True, True]  # two rounds' tickets
    for row in results["compaction"]:
        assert set(row["seconds"]) == {"1", "1000"}  # JSON keys
        assert row["kept"][-1] == 10 and all(k <= t for k, t in zip(row["kept"], row["layer_sizes"]))
    env = results["environment"]
    assert env["torch_threads"] is None, "PyTorch ran in the benchmark's own process, beside our kernels"
    assert env["cpu_count"] >= 1 and env["versions"]["numpy"]
    assert set(env["openblas_env"]) == {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
