"""A raw PyTorch export of ResNet-18 (PyTorch names, weights in PyTorch's
OIHW layout, no entries for what the converter invented) goes through
`check --fix` and `apply` alone to a model the ONE runtime runs.

The oracle has two parts. onert's output stays within 3 quantization steps
of the float model's on average over the calibration inputs; and it is never
further off than a numpy simulation of the same quantized model (every
tensor rounded to its parameters), which says how far the quantization
itself takes this 20-layer network."""
import json
import os
import shutil
import sys

import numpy as np

import onert_matrix as matrix
from conftest import FIXTURES, fixture, q_implant, read_model, onert_output

sys.path.insert(0, FIXTURES)
import refexec  # noqa: E402

# The seed fixtures/make.py calibrates with.
SEED = 20261127



def calibration_inputs(shape, count=8):
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def test_raw_resnet18_export_is_fixed_applied_and_runs(tmp):
    qparam = tmp / "export"
    shutil.copytree(os.path.join(FIXTURES, "resnet18.torch-qparam"), qparam)
    model = fixture("resnet18")
    fixed = q_implant("check", model, qparam / "qparam.json", "--fix", check=False)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    out = tmp / "q.circle"
    q_implant("apply", model, qparam / "qparam.json", "-o", out)

    float_model = refexec.load(model)
    quantized, _ = read_model(out)
    sg = quantized.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    (s_in, z_in), (s_out, z_out) = [
        (float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])) for t in (tin, tout)
    ]
    params = matrix.parameters(float_model, str(qparam))
    errors, simulated_errors = [], []
    for x in calibration_inputs(float_model.subgraphs[0].tensors[float_model.subgraphs[0].inputs[0]].shape):
        y_float = onert_output(model, x)
        xq = np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)
        y = (onert_output(out, xq).astype(np.float32) - z_out) * s_out
        errors.append(np.abs(y - y_float) / s_out)
        simulated_errors.append(np.abs(matrix.simulated(float_model, params, x) - y_float) / s_out)
    errors, simulated_errors = np.concatenate(errors), np.concatenate(simulated_errors)
    assert errors.mean() <= 3.0, f"{errors.mean():.2f} steps off on average"
    assert errors.max() <= simulated_errors.max(), (
        f"onert is {errors.max():.2f} steps off at worst, more than the {simulated_errors.max():.2f} "
        "the quantization itself explains"
    )


def test_a_broken_weight_scale_is_caught(tmp):
    """Guards the oracle: one weight scale doubled after the fix must show."""
    qparam = tmp / "export"
    shutil.copytree(os.path.join(FIXTURES, "resnet18.torch-qparam"), qparam)
    model = fixture("resnet18")
    q_implant("check", model, qparam / "qparam.json", "--fix", check=False)
    entries = json.load(open(qparam / "qparam.json"))
    weight = next(k for k, e in entries.items() if "value" in e and e["dtype"] == "uint8" and "_prop_tensor" in k)
    scale_file = qparam / entries[weight]["scale"]
    np.save(scale_file, np.load(scale_file) * 2)
    out = tmp / "q.circle"
    q_implant("apply", model, qparam / "qparam.json", "-o", out)
    quantized, _ = read_model(out)
    sg = quantized.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    x = calibration_inputs(tin.shape, 1)[0]
    xq = np.clip(np.round(x / tin.quantization.scale[0]) + tin.quantization.zeroPoint[0], 0, 255).astype(np.uint8)
    y = (onert_output(out, xq).astype(np.float32) - tout.quantization.zeroPoint[0]) * tout.quantization.scale[0]
    steps = np.abs(y - onert_output(model, x)) / tout.quantization.scale[0]
    assert steps.mean() > 3.0, f"doubling the scale of {weight} went unnoticed ({steps.mean():.2f} steps)"
