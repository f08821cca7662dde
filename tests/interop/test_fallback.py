"""`--target onert --fallback float` on onert: every fixture model that
`--target onert` refuses with Q801 once its set is complete runs after
`apply --target onert --fallback float`, the operators onert has no
quantized kernel for in float between the DEQUANTIZE and QUANTIZE `apply`
inserts.

The sets: `story.qparam` (calibrated by fixtures/make.py; a standalone
RELU) and, for the tico models whose PyTorch exports do not reach a clean
check after `check --fix` (module outputs the matcher cannot place, keys
tico fused away), a complete uint8 set calibrated here from the model
itself with fixtures/refexec.py, as `check --fix` completes it: the encoders
(RSQRT, STRIDED_SLICE, BATCH_MATMUL), mobilenetv3 (DIV), squeezenet (RELU),
vit (also GELU) and m5 (ELU). Left out: mobilenetv2, efficientnet, vgg,
densenet and resnet18, whose complete sets raise no Q801; unet,
shufflenetv2, convnext, mixer and espcn, which onert cannot run even in
float (docs/testing.md).

The oracle: onert's output within 3 quantization steps of the float
model's on onert, or, where it is further (a quantized output fed by the
float fallback, or a network that quantization itself takes further), no
further than a numpy simulation of the same quantized model (every tensor
the written model quantizes rounded to its parameters) plus one step.
"""
import json
import os
import shutil
import sys

import numpy as np
import pytest

import onert_matrix as matrix
from conftest import FIXTURES, fixture, q_implant, read_model

sys.path.insert(0, FIXTURES)
import refexec  # noqa: E402
from circle_schema.v0_10.circle.BuiltinOperator import BuiltinOperator as Op  # noqa: E402
from circle_schema.v0_10.circle.TensorType import TensorType  # noqa: E402

MAX_STEPS = 3.0
SEED = 7
INPUTS = 4

# Operators that move values: onert copies their bytes (or refuses other
# output parameters), so their outputs take their input's parameters.
MOVES = {Op.TRANSPOSE, Op.RESHAPE, Op.SQUEEZE, Op.EXPAND_DIMS, Op.SPLIT, Op.SLICE, Op.STRIDED_SLICE, Op.GATHER,
         Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D, Op.PAD, Op.PADV2, Op.MIRROR_PAD}

CALIBRATED = ["encoder", "encoder_qkv", "mobilenetv3", "squeezenet", "vit", "m5"]


def inputs(model):
    sg = model.subgraphs[0]
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal(sg.tensors[sg.inputs[0]].shape).astype(np.float32) for _ in range(INPUTS)]


def uint8_params(lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    return np.float32(scale), int(np.clip(np.round(-lo / scale), 0, 255))


def calibrated_set(name, directory):
    """Per-tensor uint8 parameters for every activation of the model, from
    its ranges on `inputs` (outputs of operators that move values share
    their input's); `check --fix` adds weights, biases and constants."""
    model = refexec.load(fixture(name))
    sg = model.subgraphs[0]
    is_activation = [t.type == TensorType.FLOAT32 and refexec.constant(model, t) is None for t in sg.tensors]
    lo, hi = {}, {}
    for x in inputs(model):
        for i, v in refexec.run(model, [x]).items():
            if is_activation[i]:
                lo[i], hi[i] = min(lo.get(i, np.inf), float(v.min())), max(hi.get(i, -np.inf), float(v.max()))
    params = {i: uint8_params(lo[i], hi[i]) for i in sg.inputs}
    for op in sg.operators:
        sources = [i for i in op.inputs if i >= 0 and is_activation[i]]
        moves = refexec.opcode(model, op) in MOVES and sources and sources[0] in params
        for y in (y for y in op.outputs if is_activation[y]):
            params[y] = params[sources[0]] if moves else uint8_params(lo[y], hi[y])
    os.makedirs(directory)
    entries = {}
    for n, (i, (s, z)) in enumerate(sorted(params.items())):
        np.save(os.path.join(directory, f"{n}-scale.npy"), np.array([s], np.float32))
        np.save(os.path.join(directory, f"{n}-zerop.npy"), np.array([z], np.int64))
        entries[sg.tensors[i].name.decode()] = {"dtype": "uint8", "scale": f"{n}-scale.npy",
                                                "zerop": f"{n}-zerop.npy", "quantized_dimension": 0}
    with open(os.path.join(directory, "qparam.json"), "w") as f:
        json.dump(entries, f, indent=2)
    return os.path.join(directory, "qparam.json")


def diagnostics(model, qparam, *extra):
    proc = q_implant("check", model, qparam, "--format", "json", *extra, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["diagnostics"]


def written_parameters(float_model, written):
    """Tensor index of the float model -> its parameters in the written
    model, for the tensors the written model quantizes (what the fallback
    keeps float is not rounded)."""
    by_name = {t.name: t for t in written.subgraphs[0].tensors}
    kinds = {TensorType.UINT8: "uint8", TensorType.INT8: "int8", TensorType.INT32: "int32"}
    params = {}
    for i, t in enumerate(float_model.subgraphs[0].tensors):
        w = by_name.get(t.name)
        if t.type != TensorType.FLOAT32 or w is None or w.type not in kinds or w.quantization is None:
            continue
        q = w.quantization
        params[i] = (kinds[w.type], np.asarray(q.scale, np.float64), np.asarray(q.zeroPoint, np.float64),
                     q.quantizedDimension)
    return params


def fallback_runs(name, qparam, out):
    """Fixes and applies the set with the fallback; returns onert's and the
    simulation's largest differences from the float model, in steps."""
    model_path = fixture(name)
    q_implant("check", model_path, qparam, "--fix", check=False)
    found = diagnostics(model_path, qparam, "--target", "onert")
    assert [d for d in found if d["severity"] == "error" and d["code"] != "Q801"] == [], found
    assert "Q801" in [d["code"] for d in found], "the set is one --target onert refuses with Q801"
    q_implant("check", model_path, qparam, "--fix", "--target", "onert", "--fallback", "float", check=False)
    found = diagnostics(model_path, qparam, "--target", "onert", "--fallback", "float")
    errors = [d["message"] for d in found if d["severity"] == "error"]
    assert errors == [], errors
    assert any(d["code"] == "Q810" for d in found)
    applied = q_implant("apply", model_path, qparam, "-o", out, "--target", "onert", "--fallback", "float")
    assert "inserted: DEQUANTIZE" in applied.stderr and "inserted: QUANTIZE" in applied.stderr, applied.stderr
    float_model = refexec.load(model_path)
    written, _ = read_model(out)
    sg = written.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    (s_in, z_in), (s_out, z_out) = [(float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0]))
                                    for t in (tin, tout)]
    xs = inputs(float_model)
    reference = matrix.run_model(open(model_path, "rb").read(), [[x] for x in xs], log=False)
    assert reference["ok"], reference["error"]
    quantized = matrix.run_model(open(out, "rb").read(),
                                 [[np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)] for x in xs])
    assert quantized["ok"], quantized["error"]
    params = written_parameters(float_model, written)
    onert_steps = max(float(np.abs((y.astype(np.float64) - z_out) * s_out - ref).max()) / s_out
                      for y, ref in zip(quantized["outputs"], reference["outputs"]))
    simulated_steps = max(float(np.abs(matrix.simulated(float_model, params, x) - ref).max()) / s_out
                          for x, ref in zip(xs, reference["outputs"]))
    return onert_steps, simulated_steps


def assert_close(name, onert_steps, simulated_steps):
    assert onert_steps <= MAX_STEPS or onert_steps <= simulated_steps + 1.0, (
        f"{name}: onert is {onert_steps:.2f} steps off, the simulation of the same model {simulated_steps:.2f}")


def test_the_story_set_runs_with_its_relu_in_float(tmp):
    qparam = tmp / "story"
    shutil.copytree(os.path.join(FIXTURES, "story.qparam"), qparam)
    onert_steps, simulated = fallback_runs("story", qparam / "qparam.json", tmp / "q.circle")
    assert_close("story", onert_steps, simulated)


@pytest.mark.parametrize("name", CALIBRATED)
def test_complete_sets_onert_refuses_run_with_the_fallback(name, tmp):
    qparam = calibrated_set(name, str(tmp / name))
    onert_steps, simulated = fallback_runs(name, qparam, tmp / "q.circle")
    assert_close(name, onert_steps, simulated)


def test_without_the_fallback_onert_refuses_them(tmp):
    """Guards the test: the same sets written without the fallback fail on
    onert (a standalone RELU at prepare)."""
    qparam = tmp / "story"
    shutil.copytree(os.path.join(FIXTURES, "story.qparam"), qparam)
    out = tmp / "q.circle"
    q_implant("apply", fixture("story"), qparam / "qparam.json", "-o", out)
    written, _ = read_model(out)
    tin = written.subgraphs[0].tensors[written.subgraphs[0].inputs[0]]
    res = matrix.run_model(open(out, "rb").read(), [[np.zeros(tin.shape, np.uint8)]], log=False)
    assert not res["ok"] and res["stage"] == "prepare", res
