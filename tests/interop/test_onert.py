"""The ONE runtime (onert, CPU) as the oracle: the model `apply` writes runs,
and its dequantized output stays within a few quantization steps of the
float model's on the same input."""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import FIXTURES, fixture, q_implant, read_model, onert_output

MAX_STEPS = 3.0



def error_in_steps(name, qparam_dir, out, float_io=False, extra=()):
    """Largest difference between the float and the quantized model's
    outputs, in quantization steps of the output."""
    args = (["--float-io"] if float_io else []) + list(extra)
    q_implant("apply", fixture(name), os.path.join(qparam_dir, "qparam.json"), "-o", out, *args)
    fm, _ = read_model(fixture(name))
    qm, _ = read_model(out)
    fsg, qsg = fm.subgraphs[0], qm.subgraphs[0]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(fsg.tensors[fsg.inputs[0]].shape).astype(np.float32)
    y_float = onert_output(fixture(name), x)
    s_out = float(qsg.tensors[qsg.outputs[0]].quantization.scale[0]) if not float_io else None
    if float_io:
        params = json.load(open(os.path.join(qparam_dir, "qparam.json")))
        out_entry = params[fsg.tensors[fsg.outputs[0]].name.decode()]
        s_out = float(np.load(os.path.join(qparam_dir, out_entry["scale"]))[0])
    if float_io:
        y = onert_output(out, x)
        assert y.dtype == np.float32
    else:
        tin, tout = qsg.tensors[qsg.inputs[0]], qsg.tensors[qsg.outputs[0]]
        s_in, z_in = tin.quantization.scale[0], tin.quantization.zeroPoint[0]
        xq = np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)
        yq = onert_output(out, xq)
        assert yq.dtype == np.uint8
        y = (yq.astype(np.float32) - tout.quantization.zeroPoint[0]) * tout.quantization.scale[0]
    return float(np.abs(y - y_float).max() / s_out)


@pytest.mark.parametrize("name", ["convnet", "mlp"])
def test_quantized_model_runs_within_quantization_error(name, tmp):
    steps = error_in_steps(name, os.path.join(FIXTURES, f"{name}.qparam"), tmp / "q.circle")
    assert steps <= MAX_STEPS, f"{name}: {steps:.2f} steps off"


@pytest.mark.parametrize("name", ["convnet", "mlp"])
def test_float_io_model_takes_and_gives_floats(name, tmp):
    steps = error_in_steps(name, os.path.join(FIXTURES, f"{name}.qparam"), tmp / "q.circle", float_io=True)
    assert steps <= MAX_STEPS, f"{name}: {steps:.2f} steps off"


@pytest.mark.parametrize("name", ["convnet", "mlp"])
def test_a_scale_off_by_two_is_caught(name, tmp):
    """Guards the oracle: doubling one weight scale must break the bound."""
    broken = tmp / "qparam"
    shutil.copytree(os.path.join(FIXTURES, f"{name}.qparam"), broken)
    params = json.load(open(broken / "qparam.json"))
    weight = next(k for k, e in params.items() if "value" in e and e["dtype"] == "uint8")
    scale_file = broken / params[weight]["scale"]
    np.save(scale_file, np.load(scale_file) * 2)
    steps = error_in_steps(name, str(broken), tmp / "q.circle")
    assert steps > MAX_STEPS, f"{name}: doubling the scale of {weight} went unnoticed ({steps:.2f} steps)"


@pytest.mark.parametrize("name", ["convnet", "mlp"])
def test_pytorch_names_fixed_then_applied_run(name, tmp):
    """The exporter's PyTorch names: `check --fix` renames them, `apply
    --propagate` fills the Transposes the exporter never saw, onert runs it."""
    qparam = tmp / "qparam"
    shutil.copytree(os.path.join(FIXTURES, f"{name}.torch-qparam"), qparam)
    fixed = q_implant("check", fixture(name), qparam / "qparam.json", "--fix", "--propagate", check=False)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    steps = error_in_steps(name, str(qparam), tmp / "q.circle", extra=["--propagate"])
    assert steps <= MAX_STEPS, f"{name}: {steps:.2f} steps off"
