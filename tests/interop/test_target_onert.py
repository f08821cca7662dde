"""`--target onert` (the Q8xx rules, src/analysis/rules/target/onert/) against
onert 0.1.0 itself. For each rule, the minimal change to a fixture set that
tests/target.rs makes (or, where onert fails another way first, the nearest
case that shows the rule's failure; each test says why):

- `check --target onert` reports the rule's code, and `check` without the
  target reports no Q8 code;
- `apply` without the target writes the model, and onert fails on it the way
  docs/targets.md records: rejected at load, prepare, input or run with
  onert's own message, or, for the rules about wrong results with no error,
  an output far from the float model while a numpy simulation of the same
  quantized model (every tensor rounded to its parameters, onert_matrix's
  `simulated`) stays close.

And the positive control: the sets onert runs raise no Q8 code. onert runs
in a subprocess (onert_matrix's runner), so a crash is a failure, not the
end of the suite.
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

# fixtures/make.py's calibration seed.
SEED = 20261127


class QSet:
    """A copy of a fixture qparam set in a temporary directory, edited in place."""

    def __init__(self, name, tmp, source=None):
        self.dir = tmp / f"{name}.qparam"
        shutil.copytree(source or os.path.join(FIXTURES, f"{name}.qparam"), self.dir)
        self.entries = json.load(open(self.dir / "qparam.json"))

    def key(self, suffix):
        return next(k for k in self.entries if k.endswith(suffix))

    def load(self, key, field):
        return np.load(self.dir / self.entries[key][field])

    def set_npy(self, key, field, array):
        name = f"{list(self.entries).index(key)}-{field}.npy"
        np.save(self.dir / name, array)
        self.entries[key][field] = name

    def save(self):
        with open(self.dir / "qparam.json", "w") as f:
            json.dump(self.entries, f, indent=2)
        return self.dir / "qparam.json"


def codes(model, qparam, *extra):
    proc = q_implant("check", model, qparam, "--format", "json", *extra, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return [d["code"] for d in json.loads(proc.stdout)["diagnostics"]]


def q8(found):
    return [c for c in found if c.startswith("Q8")]


def check_both(model, qparam, *extra):
    """The Q8 codes with `--target onert`, after asserting there are none
    without it."""
    assert q8(codes(model, qparam, *extra)) == [], "no Q8 code without --target"
    return q8(codes(model, qparam, "--target", "onert", *extra))


def apply(model, qparam, out, *extra):
    q_implant("apply", model, qparam, "-o", out, *extra)
    return out


def onert(path, runs):
    """onert_matrix's subprocess runner on the model at `path`, one run per
    input list."""
    return matrix.run_model(open(path, "rb").read(), runs, log=False)


def rejected(res, stage, text):
    summary = f"ok={res['ok']} stage={res['stage']} said {res['onert_messages']}"
    assert not res["ok"], summary
    assert res["stage"] == stage, summary
    assert any(text in m for m in res["onert_messages"]), summary


def inputs(model_path, count=4):
    sg = refexec.load(model_path).subgraphs[0]
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal(sg.tensors[sg.inputs[0]].shape).astype(np.float32) for _ in range(count)]


def float_outputs(model_path, xs):
    res = onert(model_path, [[x] for x in xs])
    assert res["ok"], res["error"]
    return res["outputs"]


def run_applied(path, xs):
    """Runs the written model on float inputs: quantizes them with the
    graph input's parameters when it is quantized, dequantizes the output
    likewise. Returns onert's result and the float outputs."""
    model, _ = read_model(path)
    sg = model.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    dtypes = {0: np.float32, 3: np.uint8, 9: np.int8}

    def q(x):
        if tin.type == 0:
            return x
        s, z = float(tin.quantization.scale[0]), int(tin.quantization.zeroPoint[0])
        info = np.iinfo(dtypes[tin.type])
        return np.clip(np.round(x / s) + z, info.min, info.max).astype(dtypes[tin.type])

    res = onert(path, [[q(x)] for x in xs])
    if not res["ok"]:
        return res, None
    if tout.type == 0:
        return res, res["outputs"]
    s, z = float(tout.quantization.scale[0]), int(tout.quantization.zeroPoint[0])
    return res, [(y.astype(np.float64) - z) * s for y in res["outputs"]]


def steps(ys, refs, scale):
    """Differences in steps of `scale`, over all outputs."""
    return np.concatenate([np.abs(np.asarray(y, np.float64) - r).ravel() / scale for y, r in zip(ys, refs)])


@pytest.fixture(scope="module")
def resnet18_fixed(tmp_path_factory):
    """The raw ResNet-18 export after `check --fix`, as
    test_pytorch_export.py makes it."""
    d = tmp_path_factory.mktemp("resnet18") / "export"
    shutil.copytree(os.path.join(FIXTURES, "resnet18.torch-qparam"), d)
    fixed = q_implant("check", fixture("resnet18"), d / "qparam.json", "--fix", check=False)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return d


# ---- the positive control -------------------------------------------------------------

@pytest.mark.parametrize("name", ["convnet", "mlp", "resnet18"])
def test_the_sets_onert_runs_raise_no_q8(name, resnet18_fixed, tmp):
    """The sets the interop suite runs on onert within a few steps
    (test_onert.py, test_pytorch_export.py): no Q8 code, and `apply
    --target onert` writes them."""
    qparam = (resnet18_fixed if name == "resnet18" else os.path.join(FIXTURES, f"{name}.qparam"))
    qparam = os.path.join(qparam, "qparam.json")
    assert q8(codes(fixture(name), qparam, "--target", "onert")) == []
    q_implant("apply", fixture(name), qparam, "-o", tmp / "q.circle", "--target", "onert")


# ---- Q801 onert-no-kernel -------------------------------------------------------------

def test_q801_a_standalone_relu_is_rejected_at_prepare(tmp):
    """The story set as it is: its standalone RELU runs on uint8."""
    s = QSet("story", tmp)
    qparam = s.save()
    assert check_both(fixture("story"), qparam) == ["Q801"]
    out = apply(fixture("story"), qparam, tmp / "q.circle")
    res, _ = run_applied(out, inputs(fixture("story"), 1))
    rejected(res, "prepare", "ElementwiseActivationLayer(ReLU): unsupported data type")


def test_q801_int8_fully_connected_is_rejected_at_run(tmp):
    s = QSet("mlp", tmp)
    for suffix in ["tico::x", "::relu", "::linear_1"]:
        k = s.key(suffix)
        s.entries[k]["dtype"] = "int8"
        s.set_npy(k, "zerop", np.array([0], np.int64))
    qparam = s.save()
    # Both layers run on int8 (Q801); their weights stay uint8 (Q807).
    assert sorted(check_both(fixture("mlp"), qparam)) == ["Q801", "Q801", "Q807", "Q807"]
    out = apply(fixture("mlp"), qparam, tmp / "q.circle")
    res, _ = run_applied(out, inputs(fixture("mlp"), 1))
    rejected(res, "run", "FullyConnected: unsupported data type")


# ---- Q802 onert-int16 -----------------------------------------------------------------

def test_q802_int16_is_refused_by_the_api(tmp):
    s = QSet("mlp", tmp)
    for suffix in ["tico::x", "::relu"]:
        k = s.key(suffix)
        s.entries[k]["dtype"] = "int16"
        s.set_npy(k, "zerop", np.array([0], np.int64))
    qparam = s.save()
    assert check_both(fixture("mlp"), qparam) == ["Q802"]
    out = apply(fixture("mlp"), qparam, tmp / "q.circle")
    model, _ = read_model(out)
    sg = model.subgraphs[0]
    x = np.zeros(sg.tensors[sg.inputs[0]].shape, np.int16)
    rejected(onert(out, [[x]]), "input", "Model has type that runtime API does not support")


# ---- Q803 onert-per-channel-ignored ---------------------------------------------------

def mlp_integer_reference(path, xq, first_channel_only=False):
    """What the written uint8 mlp computes, in integers: each
    FULLY_CONNECTED accumulates sum((x - zx) * (w - zw)) + bias and
    requantizes with in_scale * w_scale / out_scale, per output channel where
    the weights are per channel (onert_matrix's reference). With
    `first_channel_only`, channel 0's weight scale and zero point for every
    channel: what onert 0.1.0 computes."""
    model = refexec.load(path)
    sg = model.subgraphs[0]
    q = xq.astype(np.int64)
    for op in sg.operators:
        x, w, b, y = (sg.tensors[i] for i in (*op.inputs, op.outputs[0]))
        ws = np.asarray(w.quantization.scale, np.float64)
        wz = np.asarray(w.quantization.zeroPoint, np.int64)
        if first_channel_only:
            ws, wz = ws[:1], wz[:1]
        wq = refexec.constant(model, w).astype(np.int64) - wz[:, None]
        acc = (q - x.quantization.zeroPoint[0]) @ wq.T + refexec.constant(model, b).astype(np.int64)
        multiplier = float(x.quantization.scale[0]) * ws / float(y.quantization.scale[0])
        out_qp = matrix.QP("uint8", y.quantization.scale[0], y.quantization.zeroPoint[0])
        q = matrix.requantize(acc, multiplier, out_qp, op.builtinOptions.fusedActivationFunction).astype(np.int64)
    return q


def test_q803_per_channel_fully_connected_weights_compute_wrong(tmp):
    """fc1's float weights quantized per output channel into uint8, scales
    and zero points from each channel's own range (so they differ), the
    bias per channel to match. The written model, computed right, is as
    close to the float model as the per-tensor one; onert's output is
    instead what channel 0's parameters for all 32 channels give, steps
    off."""
    model_path = fixture("mlp")
    fm = refexec.load(model_path)
    by_name = {t.name.decode(): t for t in fm.subgraphs[0].tensors}
    s = QSet("mlp", tmp)
    wk, bk = s.key("fc1_weight"), s.key("fc1_bias")
    w = refexec.constant(fm, by_name[wk]).astype(np.float64)
    scale, zp, q = matrix._per_channel_uint8(w, 0)
    assert len(set(scale.tolist())) == 32 and len(set(zp.tolist())) > 8
    s.set_npy(wk, "scale", scale)
    s.set_npy(wk, "zerop", zp)
    s.set_npy(wk, "value", q)
    bias_scale = (float(s.load(s.key("tico::x"), "scale")[0]) * scale.astype(np.float64)).astype(np.float32)
    b = refexec.constant(fm, by_name[bk]).astype(np.float64)
    s.set_npy(bk, "scale", bias_scale)
    s.set_npy(bk, "zerop", np.zeros(32, np.int64))
    s.set_npy(bk, "value", np.round(b / bias_scale.astype(np.float64)).astype(np.int32))
    qparam = s.save()
    assert check_both(model_path, qparam) == ["Q803"]

    out = apply(model_path, qparam, tmp / "q.circle")
    model, _ = read_model(out)
    sg = model.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    s_in, z_in = float(tin.quantization.scale[0]), int(tin.quantization.zeroPoint[0])
    s_out, z_out = float(tout.quantization.scale[0]), int(tout.quantization.zeroPoint[0])
    xs = inputs(model_path, 8)
    xqs = [np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8) for x in xs]
    res = onert(out, [[xq] for xq in xqs])
    assert res["ok"], res["error"]
    got = np.concatenate([y.astype(np.int64).ravel() for y in res["outputs"]])
    right = np.concatenate([mlp_integer_reference(out, xq).ravel() for xq in xqs])
    first = np.concatenate([mlp_integer_reference(out, xq, True).ravel() for xq in xqs])
    floats = np.concatenate([r.ravel() for r in float_outputs(model_path, xs)])
    right_off = np.abs((right - z_out) * s_out - floats) / s_out
    assert right_off.max() <= 3.0, f"the per-channel model itself is {right_off.max():.2f} steps off"
    assert np.abs(got - first).max() <= 1, "onert's output is not channel 0's parameters for every channel"
    off = np.abs((got - z_out) * s_out - floats) / s_out
    assert off.mean() > 3 * right_off.mean() + 1 and off.max() > 10, (
        f"onert {off.mean():.2f} / {off.max():.2f} steps off, the right computation {right_off.mean():.2f} / "
        f"{right_off.max():.2f}")


# ---- Q804 onert-requantizing-copy -----------------------------------------------------

def test_q804_a_transpose_that_would_requantize_is_rejected_at_run(tmp):
    s = QSet("convnet", tmp)
    s.set_npy("unknown::permute_default", "scale", np.array([0.5], np.float32))
    qparam = s.save()
    assert check_both(fixture("convnet"), qparam) == ["Q804"]
    out = apply(fixture("convnet"), qparam, tmp / "q.circle")
    res, _ = run_applied(out, inputs(fixture("convnet"), 1))
    rejected(res, "run", "TransposeLayer : qassym8 input and output scales unmatched")


def test_q804_a_max_pool_that_would_requantize_computes_wrong(resnet18_fixed, tmp):
    """ResNet-18's MAX_POOL_2D output calibrated apart from its input (scale
    x 1.5), the TRANSPOSE after it following: onert copies the pool's bytes,
    so every value downstream is read 1.5 times too large."""
    s = QSet("resnet18", tmp, source=resnet18_fixed)
    pool, after = s.key("MaxPool2d::maxpool2d"), s.key("MaxPool2d::permute_default_4")
    for k in (pool, after):
        s.set_npy(k, "scale", s.load(k, "scale") * np.float32(1.5))
    qparam = s.save()
    assert check_both(fixture("resnet18"), qparam) == ["Q804"]

    out = apply(fixture("resnet18"), qparam, tmp / "q.circle")
    xs = inputs(fixture("resnet18"), 2)
    refs = float_outputs(fixture("resnet18"), xs)
    res, ys = run_applied(out, xs)
    assert res["ok"], res["error"]
    model, _ = read_model(out)
    s_out = float(model.subgraphs[0].tensors[model.subgraphs[0].outputs[0]].quantization.scale[0])
    fm = refexec.load(fixture("resnet18"))
    wrong = steps(ys, refs, s_out)
    params = matrix.parameters(fm, str(s.dir))
    simulated = steps([matrix.simulated(fm, params, x) for x in xs], refs, s_out)
    assert simulated.mean() <= 3.0, f"simulation {simulated.mean():.2f} steps off"
    assert wrong.mean() > 3 * simulated.mean() + 3.0, (
        f"onert {wrong.mean():.2f} steps off on average, the simulation {simulated.mean():.2f}")


# ---- Q805 onert-int8-quantize ---------------------------------------------------------

# The convnet, mixed precision: its first TRANSPOSE (from the float graph
# input) and its last CONV_2D and TRANSPOSE stay float, so the int8 part in
# between (CONV_2D, DEPTHWISE_CONV_2D, PAD) holds only operators onert runs
# on int8. The int8 part begins with the QUANTIZE `apply` inserts after the
# first TRANSPOSE and ends with a DEQUANTIZE.
CONVNET_FLOAT = [
    "tico::x",
    "tico::_prop_tensor_constant0",
    "tico::p_conv2_bias",
    "torch.nn.modules.conv.Conv2d::conv2d_4",
    "torch.nn.modules.conv.Conv2d::permute_default_8",
]
CONVNET_LAYERS = [  # (weight, bias, the layer's input), in the int8 part
    ("tico::_prop_tensor_constant2", "tico::p_conv1_bias", "unknown::permute_default"),
    ("tico::_prop_tensor_constant1", "tico::p_dw_bias", "__main__.modules.<locals>.ConvNet::permute_default_3"),
]


def convnet_mixed(tmp, name, int8):
    """The convnet set without CONVNET_FLOAT's entries; with `int8`, its
    activations int8 (the same scales, zero points less 128) and its weights
    symmetric int8 per tensor from the float weights, biases to match."""
    fm = refexec.load(fixture("convnet"))
    by_name = {t.name.decode(): t for t in fm.subgraphs[0].tensors}
    s = QSet("convnet", tmp / name)
    for k in CONVNET_FLOAT:
        del s.entries[k]
    if int8:
        for k, e in list(s.entries.items()):
            if "value" not in e:
                e["dtype"] = "int8"
                s.set_npy(k, "zerop", s.load(k, "zerop").astype(np.int64) - 128)
        for wk, bk, xk in CONVNET_LAYERS:
            w = refexec.constant(fm, by_name[wk]).astype(np.float64)
            ws = np.float32(np.abs(w).max() / 127)
            s.entries[wk]["dtype"] = "int8"
            s.set_npy(wk, "scale", np.array([ws], np.float32))
            s.set_npy(wk, "zerop", np.array([0], np.int64))
            s.set_npy(wk, "value", np.round(w / float(ws)).astype(np.int8))
            b = refexec.constant(fm, by_name[bk]).astype(np.float64)
            bs = np.float32(float(s.load(xk, "scale")[0]) * float(ws))
            s.set_npy(bk, "scale", np.full(len(b), bs, np.float32))
            s.set_npy(bk, "zerop", np.zeros(len(b), np.int64))
            s.set_npy(bk, "value", np.round(b / float(bs)).astype(np.int32))
    return s, s.save()


def test_q805_quantize_into_int8_computes_wrong(tmp):
    """The QUANTIZE into int8 that mixed precision inserts clamps to [0, 255]:
    every value below the zero point's becomes it. The same model in uint8
    is right, and the int8 model, simulated, is as close as the uint8 one."""
    allow = ("--allow-float", ",".join(CONVNET_FLOAT))
    fm = refexec.load(fixture("convnet"))
    xs = inputs(fixture("convnet"))
    refs = float_outputs(fixture("convnet"), xs)
    # The unit: the last quantized layer's scale in the convnet set.
    unit = float(QSet("convnet", tmp / "unit").load("torch.nn.modules.conv.Conv2d::conv2d_4", "scale")[0])
    result = {}
    for scheme in ("int8", "uint8"):
        s, qparam = convnet_mixed(tmp, scheme, scheme == "int8")
        assert check_both(fixture("convnet"), qparam, *allow) == (["Q805"] if scheme == "int8" else [])
        out = apply(fixture("convnet"), qparam, tmp / f"{scheme}.circle", *allow)
        res, ys = run_applied(out, xs)
        assert res["ok"], f"{scheme}: {res['error']}"
        params = matrix.parameters(fm, str(s.dir))
        simulated = steps([matrix.simulated(fm, params, x) for x in xs], refs, unit)
        result[scheme] = (steps(ys, refs, unit), simulated)
    (i8, i8_sim), (u8, u8_sim) = result["int8"], result["uint8"]
    assert u8.max() <= 3.0 and i8_sim.max() <= 3.0 and u8_sim.max() <= 3.0, (
        f"uint8 {u8.max():.2f}, simulated int8 {i8_sim.max():.2f}, uint8 {u8_sim.max():.2f} steps at worst")
    assert i8.mean() > 3.0 and i8.max() > 20.0, f"int8 only {i8.mean():.2f} / {i8.max():.2f} steps off"


def test_q805_float_io_on_an_int8_mlp(tmp):
    """tests/target.rs's case: `--float-io` on the mlp with `tico::x` int8.
    `check --float-io --target onert` reports the QUANTIZE into int8 (Q805),
    the FULLY_CONNECTED reading int8 (Q801) and its uint8 weight (Q807), and
    `apply --target onert` refuses; written without the target, the model
    fails on onert before the QUANTIZE's clamp can show, at the
    FULLY_CONNECTED."""
    s = QSet("mlp", tmp)
    s.entries["tico::x"]["dtype"] = "int8"
    s.set_npy("tico::x", "zerop", np.array([0], np.int64))
    qparam = s.save()
    assert sorted(q8(codes(fixture("mlp"), qparam, "--float-io", "--target", "onert"))) == ["Q801", "Q805", "Q807"]
    refused = q_implant("apply", fixture("mlp"), qparam, "-o", tmp / "refused.circle", "--float-io",
                        "--target", "onert", "--format", "concise", check=False)
    assert refused.returncode == 1 and "error[Q805]" in refused.stdout, refused.stdout
    assert not (tmp / "refused.circle").exists()
    out = apply(fixture("mlp"), qparam, tmp / "q.circle", "--float-io")
    res, _ = run_applied(out, inputs(fixture("mlp"), 1))
    rejected(res, "run", "FullyConnected: unsupported data type")


# ---- Q806 onert-int8-weight-zero-point ------------------------------------------------

def test_q806_int8_conv_weights_with_a_zero_point_are_rejected_at_load(tmp):
    """The convnet's first CONV_2D weight int8 with zero point 3 (uint8
    activations around it, so Q807 too): refused at load, as the matrix's
    `CONV_2D/int8/per-channel-zp`."""
    s = QSet("convnet", tmp)
    k = "tico::_prop_tensor_constant2"
    s.entries[k]["dtype"] = "int8"
    s.set_npy(k, "zerop", np.array([3], np.int64))
    s.set_npy(k, "value", (s.load(k, "value").astype(np.int64) - 128).astype(np.int8))
    qparam = s.save()
    assert sorted(check_both(fixture("convnet"), qparam)) == ["Q806", "Q807"]
    out = apply(fixture("convnet"), qparam, tmp / "q.circle")
    res, _ = run_applied(out, inputs(fixture("convnet"), 1))
    rejected(res, "load", "OperationValidator failed")


# ---- Q807 onert-mixed-types, Q808 onert-integer-dequantize ----------------------------
# No cell of the matrix has these (one type per cell); the evidence is here.

@pytest.mark.parametrize("name, weight, bias, zero_point", [
    ("convnet", "tico::_prop_tensor_constant2", "tico::p_conv1_bias", 0),
    ("mlp", "tico::p_fc1_weight", "tico::p_fc1_bias", 0),
    ("mlp", "tico::p_fc1_weight", "tico::p_fc1_bias", 3),
])
def test_uint8_activations_with_int8_weights_compute_wrong(name, weight, bias, zero_point, tmp):
    """One layer's weight int8 (from the float weights, with `zero_point`),
    its bias to match, the activations uint8. With zero point 0 only the
    spec's Q706 warning and, for onert, Q807 report the mix, and onert runs
    CONV_2D and FULLY_CONNECTED so with no error, tens of steps off; with
    zero point 3 FULLY_CONNECTED is not refused at load (as CONV_2D is, in
    test_q806_...) but runs, as wrong. The same models simulated are as
    close as the uint8 ones."""
    fm = refexec.load(fixture(name))
    sg = fm.subgraphs[0]
    by_name = {t.name.decode(): t for t in sg.tensors}
    op = next(o for o in sg.operators if sg.tensors[o.inputs[1]].name.decode() == weight)
    s = QSet(name, tmp)
    w = refexec.constant(fm, by_name[weight]).astype(np.float64)
    ws = np.float32(np.abs(w).max() / 127)
    s.entries[weight]["dtype"] = "int8"
    s.set_npy(weight, "scale", np.array([ws], np.float32))
    s.set_npy(weight, "zerop", np.array([zero_point], np.int64))
    s.set_npy(weight, "value", np.clip(np.round(w / float(ws)) + zero_point, -128, 127).astype(np.int8))
    b = refexec.constant(fm, by_name[bias]).astype(np.float64)
    bs = np.float32(float(s.load(sg.tensors[op.inputs[0]].name.decode(), "scale")[0]) * float(ws))
    s.set_npy(bias, "scale", np.full(len(b), bs, np.float32))
    s.set_npy(bias, "zerop", np.zeros(len(b), np.int64))
    s.set_npy(bias, "value", np.round(b / float(bs)).astype(np.int32))
    qparam = s.save()
    assert "Q706" in codes(fixture(name), qparam)
    assert "Q807" in check_both(fixture(name), qparam)
    out = apply(fixture(name), qparam, tmp / "q.circle")
    xs = inputs(fixture(name))
    refs = float_outputs(fixture(name), xs)
    res, ys = run_applied(out, xs)
    assert res["ok"], res["error"]
    model, _ = read_model(out)
    s_out = float(model.subgraphs[0].tensors[model.subgraphs[0].outputs[0]].quantization.scale[0])
    wrong = steps(ys, refs, s_out)
    params = matrix.parameters(fm, str(s.dir))
    simulated = steps([matrix.simulated(fm, params, x) for x in xs], refs, s_out)
    assert simulated.max() <= 3.0, f"simulation {simulated.max():.2f} steps off at worst"
    assert wrong.mean() > 10.0, f"onert only {wrong.mean():.2f} steps off on average"


def test_a_dequantized_int32_bias_is_rejected_at_load(tmp):
    """The mlp's first layer kept float by leaving out its weight's entry
    (`--allow-float` on it): `apply` runs the layer in float and inserts a
    DEQUANTIZE for each of its quantized inputs, the int32 bias among them,
    and onert's validator refuses a DEQUANTIZE from int32 (the line it
    names is the one that refuses int16 DEQUANTIZE in the matrix)."""
    s = QSet("mlp", tmp)
    weight = s.key("fc1_weight")
    del s.entries[weight]
    qparam = s.save()
    out = tmp / "q.circle"
    assert check_both(fixture("mlp"), qparam, "--allow-float", weight) == ["Q808"]
    applied = q_implant("apply", fixture("mlp"), qparam, "-o", out, "--allow-float", weight)
    assert "inserted: DEQUANTIZE tico::p_fc1_bias" in applied.stderr, applied.stderr
    res, _ = run_applied(out, inputs(fixture("mlp"), 1))
    rejected(res, "load", "OperationValidator failed at line 317")


def one_split(dtype):
    """A one-way SPLIT on the last axis, as an ONNX -> TF conversion puts
    before each convolution; its output has its input's parameters."""
    g = matrix.Graph()
    qp = None if dtype == "float32" else matrix.QP(dtype, [0.05], [128 if dtype == "uint8" else 0])
    axis = g.tensor("axis", [], "int32", data=3)
    x = g.tensor("x", [1, 4, 4, 6], dtype, qp=qp)
    y = g.tensor("y", [1, 4, 4, 6], dtype, qp=qp)
    g.op("SPLIT", [axis, x], [y], ("SplitOptions", {"numSplits": 1}))
    rng = np.random.default_rng(SEED)
    if dtype == "float32":
        xv = rng.standard_normal((1, 4, 4, 6)).astype(np.float32)
    else:
        lo, hi = matrix.qrange(dtype)
        xv = rng.integers(lo, hi + 1, (1, 4, 4, 6)).astype(matrix.DTYPES[dtype][1])
    return g.finish([x], [y]), xv


def test_split_runs_on_uint8_only():
    """The support table's SPLIT rows: uint8 copies the values exactly,
    int8 has no kernel (Q801)."""
    for dtype in ("uint8", "float32"):
        model, x = one_split(dtype)
        res = matrix.run_model(model, [[x]], log=False)
        assert res["ok"], res["error"]
        assert np.array_equal(res["outputs"][0], x), dtype
    model, x = one_split("int8")
    rejected(matrix.run_model(model, [[x]], log=False), "run", "Split: unsupported input type")


def one_of(kind):
    """One operator onert cannot run in any precision, in the precision a
    converter writes it: SPARSE_TO_DENSE and TensorFlow's `AddV2` (as a
    CUSTOM operator) on int64, as in an ONNX -> TF shape computation;
    HARD_SWISH, PRELU and RESIZE_NEAREST_NEIGHBOR in float."""
    from circle_schema.v0_10.circle.BuiltinOperator import BuiltinOperator
    from circle_schema.v0_10.circle.Operator import OperatorT
    from circle_schema.v0_10.circle.OperatorCode import OperatorCodeT
    g = matrix.Graph()
    rng = np.random.default_rng(SEED)
    if kind == "SPARSE_TO_DENSE":
        idx = g.tensor("indices", [1], "int64")
        shape = g.tensor("shape", [1], "int64", data=[4])
        vals = g.tensor("values", [1], "int64", data=[-1])
        default = g.tensor("default", [], "int64", data=0)
        y = g.tensor("y", [4], "int64")
        g.op("SPARSE_TO_DENSE", [idx, shape, vals, default], [y], ("SparseToDenseOptions", {"validateIndices": False}))
        return g.finish([idx], [y]), np.array([2], np.int64)
    if kind == "CUSTOM":
        a = g.tensor("a", [4], "int64")
        b = g.tensor("b", [4], "int64", data=[1, 2, 3, 4])
        y = g.tensor("y", [4], "int64")
        code = OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = BuiltinOperator.CUSTOM
        code.customCode = "AddV2"
        code.version = 1
        g.codes.append(code)
        op = OperatorT()
        op.opcodeIndex = 0
        op.inputs, op.outputs = np.asarray([a, b], np.int32), np.asarray([y], np.int32)
        g.ops.append(op)
        return g.finish([a], [y]), np.ones(4, np.int64)
    x = g.tensor("x", [1, 4, 4, 3], "float32")
    if kind == "HARD_SWISH":
        y = g.tensor("y", [1, 4, 4, 3], "float32")
        g.op("HARD_SWISH", [x], [y])
    elif kind == "PRELU":
        alpha = g.tensor("alpha", [3], "float32", data=[0.1, 0.2, 0.3])
        y = g.tensor("y", [1, 4, 4, 3], "float32")
        g.op("PRELU", [x, alpha], [y])
    else:
        size = g.tensor("size", [2], "int32", data=[8, 8])
        y = g.tensor("y", [1, 8, 8, 3], "float32")
        g.op("RESIZE_NEAREST_NEIGHBOR", [x, size], [y], ("ResizeNearestNeighborOptions", {}))
    return g.finish([x], [y]), rng.standard_normal((1, 4, 4, 3)).astype(np.float32)


@pytest.mark.parametrize("kind,stage,says", [
    ("SPARSE_TO_DENSE", "load", "Unsupported operation: SPARSE_TO_DENSE"),
    ("HARD_SWISH", "load", "Unsupported operation: HARD_SWISH"),
    ("CUSTOM", "load", None),
    ("PRELU", "prepare", "KernelGenerator: NYI for operation 'PReLU'"),
    ("RESIZE_NEAREST_NEIGHBOR", "prepare", "KernelGenerator: NYI for operation 'ResizeNearestNeighbor'"),
])
def test_operators_onert_cannot_run_in_any_precision(kind, stage, says):
    """The support table's rows Q811 reads: each operator alone fails,
    whatever its parameters (a CUSTOM operator crashes the loader)."""
    model, x = one_of(kind)
    res = matrix.run_model(model, [[x]], log=False)
    if says is None:
        assert res["crash"] == "SIGSEGV" and res["stage"] == stage, res
    else:
        rejected(res, stage, says)


def test_q811_the_onnxtf_story_model_cannot_run_even_in_float(tmp):
    """Q811 on the ONNX -> TF story model, whose float model onert refuses
    at load (SPARSE_TO_DENSE comes before the CUSTOM `AddV2` it would crash on)."""
    qparam = tmp / "export"
    shutil.copytree(os.path.join(FIXTURES, "story_onnxtf.torch-qparam"), qparam)
    q_implant("check", fixture("story_onnxtf"), qparam / "qparam.json", "--fix", "--target", "onert")
    assert check_both(fixture("story_onnxtf"), qparam / "qparam.json") == ["Q811"]
    x = np.load(os.path.join(FIXTURES, "story_onnxtf.reference", "input_0.npy"))
    rejected(onert(fixture("story_onnxtf"), [[x]]), "load", "Unsupported operation: SPARSE_TO_DENSE")


@pytest.mark.parametrize("kind", ["GELU", "ELU"])
def test_quantized_gelu_and_elu_are_refused_at_load(kind):
    """The support table's GELU and ELU rows (Q801; with --fallback float
    they run in float): refused at load quantized, uint8 or int8, with
    output parameters of its own; right in float."""
    options = ("GeluOptions", {"approximate": False}) if kind == "GELU" else None
    for dtype in ("uint8", "int8"):
        g = matrix.Graph()
        x = g.tensor("x", [1, 4, 4, 3], dtype, qp=matrix.QP(dtype, [0.05], [128 if dtype == "uint8" else 0]))
        y = g.tensor("y", [1, 4, 4, 3], dtype, qp=matrix.QP(dtype, [0.04], [100 if dtype == "uint8" else -20]))
        g.op(kind, [x], [y], options)
        lo, hi = matrix.qrange(dtype)
        xq = np.random.default_rng(SEED).integers(lo, hi + 1, (1, 4, 4, 3)).astype(matrix.DTYPES[dtype][1])
        rejected(matrix.run_model(g.finish([x], [y]), [[xq]], log=False), "load", "OperationValidator failed")
    g = matrix.Graph()
    x, y = g.tensor("x", [1, 4, 4, 3], "float32"), g.tensor("y", [1, 4, 4, 3], "float32")
    g.op(kind, [x], [y], options)
    res = matrix.run_model(g.finish([x], [y]), [[np.ones((1, 4, 4, 3), np.float32)]], log=False)
    assert res["ok"], res["error"]
