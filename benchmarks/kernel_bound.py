"""What bounds the sparse products: the same kernels with their inputs in L1, in L2, and at four times the batch.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/kernel_bound.py --json results/kernel_bound.json

LeNet-300-100's first layer at ``--density`` (default 0.1) keeps ``k = round(density * 784)``
inputs per output unit. Its forward SpMM (``jitted.spmm_serial``) and its weight-gradient SDDMM
(``jitted.sddmm_serial``) are timed on one thread, on three layers that all keep exactly ``k``
random inputs per output:

* ``L2``: the real layer. The activations are 784 x batch floats (200 KB at batch 64): they fit
  in a core's L2 cache, not in its L1 (48 KB on the machine this was written on);
* ``L1``: the same ``k`` weights per output drawn from only ``--l1-inputs`` inputs (default 128:
  32 KB at batch 64), so that every row the kernel reads comes from L1;
* ``4x batch``: the real layer at four times the batch, four times the arithmetic.

If the memory the kernels read bounded them, ``L1`` would run much faster than ``L2``. If a cost
per surviving weight bounded them, ``4x batch`` would cost less than four times ``L2``. The cases
take turns (``timing.interleaved``) and each reports the median of its repeats.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Callable

import numba
import numpy as np

from lottery_np.engine.kernels import SparsityPattern, jitted, reference

from timing import interleaved, per_call, write_json  # benchmarks/timing.py

FAN_IN, FAN_OUT = 784, 300  # LeNet-300-100's first layer
CASES = ("L2", "L1", "4x batch")


def layer(fan_in: int, per_output: int, batch: int, rng: np.random.Generator) -> dict:
    """A ``(fan_in, FAN_OUT)`` layer keeping exactly ``per_output`` random inputs per output, with data."""
    mask = np.zeros((fan_in, FAN_OUT), dtype=np.float32)
    for j in range(FAN_OUT):
        mask[rng.choice(fan_in, size=per_output, replace=False), j] = 1.0
    pattern = SparsityPattern.from_mask(mask)
    weights = rng.standard_normal((fan_in, FAN_OUT), dtype=np.float32) * pattern.mask
    return {"pattern": pattern, "weights": weights, "values": pattern.gather_by_output(weights),
            "A": rng.standard_normal((fan_in, batch), dtype=np.float32),
            "dZ": rng.standard_normal((FAN_OUT, batch), dtype=np.float32)}


def kernels(case: dict) -> dict[str, Callable[[], np.ndarray]]:
    """The two products on ``case``'s layer, each writing into its own buffer and returning it."""
    p = case["pattern"]
    Z = np.empty((FAN_OUT, case["A"].shape[1]), dtype=np.float32)
    dW = np.empty(p.active.size, dtype=np.float32)

    def spmm():  # Z = (W * M).T @ A, by output
        jitted.spmm_serial(p.csc_indptr, p.csc_indices, case["values"], case["A"], Z)
        return Z

    def sddmm():  # dW at the survivors, by output: dW[k] = dZ[j, :] . A[i_k, :]
        jitted.sddmm_serial(p.csc_indptr, p.csc_indices, case["dZ"], case["A"], dW)
        return dW

    return {"spmm": spmm, "sddmm": sddmm}


def check(case: dict, products: dict) -> None:
    """Each kernel against the NumPy reference, so that what is timed is the real product."""
    p, mask = case["pattern"], case["pattern"].mask
    np.testing.assert_allclose(products["spmm"](), reference.masked_forward(case["A"], case["weights"], mask),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(products["sddmm"](),
                               p.gather_by_output(reference.masked_backward_weights(case["A"], case["dZ"], mask)),
                               rtol=1e-4, atol=1e-3)


def measure(density: float, batch: int, l1_inputs: int, repeats: int, calls: int, seed: int = 0) -> list[dict]:
    """One row per case and product: median seconds per call, per surviving weight, and against ``L2``."""
    per_output = round(density * FAN_IN)
    if not 1 <= per_output <= l1_inputs <= FAN_IN:
        raise ValueError(f"need 1 <= density * {FAN_IN} = {per_output} <= l1_inputs = {l1_inputs} <= {FAN_IN}")
    rng = np.random.default_rng(seed)
    cases = {"L2": layer(FAN_IN, per_output, batch, rng), "L1": layer(l1_inputs, per_output, batch, rng),
             "4x batch": layer(FAN_IN, per_output, 4 * batch, rng)}
    runners = {}
    for name, case in cases.items():
        products = kernels(case)
        check(case, products)
        runners.update({(name, product): per_call(run, calls) for product, run in products.items()})
    samples = interleaved(runners, repeats)
    rows = []
    for (name, product), seconds in samples.items():
        median = statistics.median(seconds)
        rows.append({"case": name, "product": product, "seconds": median,
                     "activations_kb": cases[name]["A"].nbytes / 1024,
                     "ns_per_weight": 1e9 * median / cases[name]["pattern"].active.size,
                     "against_L2": median / statistics.median(samples[("L2", product)])})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--l1-inputs", type=int, default=128, help="inputs of the L1 case")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=50, help="calls per timed sample")
    parser.add_argument("--json", type=Path, help="write the rows and the settings to this file")
    args = parser.parse_args(argv)
    rows = measure(args.density, args.batch, args.l1_inputs, args.repeats, args.calls)
    print(f"LeNet's first layer at density {args.density}, batch {args.batch}, one thread "
          f"(median of {args.repeats} x {args.calls} calls)")
    print(f"{'case':>9} {'product':>8} {'activations KB':>15} {'us':>9} {'ns/weight':>10} {'vs L2':>7}")
    for row in rows:
        print(f"{row['case']:>9} {row['product']:>8} {row['activations_kb']:>15.0f} {1e6 * row['seconds']:>9.1f} "
              f"{row['ns_per_weight']:>10.2f} {row['against_L2']:>6.2f}x")
    result = {"settings": vars(args), "numba": numba.__version__, "rows": rows}
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
