"""The story's two exports, as a team's first PyTorch exporter wrote them,
from `check --fix --target onert` to a written model, read back with the
independent circle-schema reader:

- the tico path (`story.circle`, `story.torch-qparam/`: raw float biases,
  int8 weights under uint8 activations, a standalone RELU) and the ONNX ->
  TF path (`story_onnxtf.circle`, `story_onnxtf.torch-qparam/`: fused
  names, biases saved as `b / s_out + zp_out`) both check clean after the
  fix (the tico path with `--fallback float`, for its RELU), and `apply
  --target onert` writes them;
- every bias in the written models is exactly the spec's: int32, zero
  point 0, scale = input scale x weight scale, values rounded from the
  model's float bias; every weight exactly the export's int8 values + 128
  as uint8 with zero point 128 and the export's scale;
- the tico path's model runs on onert within 3 steps of the float model.
  (onert cannot load the ONNX -> TF model even in float: Q811.)
"""
import json
import os
import shutil

import numpy as np
import pytest

import onert_matrix as matrix
from conftest import FIXTURES, fixture, q_implant, read_model

MAX_STEPS = 3.0
SEED = 20261127

STORIES = {
    "story": ["--fallback", "float"],
    "story_onnxtf": [],
}


def journey(name, tmp):
    """`check --fix --target onert`, a clean check, and `apply --target
    onert`; returns the written model's path and the export's directory."""
    export = tmp / "export"
    shutil.copytree(os.path.join(FIXTURES, f"{name}.torch-qparam"), export)
    extra = STORIES[name]
    fixed = q_implant("check", fixture(name), export / "qparam.json", "--fix", "--target", "onert", *extra,
                      check=False)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "requantized for onert 0.1.0" in fixed.stderr, fixed.stderr
    out = tmp / "q.circle"
    q_implant("apply", fixture(name), export / "qparam.json", "-o", out, "--target", "onert", *extra)
    return out, export


def layers(name):
    """(weight key, bias key) of each convolution, and the tensors they mean."""
    expected = json.load(open(os.path.join(FIXTURES, f"{name}.torch-qparam", "expected.json")))
    return [(expected[k], expected[k[:-len("weight")] + "bias"], k) for k in expected if k.endswith(".weight")]


@pytest.mark.parametrize("name", list(STORIES))
def test_biases_are_the_spec_and_weights_the_export_plus_128(name, tmp):
    out, _ = journey(name, tmp)
    original = os.path.join(FIXTURES, f"{name}.torch-qparam")
    exported = json.load(open(os.path.join(original, "qparam.json")))
    float_model, _ = read_model(fixture(name))
    written, _ = read_model(out)
    fsg, sg = float_model.subgraphs[0], written.subgraphs[0]
    index = {t.name.decode(): i for i, t in enumerate(sg.tensors)}
    fbuf = lambda t: np.frombuffer(bytes(float_model.buffers[t.buffer].data), np.float32)  # noqa: E731
    buf = lambda t, dtype: np.frombuffer(bytes(written.buffers[t.buffer].data), dtype)  # noqa: E731
    checked = 0
    for weight, bias, key in layers(name):
        w, b = sg.tensors[index[weight]], sg.tensors[index[bias]]
        op = next(o for o in sg.operators if index[weight] in list(o.inputs))
        x = sg.tensors[op.inputs[0]]
        # The weight: the export's int8 values + 128, OIHW laid out as OHWI.
        e = exported[key]
        w_int8 = np.load(os.path.join(original, e["value"])).transpose(0, 2, 3, 1)
        w_scale = np.float32(np.load(os.path.join(original, e["scale"])))
        assert w.type == 3 and list(w.quantization.zeroPoint) == [128], key
        assert list(w.quantization.scale) == [w_scale], key
        assert np.array_equal(buf(w, np.uint8), (w_int8.astype(np.int16) + 128).astype(np.uint8).ravel()), key
        # The bias: the spec's, from the model's float bias.
        scale = np.float64(x.quantization.scale[0]) * np.float64(w.quantization.scale[0])
        float_bias = fbuf(fsg.tensors[index[bias]]).astype(np.float64)
        assert b.type == 2 and list(b.quantization.zeroPoint) == [0], bias
        assert list(b.quantization.scale) == [np.float32(scale)], bias
        assert np.array_equal(buf(b, np.int32), np.round(float_bias / scale).astype(np.int32)), bias
        checked += 1
    assert checked == 3


def onert_steps(out):
    """The written story model's largest difference from the float model on
    onert, in steps of its output, over 8 inputs."""
    written, _ = read_model(out)
    sg = written.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    (s_in, z_in), (s_out, z_out) = [(float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0]))
                                    for t in (tin, tout)]
    rng = np.random.default_rng(SEED)
    xs = [rng.standard_normal(tin.shape).astype(np.float32) for _ in range(8)]
    reference = matrix.run_model(open(fixture("story"), "rb").read(), [[x] for x in xs], log=False)
    quantized = matrix.run_model(open(out, "rb").read(),
                                 [[np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)] for x in xs])
    assert reference["ok"] and quantized["ok"], (reference["error"], quantized["error"])
    return max(float(np.abs((y.astype(np.float64) - z_out) * s_out - ref).max()) / s_out
               for y, ref in zip(quantized["outputs"], reference["outputs"]))


def test_the_tico_story_runs_on_onert_within_three_steps(tmp):
    out, _ = journey("story", tmp)
    steps = onert_steps(out)
    assert steps <= MAX_STEPS, f"{steps:.2f} steps off"


def test_a_broken_weight_scale_is_caught(tmp):
    """Guards the oracle: one weight scale doubled after the journey."""
    _, export = journey("story", tmp)
    entries = json.load(open(export / "qparam.json"))
    weight = next(k for k, e in entries.items() if "value" in e and e["dtype"] == "uint8")
    np.save(export / entries[weight]["scale"], np.load(export / entries[weight]["scale"]) * 2)
    out = tmp / "broken.circle"
    q_implant("apply", fixture("story"), export / "qparam.json", "-o", out, "--target", "onert", "--fallback",
              "float")
    assert onert_steps(out) > MAX_STEPS, f"doubling the scale of {weight} went unnoticed"
