"""onert's outputs for the interpreter's integer kernels (tests/integer_kernels.rs).

Builds one small quantized model per case with the single-operator builders
of tests/interop/onert_matrix.py (the cells of onert's support matrix),
runs each in onert (CPU) on a few random integer inputs, and saves under
tests/integer-reference/<case>/ the model (`model.circle`), the inputs
(`r<k>.in<i>.npy`, the integers onert was given) and onert's output
(`r<k>.out.npy`). The Rust test runs the same models in the interpreter and
requires the same integers.

Regenerate (from the repository root) with:

    /path/to/python scripts/integer_reference.py

where the Python environment has `onert`, `numpy` and `circle-schema`.
"""
import pathlib
import shutil
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "interop"))
import onert_matrix as matrix  # noqa: E402

OUT = ROOT / "tests" / "integer-reference"
# Input sets per case beyond the builder's own: enough integers that ties
# and saturations turn up, few enough to keep the files small.
EXTRA_RUNS = 2
SEED = 20260704

# Cells of the support matrix, each an operator the interpreter computes
# in integers, in the schemes and granularities onert runs (and a few
# special cases: fused activations, long inner dimensions, broadcast
# constants, parameters that differ between input and output, where onert
# moves the integers and lets the output's parameters say what they mean).
CASES = [
    "CONV_2D/uint8/per-tensor",
    "CONV_2D/uint8/per-channel",
    "CONV_2D/uint8/per-channel-zp",
    "CONV_2D/int8/per-tensor",
    "CONV_2D/int8/per-channel",
    "CONV_2D/uint8/fused-RELU6",
    "CONV_2D/int8/fused-RELU",
    "CONV_2D/uint8/per-tensor/k7s2valid-c3x8-h70",
    "CONV_2D/uint8/per-channel-zp/k3s1same-c64x64-h8",
    "CONV_2D/int8/per-channel/k1s2valid-c8x16-h16",
    "DEPTHWISE_CONV_2D/uint8/per-tensor",
    "DEPTHWISE_CONV_2D/uint8/per-channel-zp",
    "DEPTHWISE_CONV_2D/int8/per-channel",
    "DEPTHWISE_CONV_2D/uint8/fused-RELU",
    "FULLY_CONNECTED/uint8/per-tensor",
    "FULLY_CONNECTED/uint8/fused-RELU6",
    "FULLY_CONNECTED/uint8/per-channel-zp",
    "ADD/uint8/per-tensor",
    "ADD/int8/per-tensor",
    "ADD/uint8/const-per-tensor",
    "ADD/uint8/const-per-channel-zp",
    "SUB/uint8/per-tensor",
    "SUB/int8/per-tensor",
    "MUL/uint8/per-tensor",
    "MUL/int8/per-tensor",
    "MUL/uint8/const-per-tensor",
    "MEAN/uint8/per-tensor",
    "MEAN/uint8/last-axis",
    "AVERAGE_POOL_2D/uint8/per-tensor",
    "AVERAGE_POOL_2D/int8/per-tensor",
    "AVERAGE_POOL_2D/uint8/other-out-params",
    "MAX_POOL_2D/uint8/per-tensor",
    "MAX_POOL_2D/uint8/other-out-params",
    "CONCATENATION/uint8/per-tensor",
    "CONCATENATION/uint8/mixed-in-params",
    "CONCATENATION/uint8/other-out-params",
    "SOFTMAX/uint8/per-tensor",
    "SOFTMAX/int8/per-tensor",
    "SOFTMAX/uint8/calibrated-out",
    "LOGISTIC/uint8/per-tensor",
    "LOGISTIC/uint8/calibrated-out",
    "TANH/uint8/per-tensor",
    "TANH/uint8/calibrated-out",
    "RESHAPE/uint8/per-tensor",
    "RESHAPE/uint8/other-out-params",
    "RESHAPE/int8/other-out-params",
    "TRANSPOSE/uint8/per-tensor",
    "PAD/uint8/per-tensor",
    "PAD/int8/per-tensor",
    "PADV2/uint8/per-tensor",
    "GATHER/uint8/other-out-params",
    "QUANTIZE/uint8/per-tensor",
    "DEQUANTIZE/uint8/per-tensor",
]


def extra_inputs(rng, inputs):
    """Random inputs like `inputs`: integers over the dtype's range, floats
    over a range wider than the quantized one."""
    out = []
    for x in inputs:
        if x.dtype == np.float32:
            out.append(rng.uniform(-4.0, 5.0, size=x.shape).astype(np.float32))
        else:
            info = np.iinfo(x.dtype)
            out.append(rng.integers(info.min, info.max + 1, size=x.shape).astype(x.dtype))
    return out


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    for cid in CASES:
        case = matrix.CELLS[cid]["build"](matrix._rng(cid))
        # Each case's own generator: adding a case changes no other.
        rng = np.random.default_rng([SEED] + [ord(ch) for ch in cid])
        runs = [case.inputs] + [extra_inputs(rng, case.inputs) for _ in range(EXTRA_RUNS)]
        res = matrix.run_model(case.model, runs)
        if not res["ok"]:
            sys.exit(f"{cid}: onert did not run it: {res['error']}")
        d = OUT / cid.replace("/", ".")
        d.mkdir(parents=True)
        (d / "model.circle").write_bytes(case.model)
        for k, (xs, y) in enumerate(zip(runs, res["outputs"])):
            for i, x in enumerate(xs):
                np.save(d / f"r{k}.in{i}.npy", x)
            np.save(d / f"r{k}.out.npy", np.asarray(y))
        print(f"{cid}: {len(runs)} runs, output {np.asarray(res['outputs'][0]).dtype}"
              f"{list(np.asarray(res['outputs'][0]).shape)}")


if __name__ == "__main__":
    main()
