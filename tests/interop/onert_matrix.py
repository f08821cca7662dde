#!/usr/bin/env python3
"""What the ONE runtime (onert, CPU backend) accepts and computes correctly
for quantized operators: a support matrix, measured.

For each cell (operator x scheme x granularity, plus named special cases) it
builds a minimal quantized circle model with the independent circle-schema
writer (one operator; graph inputs and outputs quantized in the scheme's
dtype), runs it in onert in a subprocess (a crash is a result, and so is a
timeout) and compares onert's output with a numpy reference of the quantized
operator, in quantization steps of the output. A second group runs the
fixture models (convnet, mlp, resnet18) with their weights turned
per-channel, against the float model and a numpy simulation of the same
quantized model.

    .venv/bin/python tests/interop/onert_matrix.py --all     # everything -> target/onert-matrix.json and DATA
    .venv/bin/python tests/interop/onert_matrix.py FULLY_CONNECTED/uint8   # cells by id prefix, printed
    .venv/bin/python tests/interop/onert_matrix.py --list    # the cell ids
    cargo run -- rules --targets-markdown > docs/targets.md  # DATA and the support table -> docs/targets.md

DATA (src/analysis/rules/target/onert/matrix.json) is the measurement the
library compiles in: every cell's outcome and onert's messages, without the
logs; onert's support table (table.rs beside it) cites its cells, and a test
holds each fact to them. `--trim target/onert-matrix.json` writes DATA from
a measurement already made.

The reference. Weighted operators (CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, BATCH_MATMUL) accumulate exactly in integers,
acc = sum((x - zx) * (w - zw)) + bias, and requantize with the real
multiplier in_scale * w_scale / out_scale (per output channel where the
weights are per channel): round half away from zero, add the output zero
point, clamp to the dtype's range and the fused activation's. TFLite's
reference kernels do the same with a 31-bit fixed-point multiplier, which
can differ by one step near ties. Every other operator is dequantize -> compute in
float64 -> quantize (round half away from zero, clamp). A cell computes
correctly when its largest difference is at most TOLERANCE_EXACT steps, or
TOLERANCE_APPROX for the operators onert computes with fixed-point
approximations (APPROX_OPS).

Importable: `CELLS` maps ids to cells, `run_cell(id)` returns a record.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "fixtures")
DEFAULT_OUT = os.path.join(ROOT, "target", "onert-matrix.json")
DATA = os.path.join(ROOT, "src", "analysis", "rules", "target", "onert", "matrix.json")
Q_IMPLANT = os.environ.get("Q_IMPLANT_BIN", os.path.join(ROOT, "target", "release", "q-implant"))
RERUN = ".venv/bin/python tests/interop/onert_matrix.py --all && cargo run -- rules --targets-markdown > docs/targets.md"
TIMEOUT = 60.0
SEED = 20260611

# ---- dtypes, schemes, tolerances ----------------------------------------------------

DTYPES = {  # name -> (circle TensorType, numpy dtype, min, max)
    "float32": (0, np.float32, None, None),
    "int32": (2, np.int32, -2**31, 2**31 - 1),
    "uint8": (3, np.uint8, 0, 255),
    "int64": (4, np.int64, -2**63, 2**63 - 1),
    "int16": (7, np.int16, -32768, 32767),
    "int8": (9, np.int8, -128, 127),
}

SCHEMES = ["uint8", "int8", "int16"]
SCHEME_TEXT = {
    "uint8": "uint8: activations and weights asymmetric",
    "int8": "int8: weights symmetric (zero point 0), activations asymmetric",
    "int16": "int16: symmetric, zero point 0 everywhere",
}
# int32 biases for the 8-bit schemes (TFLite); int64 for int16, as ONE's
# circle-quantizer and TFLite's 16x8 kernels have it.
BIAS_DTYPE = {"uint8": "int32", "int8": "int32", "int16": "int64"}
GRANULARITIES = ["per-tensor", "per-channel", "per-channel-zp"]
GRANULARITY_TEXT = {
    "per-tensor": "one scale and zero point",
    "per-channel": "a scale per output channel, one zero point for all",
    "per-channel-zp": "a scale and a zero point per output channel, the zero points varying "
                      "(for int8 and int16 weights a violation of the spec, measured all the same)",
}

TOLERANCE_EXACT = 1.0
TOLERANCE_APPROX = 2.0
APPROX_OPS = {"SOFTMAX", "LOGISTIC", "TANH", "MEAN", "RSQRT"}


def qrange(dtype):
    return DTYPES[dtype][2], DTYPES[dtype][3]


def round_half_away(x):
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


class QP:
    """Quantization parameters of one tensor (per-tensor, or along `axis`)."""

    def __init__(self, dtype, scale, zp, axis=0):
        self.dtype = dtype
        self.scale = np.atleast_1d(np.asarray(scale, np.float32))
        self.zp = np.atleast_1d(np.asarray(zp, np.int64))
        self.axis = axis

    def _bcast(self, ndim):
        if len(self.scale) == 1:
            return float(self.scale[0]), int(self.zp[0])
        shape = [1] * ndim
        shape[self.axis] = -1
        return self.scale.astype(np.float64).reshape(shape), self.zp.reshape(shape)

    def dequantize(self, q):
        s, z = self._bcast(np.ndim(q))
        return (np.asarray(q, np.int64) - z) * s

    def quantize(self, x):
        s, z = self._bcast(np.ndim(x))
        lo, hi = qrange(self.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = round_half_away(np.asarray(x, np.float64) / s) + z
        q = np.nan_to_num(q, nan=0.0, posinf=hi, neginf=lo)
        return np.clip(q, lo, hi).astype(DTYPES[self.dtype][1])

    def as_json(self):
        return {"dtype": self.dtype, "scale": [float(s) for s in self.scale],
                "zero_point": [int(z) for z in self.zp], "axis": self.axis}


def act_params(dtype, lo, hi):
    """Activation parameters covering [lo, hi] and 0: asymmetric for uint8
    and int8, symmetric (zero point 0) for int16."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-6:
        hi = lo + 1.0
    qmin, qmax = qrange(dtype)
    if dtype == "int16":
        return QP(dtype, max(-lo, hi) / qmax, 0)
    scale = np.float32((hi - lo) / (qmax - qmin))
    zp = int(np.clip(round_half_away(qmin - lo / float(scale)), qmin, qmax))
    return QP(dtype, scale, zp)


INPUT_RANGES = [(-2.0, 3.0), (-1.5, 4.5), (-3.0, 1.0)]


def input_params(dtype, which=0):
    """Fixed parameters for graph inputs (a second and third set for
    operators with more inputs)."""
    return act_params(dtype, *INPUT_RANGES[which])


def calibrated(dtype, real):
    """Output parameters covering a computed float output."""
    return act_params(dtype, float(np.min(real)), float(np.max(real)))


def random_q(rng, qp, shape):
    """Random integers over the whole range of the dtype."""
    qmin, qmax = qrange(qp.dtype)
    return rng.integers(qmin, qmax + 1, size=shape).astype(DTYPES[qp.dtype][1])


def weight_params(rng, dtype, granularity, channels, axis):
    """Weight (or constant operand) parameters: uint8 asymmetric, int8 and
    int16 symmetric (zero point 0) unless `per-channel-zp` makes the zero
    points vary by channel."""
    if granularity == "per-tensor":
        return QP(dtype, np.float32(rng.uniform(0.004, 0.012)), 118 if dtype == "uint8" else 0, 0)
    scales = rng.uniform(0.002, 0.02, size=channels).astype(np.float32)
    if granularity == "per-channel":
        zps = np.full(channels, 118 if dtype == "uint8" else 0)
    else:
        lo, hi = {"uint8": (60, 200), "int8": (-20, 20), "int16": (-400, 400)}[dtype]
        zps = rng.integers(lo, hi + 1, size=channels)
    return QP(dtype, scales, zps, axis)


def random_weights(rng, qp, shape):
    """Weight integers; the symmetric dtypes stay off their most negative value."""
    qmin, qmax = qrange(qp.dtype)
    if qp.dtype != "uint8":
        qmin = -qmax
    return rng.integers(qmin, qmax + 1, size=shape).astype(DTYPES[qp.dtype][1])


# ---- building models with the circle-schema writer -----------------------------------

class Graph:
    """One subgraph of a few operators, packed as a plain-layout circle file
    (buffers inside the FlatBuffer, which onert 0.1.0 needs)."""

    def __init__(self):
        from circle_schema.v0_10.circle.Buffer import BufferT
        self.tensors, self.ops, self.codes = [], [], []
        self.buffers = [BufferT()]

    def tensor(self, name, shape, dtype, qp=None, data=None):
        from circle_schema.v0_10.circle.Buffer import BufferT
        from circle_schema.v0_10.circle.QuantizationParameters import QuantizationParametersT
        from circle_schema.v0_10.circle.Tensor import TensorT
        t = TensorT()
        t.name = name
        t.shape = np.asarray(shape, np.int32)
        t.type = DTYPES[dtype][0]
        t.buffer = 0
        if data is not None:
            b = BufferT()
            raw = np.ascontiguousarray(np.asarray(data).astype(DTYPES[dtype][1])).tobytes()
            b.data = np.frombuffer(raw, np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if qp is not None:
            q = QuantizationParametersT()
            q.scale = [float(s) for s in qp.scale]
            q.zeroPoint = [int(z) for z in qp.zp]
            q.quantizedDimension = int(qp.axis)
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name, inputs, outputs, options=None):
        from circle_schema.v0_10.circle.BuiltinOperator import BuiltinOperator
        from circle_schema.v0_10.circle.BuiltinOptions import BuiltinOptions
        from circle_schema.v0_10.circle.Operator import OperatorT
        from circle_schema.v0_10.circle.OperatorCode import OperatorCodeT
        code = getattr(BuiltinOperator, name)
        known = [oc.builtinCode for oc in self.codes]
        if code not in known:
            oc = OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.codes.append(oc)
            known.append(code)
        o = OperatorT()
        o.opcodeIndex = known.index(code)
        o.inputs = np.asarray(inputs, np.int32)
        o.outputs = np.asarray(outputs, np.int32)
        if options is not None:
            kind, fields = options
            module = __import__(f"circle_schema.v0_10.circle.{kind}", fromlist=[kind + "T"])
            opt = getattr(module, kind + "T")()
            for k, v in fields.items():
                setattr(opt, k, v)
            o.builtinOptionsType = getattr(BuiltinOptions, kind)
            o.builtinOptions = opt
        self.ops.append(o)

    def finish(self, inputs, outputs):
        import flatbuffers
        from circle_schema.v0_10.circle.Model import ModelT
        from circle_schema.v0_10.circle.SubGraph import SubGraphT
        sg = SubGraphT()
        sg.name = "main"
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs = np.asarray(inputs, np.int32)
        sg.outputs = np.asarray(outputs, np.int32)
        m = ModelT()
        m.version = 3
        m.description = "onert_matrix"
        m.operatorCodes = self.codes
        m.subgraphs = [sg]
        m.buffers = self.buffers
        b = flatbuffers.Builder(1 << 16)
        b.Finish(m.Pack(b), file_identifier=b"CIR0")
        return bytes(b.Output())


class Case:
    """A built cell: the model, its inputs and the reference output. For a
    float32 output (DEQUANTIZE), `out_qp` gives the steps it is measured in.
    `alternatives` are outputs of named hypotheses about what a wrong kernel
    computes instead; the record says which of them onert's output matches."""

    def __init__(self, model, inputs, expected, out_qp, tolerance, note="", alternatives=None, observe=None):
        self.model, self.inputs, self.expected = model, inputs, expected
        self.out_qp, self.tolerance, self.note = out_qp, tolerance, note
        self.alternatives = alternatives or {}
        # A function of onert's output naming the hypotheses it shows, for
        # faults no single alternative output describes.
        self.observe = observe

    def diff_steps(self, y):
        return self.diff_steps_from(y, self.expected)

    def diff_steps_from(self, y, reference):
        if reference.dtype == np.float32:
            return np.abs(y.astype(np.float64) - reference.astype(np.float64)) / float(self.out_qp.scale[0])
        return np.abs(y.astype(np.int64) - reference.astype(np.int64)).astype(np.float64)


# ---- references ---------------------------------------------------------------------

def _pads(size, k, stride, dil, same):
    if not same:
        return (size - (k - 1) * dil - 1) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dil + 1 - size, 0)
    return out, total // 2


def conv_acc(x, w, stride, same, depthwise):
    """Exact correlation of integer-valued float64 arrays (zero padding):
    x NHWC, w OHWI, or 1HWC for depthwise with multiplier 1."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[1], w.shape[2]
    oc = w.shape[3] if depthwise else w.shape[0]
    oh, pt = _pads(h, kh, stride, 1, same)
    ow, pl = _pads(wd, kw, stride, 1, same)
    xp = np.zeros((n, h + 2 * kh + stride, wd + 2 * kw + stride, c), np.float64)
    xp[:, pt:pt + h, pl:pl + wd, :] = x
    out = np.zeros((n, oh, ow, oc), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + (oh - 1) * stride + 1:stride, j:j + (ow - 1) * stride + 1:stride, :]
            if depthwise:
                out += patch * w[0, i, j, :]
            else:
                out += np.einsum("nhwc,oc->nhwo", patch, w[:, i, j, :])
    return out


def fused_range(act, out_qp):
    """The quantized clamp of a fused activation (0 none, 1 RELU, 3 RELU6)."""
    lo, hi = qrange(out_qp.dtype)
    s, z = float(out_qp.scale[0]), int(out_qp.zp[0])
    if act in (1, 3):
        lo = max(lo, z)
    if act == 3:
        hi = min(hi, z + int(round_half_away(6.0 / s)))
    return lo, hi


def requantize(acc, multiplier, out_qp, act=0):
    lo, hi = fused_range(act, out_qp)
    return np.clip(round_half_away(acc * multiplier) + int(out_qp.zp[0]), lo, hi).astype(DTYPES[out_qp.dtype][1])


ACT_NAMES = {0: "NONE", 1: "RELU", 3: "RELU6"}
# Names of the hypotheses (Case.alternatives) about wrong outputs.
FIRST_CHANNEL = "channel 0's scale and zero point used for every channel"
BYTES_COPIED = "the input's bytes copied, the output's parameters ignored"
UINT8_CLAMP = "clamped to [0, 255] (the uint8 range), then stored into int8"


# ---- the operators ------------------------------------------------------------------

def build_weighted(kind, scheme, gran, rng, shape=None, act=0, w_qp=None):
    """CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with constant weights
    and bias. `shape` for the convs: dict(h, w, cin, cout, k, stride, same);
    for FULLY_CONNECTED: dict(n, cin, cout)."""
    g = Graph()
    in_qp = input_params(scheme)
    sh = dict(h=8, w=8, cin=4, cout=6, k=3, stride=1, same=True, n=2)
    if kind == "FULLY_CONNECTED":
        sh.update(cin=16, cout=8)
    sh.update(shape or {})
    if kind == "FULLY_CONNECTED":
        xshape, wshape, axis, channels = [sh["n"], sh["cin"]], [sh["cout"], sh["cin"]], 0, sh["cout"]
    elif kind == "DEPTHWISE_CONV_2D":
        sh["cout"] = sh["cin"]
        xshape, wshape, axis, channels = [1, sh["h"], sh["w"], sh["cin"]], [1, sh["k"], sh["k"], sh["cin"]], 3, sh["cin"]
    else:
        xshape, wshape, axis, channels = ([1, sh["h"], sh["w"], sh["cin"]], [sh["cout"], sh["k"], sh["k"], sh["cin"]],
                                          0, sh["cout"])
    w_qp = w_qp or weight_params(rng, scheme, gran, channels, axis)
    x = random_q(rng, in_qp, xshape)
    w = random_weights(rng, w_qp, wshape)
    zshape = [1] * len(wshape)
    zshape[axis] = -1
    xz = x.astype(np.float64) - float(in_qp.zp[0])
    wz = w.astype(np.float64) - (w_qp.zp.reshape(zshape) if len(w_qp.zp) > 1 else float(w_qp.zp[0]))
    if kind == "FULLY_CONNECTED":
        acc = xz @ wz.T
    else:
        acc = conv_acc(xz, wz, sh["stride"], sh["same"], kind == "DEPTHWISE_CONV_2D")
    w_scales = np.broadcast_to(w_qp.scale.astype(np.float64), (channels,))
    b_scale = float(in_qp.scale[0]) * w_scales
    bias_q = round_half_away(rng.uniform(-1.0, 1.0, size=channels) / b_scale).astype(np.int64)
    b_dtype = BIAS_DTYPE[scheme]
    b_qp = QP(b_dtype, b_scale.astype(np.float32), np.zeros(channels, np.int64), 0)
    acc = acc + bias_q
    real = acc * b_scale
    real = np.maximum(real, 0) if act == 1 else np.clip(real, 0, 6) if act == 3 else real
    out_qp = calibrated(scheme, real)
    expected = requantize(acc, b_scale / float(out_qp.scale[0]), out_qp, act)
    alternatives = {}
    if len(w_qp.scale) > 1:
        # Hypothesis: the kernel reads channel 0's scale and zero point only.
        wz0 = w.astype(np.float64) - float(w_qp.zp[0])
        acc0 = (xz @ wz0.T if kind == "FULLY_CONNECTED"
                else conv_acc(xz, wz0, sh["stride"], sh["same"], kind == "DEPTHWISE_CONV_2D")) + bias_q
        alternatives[FIRST_CHANNEL] = requantize(
            acc0, float(in_qp.scale[0]) * float(w_qp.scale[0]) / float(out_qp.scale[0]), out_qp, act)

    xi = g.tensor("x", xshape, scheme, in_qp)
    wi = g.tensor("w", wshape, w_qp.dtype, w_qp, w)
    bi = g.tensor("b", [channels], b_dtype, b_qp, bias_q)
    yi = g.tensor("y", list(expected.shape), scheme, out_qp)
    conv = dict(padding=0 if sh["same"] else 1, strideW=sh["stride"], strideH=sh["stride"],
                fusedActivationFunction=act, dilationWFactor=1, dilationHFactor=1)
    if kind == "CONV_2D":
        g.op(kind, [xi, wi, bi], [yi], ("Conv2DOptions", conv))
    elif kind == "DEPTHWISE_CONV_2D":
        g.op(kind, [xi, wi, bi], [yi], ("DepthwiseConv2DOptions", dict(conv, depthMultiplier=1)))
    else:
        g.op(kind, [xi, wi, bi], [yi], ("FullyConnectedOptions", dict(fusedActivationFunction=act)))
    note = (f"input {xshape}, weights {w_qp.dtype}{wshape} scales {_brief(w_qp.scale)} zero points "
            f"{_brief(w_qp.zp)}, bias {b_dtype}")
    return Case(g.finish([xi], [yi]), [x], expected, out_qp, TOLERANCE_EXACT, note, alternatives)


def _brief(a, n=4):
    a = np.asarray(a)
    items = [f"{v:.4g}" if a.dtype.kind == "f" else str(int(v)) for v in a[:n]]
    return "[" + ", ".join(items) + (", ...]" if len(a) > n else "]")


UNARY_FN = {
    "RELU": lambda v: np.maximum(v, 0),
    "RELU6": lambda v: np.clip(v, 0, 6),
    "LOGISTIC": lambda v: 1 / (1 + np.exp(-v)),
    "TANH": np.tanh,
    "RSQRT": lambda v: 1 / np.sqrt(np.maximum(v, 0)),
}


def build_unary(kind, scheme, rng, out_qp=None, same_params=False):
    """RELU, RELU6, LOGISTIC, TANH, RSQRT (no options). The output's
    parameters: `out_qp`, the input's (`same_params`), or calibrated."""
    g = Graph()
    in_qp = act_params(scheme, 0.0, 4.0) if kind == "RSQRT" else input_params(scheme)
    shape = [1, 4, 4, 8]
    x = random_q(rng, in_qp, shape)
    if kind == "RSQRT":  # keep off 0
        x = np.maximum(x, in_qp.quantize(0.05))
    with np.errstate(divide="ignore"):
        real = UNARY_FN[kind](in_qp.dequantize(x))
    out_qp = in_qp if same_params else out_qp or calibrated(scheme, real)
    expected = out_qp.quantize(real)
    xi = g.tensor("x", shape, scheme, in_qp)
    yi = g.tensor("y", shape, scheme, out_qp)
    g.op(kind, [xi], [yi])
    tol = TOLERANCE_APPROX if kind in APPROX_OPS else TOLERANCE_EXACT
    return Case(g.finish([xi], [yi]), [x], expected, out_qp, tol, f"output {_qp_text(out_qp)}")


def _qp_text(qp):
    return f"scale {_brief(qp.scale)} zero point {_brief(qp.zp)}"


def fixed_params(kind, scheme):
    """The output parameters TFLite requires of SOFTMAX, LOGISTIC and TANH."""
    if kind in ("SOFTMAX", "LOGISTIC"):
        return {"uint8": QP("uint8", 1 / 256, 0), "int8": QP("int8", 1 / 256, -128),
                "int16": QP("int16", 1 / 32768, 0)}[scheme]
    return {"uint8": QP("uint8", 1 / 128, 128), "int8": QP("int8", 1 / 128, 0),
            "int16": QP("int16", 1 / 32768, 0)}[scheme]


def build_binary(kind, scheme, rng, const=None):
    """ADD, SUB or MUL. Two graph inputs of one shape; or, with `const` (a
    granularity), an NCHW input [1, 8, 4, 4] and a constant [1, 8, 1, 1]
    broadcast over it (a batch norm as tico converts it), its parameters
    along axis 1."""
    g = Graph()
    a_qp = input_params(scheme, 0)
    if const is None:
        b_qp = input_params(scheme, 1)
        shape = shape_b = [1, 4, 4, 8]
        a, b = random_q(rng, a_qp, shape), random_q(rng, b_qp, shape)
    else:
        shape, shape_b = [1, 8, 4, 4], [1, 8, 1, 1]
        b_qp = weight_params(rng, scheme, const, 8, 1)
        a = random_q(rng, a_qp, shape)
        b = random_weights(rng, b_qp, shape_b)
    fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[kind]
    real = fn(a_qp.dequantize(a), b_qp.dequantize(b))
    out_qp = calibrated(scheme, real)
    expected = out_qp.quantize(real)
    alternatives = {}
    if len(b_qp.scale) > 1:
        first = QP(scheme, b_qp.scale[0], b_qp.zp[0])
        alternatives[FIRST_CHANNEL] = out_qp.quantize(fn(a_qp.dequantize(a), first.dequantize(b)))
    ai = g.tensor("a", shape, scheme, a_qp)
    bi = g.tensor("b", shape_b, scheme, b_qp, b if const else None)
    yi = g.tensor("y", shape, scheme, out_qp)
    g.op(kind, [ai, bi], [yi], ({"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[kind],
                                dict(fusedActivationFunction=0)))
    ins = [ai] if const else [ai, bi]
    note = f"constant {shape_b}, {_qp_text(b_qp)} axis {b_qp.axis}" if const else ""
    return Case(g.finish(ins, [yi]), [a] if const else [a, b], expected, out_qp, TOLERANCE_EXACT, note,
                alternatives)


def build_batch_matmul(scheme, rng):
    g = Graph()
    a_qp, b_qp = input_params(scheme, 0), input_params(scheme, 1)
    sa, sb = [1, 2, 4, 8], [1, 2, 8, 5]
    a, b = random_q(rng, a_qp, sa), random_q(rng, b_qp, sb)
    acc = np.matmul(a.astype(np.float64) - a_qp.zp[0], b.astype(np.float64) - b_qp.zp[0])
    m = float(a_qp.scale[0]) * float(b_qp.scale[0])
    out_qp = calibrated(scheme, acc * m)
    expected = requantize(acc, m / float(out_qp.scale[0]), out_qp)
    ai = g.tensor("a", sa, scheme, a_qp)
    bi = g.tensor("b", sb, scheme, b_qp)
    yi = g.tensor("y", list(expected.shape), scheme, out_qp)
    g.op("BATCH_MATMUL", [ai, bi], [yi], ("BatchMatMulOptions", dict(adjointLhs=False, adjointRhs=False)))
    return Case(g.finish([ai, bi], [yi]), [a, b], expected, out_qp, TOLERANCE_EXACT, "two activation inputs")


def build_mean(scheme, rng, axes=(1, 2), keep=True):
    g = Graph()
    in_qp = input_params(scheme)
    shape = [1, 4, 4, 8]
    x = random_q(rng, in_qp, shape)
    real = in_qp.dequantize(x).mean(axis=tuple(axes), keepdims=keep)
    out_qp = calibrated(scheme, real)
    expected = out_qp.quantize(real)
    xi = g.tensor("x", shape, scheme, in_qp)
    ai = g.tensor("axes", [len(axes)], "int32", data=np.asarray(axes, np.int32))
    yi = g.tensor("y", list(expected.shape), scheme, out_qp)
    g.op("MEAN", [xi, ai], [yi], ("ReducerOptions", dict(keepDims=keep)))
    return Case(g.finish([xi], [yi]), [x], expected, out_qp, TOLERANCE_APPROX, f"axes {list(axes)}")


def build_softmax(scheme, rng, out_qp=None, beta=1.0):
    g = Graph()
    in_qp = input_params(scheme)
    shape = [1, 4, 16]
    x = random_q(rng, in_qp, shape)
    v = in_qp.dequantize(x) * beta
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    real = e / e.sum(axis=-1, keepdims=True)
    out_qp = out_qp or fixed_params("SOFTMAX", scheme)
    expected = out_qp.quantize(real)
    xi = g.tensor("x", shape, scheme, in_qp)
    yi = g.tensor("y", shape, scheme, out_qp)
    g.op("SOFTMAX", [xi], [yi], ("SoftmaxOptions", dict(beta=beta)))
    return Case(g.finish([xi], [yi]), [x], expected, out_qp, TOLERANCE_APPROX, f"output {_qp_text(out_qp)}")


def build_movement(kind, scheme, rng, out_qp=None, second_qp=None):
    """Operators that move values. The output has the input's parameters
    (what a quantizer writes) unless `out_qp` is given."""
    g = Graph()
    in_qp = input_params(scheme)
    extra_inputs, extra_graph_inputs, extra = [], [], []
    if kind == "RESHAPE":
        shape, oshape = [1, 4, 4, 8], [1, 16, 8]
        x = random_q(rng, in_qp, shape)
        real = in_qp.dequantize(x).reshape(oshape)
        extra = [g.tensor("shape", [3], "int32", data=np.asarray(oshape, np.int32))]
        opts = ("ReshapeOptions", dict(newShape=np.asarray(oshape, np.int32)))
    elif kind == "TRANSPOSE":
        shape, perm = [1, 4, 6, 8], [0, 3, 1, 2]
        x = random_q(rng, in_qp, shape)
        real = np.transpose(in_qp.dequantize(x), perm)
        extra = [g.tensor("perm", [4], "int32", data=np.asarray(perm, np.int32))]
        opts = ("TransposeOptions", {})
    elif kind == "PAD":
        shape, pads = [1, 4, 4, 3], [[0, 0], [1, 1], [2, 2], [0, 0]]
        x = random_q(rng, in_qp, shape)
        real = np.pad(in_qp.dequantize(x), pads)
        extra = [g.tensor("pads", [4, 2], "int32", data=np.asarray(pads, np.int32))]
        opts = ("PadOptions", {})
    elif kind == "PADV2":
        shape, pads = [1, 4, 4, 3], [[0, 0], [1, 1], [1, 1], [0, 0]]
        x = random_q(rng, in_qp, shape)
        qmin = qrange(scheme)[0]  # the lowest value, as a max-pool's padding has it
        real = np.pad(in_qp.dequantize(x), pads, constant_values=float(in_qp.dequantize(np.asarray(qmin))))
        extra = [g.tensor("pads", [4, 2], "int32", data=np.asarray(pads, np.int32)),
                 g.tensor("value", [], scheme, in_qp, data=np.asarray([qmin]))]
        opts = ("PadV2Options", {})
    elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        shape = [1, 8, 8, 4]
        x = random_q(rng, in_qp, shape)
        blocks = in_qp.dequantize(x).reshape(1, 4, 2, 4, 2, 4)
        real = blocks.max(axis=(2, 4)) if kind == "MAX_POOL_2D" else blocks.mean(axis=(2, 4))
        opts = ("Pool2DOptions", dict(padding=1, strideW=2, strideH=2, filterWidth=2, filterHeight=2,
                                      fusedActivationFunction=0))
    elif kind == "STRIDED_SLICE":
        shape = [1, 6, 8, 4]
        x = random_q(rng, in_qp, shape)
        real = in_qp.dequantize(x)[0:1, 1:5:2, 0:8, 0:4]
        extra = [g.tensor(n, [4], "int32", data=np.asarray(v, np.int32))
                 for n, v in (("begin", [0, 1, 0, 0]), ("end", [1, 5, 8, 4]), ("strides", [1, 2, 1, 1]))]
        opts = ("StridedSliceOptions", dict(beginMask=0, endMask=0, ellipsisMask=0, newAxisMask=0, shrinkAxisMask=0))
    elif kind == "GATHER":
        shape, idx = [10, 8], np.asarray([3, 0, 9, 3, 5], np.int32)
        x = random_q(rng, in_qp, shape)
        real = in_qp.dequantize(x)[idx]
        extra = [g.tensor("indices", [5], "int32", data=idx)]
        opts = ("GatherOptions", dict(axis=0, batchDims=0))
    elif kind == "CONCATENATION":
        b_qp = second_qp or in_qp
        shape, shape2 = [1, 4, 4, 3], [1, 4, 4, 5]
        x, x2 = random_q(rng, in_qp, shape), random_q(rng, b_qp, shape2)
        real = np.concatenate([in_qp.dequantize(x), b_qp.dequantize(x2)], axis=3)
        extra_graph_inputs = [g.tensor("x2", shape2, scheme, b_qp)]
        extra_inputs = [x2]
        opts = ("ConcatenationOptions", dict(axis=3, fusedActivationFunction=0))
    else:
        raise ValueError(kind)
    alternatives = {}
    if out_qp is not None and second_qp is None:
        alternatives[BYTES_COPIED] = in_qp.quantize(real)
    out_qp = out_qp or in_qp
    expected = out_qp.quantize(real)
    xi = g.tensor("x", shape, scheme, in_qp)
    yi = g.tensor("y", list(expected.shape), scheme, out_qp)
    g.op(kind, [xi] + extra_graph_inputs + extra, [yi], opts)
    note = f"input {_qp_text(in_qp)}, output {_qp_text(out_qp)}"
    if second_qp is not None:
        note += f", second input {_qp_text(second_qp)}"
    return Case(g.finish([xi] + extra_graph_inputs, [yi]), [x] + extra_inputs, expected, out_qp, TOLERANCE_EXACT,
                note, alternatives)


def build_quantize(scheme, rng):
    """QUANTIZE float32 -> scheme: the input boundary of a float-I/O model."""
    g = Graph()
    qp = input_params(scheme)
    shape = [1, 4, 4, 8]
    lo, hi = INPUT_RANGES[0]
    x = rng.uniform(lo - 0.5, hi + 0.5, size=shape).astype(np.float32)
    expected = qp.quantize(x)
    alternatives = {}
    if scheme == "int8":
        as_uint8 = QP("uint8", qp.scale, qp.zp)
        alternatives[UINT8_CLAMP] = as_uint8.quantize(x).view(np.int8)
    xi = g.tensor("x", shape, "float32")
    yi = g.tensor("y", shape, scheme, qp)
    g.op("QUANTIZE", [xi], [yi])
    return Case(g.finish([xi], [yi]), [x], expected, qp, TOLERANCE_EXACT, f"output {_qp_text(qp)}", alternatives)


def build_dequantize(scheme, rng):
    """DEQUANTIZE scheme -> float32: the output boundary of a float-I/O
    model; the difference is measured in steps of the input's scale."""
    g = Graph()
    qp = input_params(scheme)
    shape = [1, 4, 4, 8]
    x = random_q(rng, qp, shape)
    expected = qp.dequantize(x).astype(np.float32)
    xi = g.tensor("x", shape, scheme, qp)
    yi = g.tensor("y", shape, "float32")
    g.op("DEQUANTIZE", [xi], [yi])
    return Case(g.finish([xi], [yi]), [x], expected, qp, TOLERANCE_EXACT, f"input {_qp_text(qp)}")


# ---- the cells ----------------------------------------------------------------------

WEIGHTED = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]
UNARY = ["RELU", "RELU6", "LOGISTIC", "TANH", "RSQRT"]
BINARY = ["ADD", "SUB", "MUL"]
# Matrix rows, in order. PADV2, STRIDED_SLICE, SUB and RSQRT are there
# because fixtures/resnet18.circle and fixtures/encoder.circle use them;
# QUANTIZE and DEQUANTIZE because `apply --float-io` and `--allow-float`
# insert them.
OPERATORS = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL", "ADD", "SUB", "MUL", "MEAN",
             "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RSQRT", "RESHAPE", "TRANSPOSE", "CONCATENATION",
             "PAD", "PADV2", "MAX_POOL_2D", "AVERAGE_POOL_2D", "STRIDED_SLICE", "GATHER", "QUANTIZE", "DEQUANTIZE"]


def _rng(cell_id):
    return np.random.default_rng([SEED] + [ord(ch) for ch in cell_id])


def _matrix_builder(op, scheme, gran):
    def build(rng):
        if op in WEIGHTED:
            return build_weighted(op, scheme, gran, rng)
        if op in ("LOGISTIC", "TANH"):
            return build_unary(op, scheme, rng, out_qp=fixed_params(op, scheme))
        if op in UNARY:
            return build_unary(op, scheme, rng)
        if op in BINARY:
            return build_binary(op, scheme, rng)
        if op == "BATCH_MATMUL":
            return build_batch_matmul(scheme, rng)
        if op == "MEAN":
            return build_mean(scheme, rng)
        if op == "SOFTMAX":
            return build_softmax(scheme, rng)
        if op == "QUANTIZE":
            return build_quantize(scheme, rng)
        if op == "DEQUANTIZE":
            return build_dequantize(scheme, rng)
        return build_movement(op, scheme, rng)
    return build


CELLS = {}


def _cell(cid, group, op, scheme, granularity, description, build, repeat=1):
    CELLS[cid] = dict(id=cid, group=group, op=op, scheme=scheme, granularity=granularity,
                      description=description, build=build, repeat=repeat)


def _define_cells():
    for op in OPERATORS:
        for scheme in SCHEMES:
            for gran in (GRANULARITIES if op in WEIGHTED else ["per-tensor"]):
                _cell(f"{op}/{scheme}/{gran}", "matrix", op, scheme, gran, f"{op}, {scheme}, {gran}",
                      _matrix_builder(op, scheme, gran))

    for scheme in SCHEMES:
        other = act_params(scheme, -4.0, 5.0)
        s = scheme
        _cell(f"RELU/{s}/same-params", "special", "RELU", s, "per-tensor",
              "RELU whose output has its input's parameters",
              lambda rng, s=s: build_unary("RELU", s, rng, same_params=True))
        for kind in ("TRANSPOSE", "RESHAPE", "PAD", "PADV2", "MAX_POOL_2D", "AVERAGE_POOL_2D", "STRIDED_SLICE",
                     "GATHER", "CONCATENATION"):
            _cell(f"{kind}/{s}/other-out-params", "special", kind, s, "per-tensor",
                  f"{kind} whose output parameters differ from its input's (scale and zero point)",
                  lambda rng, s=s, k=kind, o=other: build_movement(k, s, rng, out_qp=o))
        in_qp = input_params(s)
        _cell(f"TRANSPOSE/{s}/other-out-scale", "special", "TRANSPOSE", s, "per-tensor",
              "TRANSPOSE whose output has its input's zero point but twice its scale",
              lambda rng, s=s, q=in_qp: build_movement("TRANSPOSE", s, rng, out_qp=QP(s, q.scale * 2, q.zp)))
        _cell(f"CONCATENATION/{s}/mixed-in-params", "special", "CONCATENATION", s, "per-tensor",
              "CONCATENATION of inputs with different parameters; the output has the first's",
              lambda rng, s=s: build_movement("CONCATENATION", s, rng, second_qp=input_params(s, 2)))
        for kind in ("SOFTMAX", "LOGISTIC", "TANH"):
            _cell(f"{kind}/{s}/calibrated-out", "special", kind, s, "per-tensor",
                  f"{kind} whose output parameters are calibrated from the data, not the fixed ones",
                  lambda rng, s=s, k=kind: (build_softmax(s, rng, out_qp=act_params(s, 0.0, 0.5))
                                            if k == "SOFTMAX" else build_unary(k, s, rng)))
        _cell(f"MEAN/{s}/last-axis", "special", "MEAN", s, "per-tensor",
              "MEAN over the last axis, keeping dims (a layer norm's)",
              lambda rng, s=s: build_mean(s, rng, axes=(3,), keep=True))
        for kind in ("ADD", "MUL"):
            for gran in GRANULARITIES:
                _cell(f"{kind}/{s}/const-{gran}", "special", kind, s, gran,
                      f"{kind} of an NCHW activation and a broadcast constant [1, C, 1, 1] quantized {gran} "
                      "along axis 1 (batch norm as tico converts it)",
                      lambda rng, s=s, k=kind, g=gran: build_binary(k, s, rng, const=g))
        for act in (1, 3):
            for op in WEIGHTED:
                _cell(f"{op}/{s}/fused-{ACT_NAMES[act]}", "special", op, s, "per-tensor",
                      f"{op} per-tensor with a fused {ACT_NAMES[act]}",
                      lambda rng, s=s, o=op, a=act: build_weighted(o, s, "per-tensor", rng, act=a))
            if s == "uint8":
                for op in WEIGHTED[:2]:
                    _cell(f"{op}/{s}/per-channel-zp-fused-{ACT_NAMES[act]}", "special", op, s, "per-channel-zp",
                          f"{op} per-channel-zp with a fused {ACT_NAMES[act]}",
                          lambda rng, s=s, o=op, a=act: build_weighted(o, s, "per-channel-zp", rng, act=a))

    # FULLY_CONNECTED per-channel, narrowed down: which of scales and zero
    # points does onert read past the first channel?
    def fc_with(scales, zps):
        def build(rng):
            qp = QP("uint8", np.asarray(scales, np.float32), np.asarray(zps), 0)
            return build_weighted("FULLY_CONNECTED", "uint8", "per-channel", rng, w_qp=qp)
        return build
    rs = np.random.default_rng(SEED).uniform(0.002, 0.02, size=8).astype(np.float32)
    rz = np.random.default_rng(SEED + 1).integers(60, 201, size=8)
    for tag, scales, zps, text in [
        ("uniform", [0.01] * 8, [118] * 8, "8 equal scales and 8 equal zero points"),
        ("scales-vary", rs, [118] * 8, "scales varying by channel, zero points equal"),
        ("zps-vary", [0.01] * 8, rz, "scales equal, zero points varying by channel"),
        ("first-channel-broadcast", [rs[0]] * 8, [rz[0]] * 8, "channel 0's scale and zero point repeated"),
    ]:
        _cell(f"FULLY_CONNECTED/uint8/per-channel/{tag}", "fc-per-channel", "FULLY_CONNECTED", "uint8",
              "per-channel", f"FULLY_CONNECTED uint8, per-channel weights with {text}", fc_with(scales, zps))
    for n, cin, cout in [(1, 64, 10), (1, 512, 1000), (8, 32, 96)]:
        for gran in ("per-channel", "per-channel-zp"):
            _cell(f"FULLY_CONNECTED/uint8/{gran}/n{n}-{cin}x{cout}", "fc-per-channel", "FULLY_CONNECTED", "uint8",
                  gran, f"FULLY_CONNECTED uint8 {gran}, input [{n}, {cin}], {cout} outputs",
                  lambda rng, g=gran, sh=dict(n=n, cin=cin, cout=cout): build_weighted(
                      "FULLY_CONNECTED", "uint8", g, rng, shape=sh))

    # CONV_2D, per-tensor against per-channel: shapes from ResNet-18 and
    # beyond (kernel 1, 3, 7; stride 1, 2; SAME, VALID; 3 to 512 channels),
    # timed; uint8 in every granularity, int8 (the spec's per-channel
    # scheme) beside it for the times.
    for k, stride, same, cin, cout, h in CONV_SWEEP:
        tag = f"k{k}s{stride}{'same' if same else 'valid'}-c{cin}x{cout}-h{h}"
        for scheme, grans in (("uint8", GRANULARITIES), ("int8", GRANULARITIES[:2])):
            for gran in grans:
                _cell(f"CONV_2D/{scheme}/{gran}/{tag}", "conv-sweep", "CONV_2D", scheme, gran,
                      f"CONV_2D {scheme} {gran}: {k}x{k} kernel, stride {stride}, {'SAME' if same else 'VALID'}, "
                      f"{cin}->{cout} channels, {h}x{h} input",
                      lambda rng, s=scheme, g=gran, sh=dict(k=k, stride=stride, same=same, cin=cin, cout=cout, h=h,
                                                           w=h):
                      build_weighted("CONV_2D", s, g, rng, shape=sh), repeat=10)
    for tag, sh in [("k3s1same-c64-h16", dict(cin=64, h=16, w=16)), ("k3s2same-c32-h16", dict(cin=32, stride=2, h=16, w=16))]:
        for gran in GRANULARITIES:
            _cell(f"DEPTHWISE_CONV_2D/uint8/{gran}/{tag}", "conv-sweep", "DEPTHWISE_CONV_2D", "uint8", gran,
                  f"DEPTHWISE_CONV_2D uint8 {gran}, {tag}",
                  lambda rng, g=gran, sh=sh: build_weighted("DEPTHWISE_CONV_2D", "uint8", g, rng, shape=sh),
                  repeat=10)


# ---- weight-only formats: quantized weights under float activations -----------------

# Circle's weight formats (TensorType values) and the bytes a block of 32
# values takes (GGML: a float16 scale and the values; MX: a shared
# exponent byte and the values); INT4 and UINT4 pack two values a byte.
WEIGHT_FORMATS = {
    "ggml_q4_0": (-2, 18),
    "ggml_q8_0": (-4, 34),
    "int4": (17, 16),
    "uint4": (-1, 16),
    "mxfp4": (-6, 17),
    "mxint8": (-7, 33),
}
WEIGHT_FORMAT_TEXT = {
    "ggml_q4_0": "GGML_Q4_0: blocks of 32 int4 values along the last axis, each with a float16 scale (llama.cpp's layout)",
    "ggml_q8_0": "GGML_Q8_0: blocks of 32 int8 values along the last axis, each with a float16 scale",
    "int4": "INT4: int4 values two a byte, low nibble first, a scale per output channel",
    "uint4": "UINT4: uint4 values two a byte, zero point 8, a scale per output channel",
    "mxfp4": "MXFP4: blocks of 32 fp4 values with a shared exponent (random bytes: refused before they are read)",
    "mxint8": "MXINT8: blocks of 32 int8 values with a shared exponent (random bytes: refused before they are read)",
}
WEIGHT_OPS = ["FULLY_CONNECTED", "GATHER", "BATCH_MATMUL"]
GGML_BLOCK = 32
# Float outputs are compared in units of this share of the reference's
# largest magnitude: one unit is float32 rounding over a few hundred
# products, far below what a wrong rounding of the input would cost.
WEIGHT_ONLY_UNIT = 1e-5
NOT_ROUNDED = "the input used as it is, not rounded to Q8_0 blocks"
FIRST_GROUP_ONLY = "only the first group of indices gathered; the rest of the output is not the table's rows"


def f16(x):
    return np.asarray(x, np.float32).astype(np.float16)


def ggml_weights(rng, fmt, rows, cols):
    """Random GGML data of `rows` x `cols` and the real values it holds (a
    row that does not split into blocks of 32 is padded to whole blocks)."""
    bits = 4 if fmt == "ggml_q4_0" else 8
    qmax = (1 << (bits - 1)) - 1
    blocks = -(-cols // GGML_BLOCK)
    q = rng.integers(-qmax - 1, qmax + 1, size=(rows, blocks * GGML_BLOCK)).astype(np.int8)
    d = f16(rng.uniform(0.005, 0.05, size=(rows, blocks)))
    out = bytearray()
    for r in range(rows):
        for b in range(blocks):
            block = q[r, b * GGML_BLOCK:(b + 1) * GGML_BLOCK]
            out += d[r, b].tobytes()
            if bits == 4:
                n = (block + 8).astype(np.uint8)
                out += bytes(n[:16] | (n[16:] << 4))
            else:
                out += block.tobytes()
    real = (q.reshape(rows, -1, GGML_BLOCK).astype(np.float32) * d.astype(np.float32)[:, :, None]).reshape(rows, -1)
    return np.frombuffer(bytes(out), np.uint8), real[:, :cols]


def nibble_weights(rng, fmt, rows, cols):
    """INT4 or UINT4 data (per-channel scales; zero point 8 for UINT4), and
    its real values."""
    signed = fmt == "int4"
    q = rng.integers(-8 if signed else 0, 8 if signed else 16, size=(rows, cols)).astype(np.int8)
    zp = 0 if signed else 8
    scale = rng.uniform(0.005, 0.05, size=rows).astype(np.float32)
    flat = (q.reshape(-1).astype(np.uint8) & 0x0F)
    packed = flat[0::2] | (flat[1::2] << 4)
    qp = QP("int8" if signed else "uint8", scale, np.full(rows, zp), 0)
    return packed.astype(np.uint8), (q.astype(np.float32) - zp) * scale[:, None], qp


def weight_tensor(g, rng, fmt, rows, cols):
    """A weight tensor of `fmt` in graph `g`: its index and real values
    (None for the MX formats, whose random bytes onert never reads)."""
    ttype, block_bytes = WEIGHT_FORMATS[fmt]
    qp = None
    if fmt.startswith("ggml"):
        data, real = ggml_weights(rng, fmt, rows, cols)
    elif fmt in ("int4", "uint4"):
        data, real, qp = nibble_weights(rng, fmt, rows, cols)
    else:
        data = rng.integers(0, 256, size=rows * cols // GGML_BLOCK * block_bytes).astype(np.uint8)
        real = None
    t = g.tensor("w", [rows, cols], "uint8", qp=qp, data=data)
    g.tensors[t].type = ttype
    return t, real


def q8_0_rows(x):
    """Each row of `x` rounded to Q8_0 blocks as ggml does before a product
    with GGML weights: d = max|x| / 127 kept as float16, each value
    round(x * 127 / max|x|) (ties to even, as the vector code rounds) times d."""
    x = np.asarray(x, np.float32)
    blocks = x.reshape(-1, GGML_BLOCK)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    d = f16(amax / np.float32(127)).astype(np.float32)
    safe = np.where(amax > 0, amax, np.float32(1))
    inverse = np.where(amax > 0, np.float32(127) / safe, np.float32(0)).astype(np.float32)
    return (np.round(blocks * inverse) * d).astype(np.float32).reshape(x.shape)


def float_case(model, inputs, expected, note="", alternatives=None, observe=None):
    """A case with a float output, measured in WEIGHT_ONLY_UNIT of its
    largest magnitude."""
    unit = max(float(np.abs(expected).max()), 1e-6) * WEIGHT_ONLY_UNIT
    return Case(model, inputs, expected.astype(np.float32), QP("float32", unit, 0), TOLERANCE_EXACT, note,
                alternatives, observe)


def build_weight_only_fc(fmt, rng, rows=1, cols=64, bias=False):
    n = 16
    g = Graph()
    x = g.tensor("x", [rows, cols], "float32")
    w, real = weight_tensor(g, rng, fmt, n, cols)
    inputs = [x, w, -1]
    b_values = rng.normal(size=n).astype(np.float32)
    if bias:
        inputs[2] = g.tensor("b", [n], "float32", data=b_values)
    y = g.tensor("y", [rows, n], "float32")
    g.op("FULLY_CONNECTED", inputs, [y], ("FullyConnectedOptions", {}))
    xs = rng.normal(size=(rows, cols)).astype(np.float32)
    real = real if real is not None else np.zeros((n, cols), np.float32)
    expected = q8_0_rows(xs) @ real.T if cols % GGML_BLOCK == 0 else xs @ real.T
    plain = xs @ real.T
    if bias:
        expected, plain = expected + b_values, plain + b_values
    note = "reference: the input rounded to Q8_0 blocks, times the weights' real values"
    return float_case(g.finish([x], [y]), [xs], expected, note, {NOT_ROUNDED: plain.astype(np.float32)})


def first_group_only(expected, groups):
    """The observation for indices of rank 2: the first group right, the
    others not."""
    def observe(y):
        y = np.asarray(y, np.float32).reshape(expected.shape)
        unit = max(float(np.abs(expected).max()), 1e-6) * WEIGHT_ONLY_UNIT
        steps = np.abs(y.astype(np.float64) - expected) / unit
        per_group = steps.reshape(groups, -1).max(axis=1)
        # What onert leaves in the other groups is whatever the memory held,
        # NaN included: anything but the table's rows counts.
        others_wrong = not np.all(per_group[1:] <= TOLERANCE_EXACT)
        return [FIRST_GROUP_ONLY] if per_group[0] <= TOLERANCE_EXACT and others_wrong else []
    return observe


def build_weight_only_gather(fmt, rng, indices=(5, 0, 11), cols=64):
    vocab = 16
    idx = np.asarray(indices, np.int32)
    g = Graph()
    table, real = weight_tensor(g, rng, fmt, vocab, cols)
    ids = g.tensor("ids", list(idx.shape), "int32")
    y = g.tensor("y", list(idx.shape) + [cols], "float32")
    g.op("GATHER", [table, ids], [y], ("GatherOptions", {"axis": 0}))
    real = real if real is not None else np.zeros((vocab, cols), np.float32)
    expected = real[idx]
    observe = first_group_only(expected, idx.shape[0]) if idx.ndim > 1 else None
    return float_case(g.finish([ids], [y]), [idx], expected, "reference: the table's real rows", observe=observe)


def build_weight_only_batch_matmul(fmt, rng):
    k, n = 64, 32
    g = Graph()
    x = g.tensor("x", [1, 4, k], "float32")
    w, real = weight_tensor(g, rng, fmt, k, n)
    y = g.tensor("y", [1, 4, n], "float32")
    g.op("BATCH_MATMUL", [x, w], [y], ("BatchMatMulOptions", {}))
    xs = rng.normal(size=(1, 4, k)).astype(np.float32)
    real = real if real is not None else np.zeros((k, n), np.float32)
    return float_case(g.finish([x], [y]), [xs], xs @ real, "reference: the input times the weights' real values")


def _define_weight_only_cells():
    builders = {"FULLY_CONNECTED": build_weight_only_fc, "GATHER": build_weight_only_gather,
                "BATCH_MATMUL": build_weight_only_batch_matmul}
    for op in WEIGHT_OPS:
        for fmt in WEIGHT_FORMATS:
            gran = "per-channel" if fmt in ("int4", "uint4") else "blocks of 32"
            _cell(f"{op}/{fmt}/weight-only", "weight-only", op, fmt, gran,
                  f"{op} with {fmt} weights, float32 activations",
                  lambda rng, f=fmt, b=builders[op]: b(f, rng))
    for fmt in ("ggml_q4_0", "ggml_q8_0"):
        _cell(f"FULLY_CONNECTED/{fmt}/bias", "weight-only", "FULLY_CONNECTED", fmt, "blocks of 32",
              f"FULLY_CONNECTED with {fmt} weights and a float32 bias",
              lambda rng, f=fmt: build_weight_only_fc(f, rng, bias=True))
        _cell(f"FULLY_CONNECTED/{fmt}/rows-8", "weight-only", "FULLY_CONNECTED", fmt, "blocks of 32",
              f"FULLY_CONNECTED with {fmt} weights and 8 input rows",
              lambda rng, f=fmt: build_weight_only_fc(f, rng, rows=8))
    _cell("FULLY_CONNECTED/ggml_q4_0/rows-8-k256", "weight-only", "FULLY_CONNECTED", "ggml_q4_0", "blocks of 32",
          "FULLY_CONNECTED with ggml_q4_0 weights, 8 input rows of 256",
          lambda rng: build_weight_only_fc("ggml_q4_0", rng, rows=8, cols=256))
    _cell("FULLY_CONNECTED/ggml_q4_0/k-48", "weight-only", "FULLY_CONNECTED", "ggml_q4_0", "blocks of 32",
          "FULLY_CONNECTED with ggml_q4_0 weights of 48 input features (not a multiple of 32)",
          lambda rng: build_weight_only_fc("ggml_q4_0", rng, cols=48))
    _cell("GATHER/ggml_q4_0/indices-rank-2", "weight-only", "GATHER", "ggml_q4_0", "blocks of 32",
          "GATHER from a ggml_q4_0 table with indices of shape [2, 2]",
          lambda rng: build_weight_only_gather("ggml_q4_0", rng, indices=((5, 0), (11, 3))))


CONV_SWEEP = [  # (kernel, stride, SAME?, in channels, out channels, input height = width)
    (7, 2, False, 3, 8, 70),   # ResNet-18's stem as tico converts it (explicit PAD, then VALID)
    (7, 2, True, 3, 64, 32),
    (3, 1, True, 8, 8, 16),
    (3, 2, False, 8, 16, 18),
    (1, 2, False, 8, 16, 16),  # a downsample
    (1, 1, True, 64, 64, 8),
    (3, 1, True, 3, 8, 8),
    (3, 1, True, 32, 32, 8),
    (3, 1, True, 64, 64, 8),
    (3, 1, True, 128, 128, 8),
    (3, 1, True, 256, 256, 4),
    (3, 2, True, 256, 512, 4),
    (1, 1, True, 512, 512, 4),
]

_define_cells()
_define_weight_only_cells()


# ---- running onert in a subprocess --------------------------------------------------

def _worker(model_path, inputs_path, out_path, repeat):
    """Runs one model on one or more input sets (npz keys r<run>_x<input>).
    Prints `STAGE <stage>` as it goes and, at the end, `OK <seconds>` (the
    fastest of `repeat` runs of the first set) or `ERROR <stage> <text>`.
    A failure at `input` (the API refusing the input's type) is reported and
    the rest still tried, to see what the kernel says."""
    def say(*a):
        print(*a, flush=True)
    stage = "load"
    first_error = None
    try:
        say("STAGE load")
        from onert.native.libnnfw_api_pybind import prepare_config
        from onert.native.libnnfw_api_pybind.infer import nnfw_session
        s = nnfw_session(model_path, "cpu")
        stage = "prepare"
        say("STAGE prepare")
        s.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
        s.prepare()
        data = np.load(inputs_path)
        runs = sorted({int(k.split("_")[0][1:]) for k in data.files})
        outputs, best = {}, None
        for r in runs:
            stage = "input"
            say("STAGE input")
            # onert keeps a pointer to each input buffer until run(): keep them alive.
            count = len([k for k in data.files if k.startswith(f"r{r}_")])
            arrays = [np.ascontiguousarray(data[f"r{r}_x{i}"]) for i in range(count)]
            for i, x in enumerate(arrays):
                try:
                    s.input_tensorinfo(i)
                except Exception as e:  # noqa: BLE001
                    if first_error is None:
                        first_error = ("input", f"{type(e).__name__}: {e}")
                s.set_input(i, x)
            stage = "run"
            say("STAGE run")
            for _ in range(repeat if r == runs[0] else 1):
                t0 = time.perf_counter()
                s.run()
                dt = time.perf_counter() - t0
                if r == runs[0]:
                    best = dt if best is None else min(best, dt)
            stage = "output"
            say("STAGE output")
            outputs[f"y{r}"] = np.array(s.get_output(0))
        if first_error:
            say(f"ERROR {first_error[0]} {first_error[1]}")
            sys.exit(3)
        np.savez(out_path, **outputs)
        say(f"OK {best:.6f}")
    except BaseException as e:  # noqa: BLE001 - every failure is a result
        if first_error:
            say(f"ERROR {first_error[0]} {first_error[1]}")
        else:
            say(f"ERROR {stage} {type(e).__name__}: {e}".replace("\n", " "))
        sys.exit(3)


def _error_lines(stderr):
    """onert's own messages (`Error during <API call> : <reason>`, `Fail to
    load model: ...`), in order, each once."""
    keep = []
    for line in stderr.splitlines():
        line = line.strip()
        if line and line not in keep:
            keep.append(line)
    return keep


def _log_tail(stdout, limit=6):
    """The last lines of an ONERT_LOG_ENABLE=1 log: where onert was."""
    lines = [line.rstrip() for line in stdout.splitlines() if line.startswith("[") and "unloaded" not in line]
    return lines[-limit:]


def run_model(model_bytes, runs, timeout=TIMEOUT, repeat=1, log=True):
    """Runs a circle model in onert in a subprocess, once per input set in
    `runs` (a list of lists of arrays). Returns a dict: stage reached, ok,
    error (onert's messages), crash (signal name), timeout, outputs, the
    fastest run in seconds."""
    with tempfile.TemporaryDirectory(prefix="onert-matrix-") as tmp:
        mp, ip, op = (os.path.join(tmp, n) for n in ("m.circle", "in.npz", "out.npz"))
        with open(mp, "wb") as f:
            f.write(model_bytes)
        np.savez(ip, **{f"r{r}_x{i}": x for r, xs in enumerate(runs) for i, x in enumerate(xs)})

        def go(env_extra):
            env = dict(os.environ, **env_extra)
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", mp, ip, op, str(repeat)]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
                return p.returncode, p.stdout, p.stderr, False
            except subprocess.TimeoutExpired as e:
                out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
                err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
                return None, out, err, True

        rc, out, err, timed_out = go({})
        res = {"stage": None, "ok": False, "error": None, "exception": None, "crash": None, "timeout": timed_out,
               "outputs": None, "run_seconds": None}
        for line in out.splitlines():
            if line.startswith("STAGE "):
                res["stage"] = line.split()[1]
            elif line.startswith("OK "):
                res["ok"] = True
                res["run_seconds"] = float(line.split()[1])
            elif line.startswith("ERROR "):
                _, stage, text = line.split(" ", 2)
                res["stage"], res["exception"] = stage, text
        res["onert_messages"] = _error_lines(err)
        if res["ok"]:
            with np.load(op) as z:
                res["outputs"] = [z[f"y{r}"] for r in range(len(runs))]
        elif timed_out:
            res["error"] = f"timeout after {timeout:g} s"
        elif rc is not None and rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            res["crash"] = name
            res["error"] = f"crashed with {name}"
        else:
            # What onert printed is the reason; the Python exception only
            # says NNFW_STATUS_ERROR.
            res["error"] = " / ".join(res["onert_messages"]) or res["exception"] or f"exited {rc}"
        if not res["ok"] and log and not timed_out:
            _, lout, _, _ = go({"ONERT_LOG_ENABLE": "1"})
            res["log"] = _log_tail(lout)
        return res


# ---- a cell's record ----------------------------------------------------------------

LOAD_STAGES = ("load", "prepare")


def run_cell(cell_id, timeout=TIMEOUT):
    cell = CELLS[cell_id]
    case = cell["build"](_rng(cell_id))
    t0 = time.perf_counter()
    res = run_model(case.model, [case.inputs], timeout=timeout, repeat=cell["repeat"])
    failed_at = None if res["ok"] else (res["stage"] or "load")
    rec = {k: cell[k] for k in ("id", "group", "op", "scheme", "granularity", "description")}
    rec.update({
        "note": case.note,
        "tolerance_steps": case.tolerance,
        "output_params": case.out_qp.as_json(),
        "loads": res["ok"] or failed_at not in LOAD_STAGES,
        "load_error": res["error"] if failed_at in LOAD_STAGES else None,
        "runs": res["ok"],
        "run_error": res["error"] if failed_at and failed_at not in LOAD_STAGES else None,
        "failed_at": failed_at,
        "crash": res["crash"],
        "timeout": res["timeout"],
        "max_diff_steps": None,
        "mean_diff_steps": None,
        "run_seconds": res["run_seconds"],
        "wall_seconds": round(time.perf_counter() - t0, 3),
        "onert_messages": res["onert_messages"],
        "exception": res["exception"],
        "log": res.get("log"),
    })
    if res["ok"]:
        y = np.asarray(res["outputs"][0])
        if y.shape != case.expected.shape and y.size == case.expected.size:
            y = y.reshape(case.expected.shape)
        if y.shape != case.expected.shape or y.dtype != case.expected.dtype:
            rec["output_mismatch"] = (f"output {y.dtype}{list(y.shape)}, expected "
                                      f"{case.expected.dtype}{list(case.expected.shape)}")
            rec["verdict"] = "wrong"
        else:
            d = case.diff_steps(y)
            rec["max_diff_steps"] = round(float(d.max()), 3)
            rec["mean_diff_steps"] = round(float(d.mean()), 4)
            rec["verdict"] = "ok" if d.max() <= case.tolerance + 1e-6 else "wrong"
            # Which hypotheses about the kernel onert's output matches.
            rec["matches"] = [name for name, alt in case.alternatives.items()
                              if case.diff_steps_from(y, alt).max() <= case.tolerance]
            if case.observe is not None:
                rec["matches"] += case.observe(y)
    elif res["crash"]:
        rec["verdict"] = "crash"
    elif res["timeout"]:
        rec["verdict"] = "timeout"
    else:
        rec["verdict"] = f"rejected at {failed_at}"
    return rec


def cell_text(rec):
    """The short form a matrix cell shows."""
    v = rec["verdict"]
    if v == "ok":
        return f"ok ({rec['max_diff_steps']:g})"
    if v == "wrong":
        if rec.get("max_diff_steps") is None:
            return f"wrong ({rec.get('output_mismatch')})"
        return f"wrong ({rec['max_diff_steps']:g} steps)"
    return v


# ---- per-channel weights in the fixture models --------------------------------------

MODEL_VARIANTS = {  # which constants become per-channel uint8 with varying zero points
    "per-tensor": set(),
    "per-channel-zp: convolutions": {"conv"},
    "per-channel-zp: fully connected": {"fc"},
    "per-channel-zp: MUL/ADD constants": {"const"},
    "per-channel-zp: all": {"conv", "fc", "const"},
}
MODELS = {  # fixture -> (qparam set, needs `check --fix`)
    "convnet": ("convnet.qparam", False),
    "mlp": ("mlp.qparam", False),
    "resnet18": ("resnet18.torch-qparam", True),
}
CALIBRATION_SEED = 20261127  # fixtures/make.py's
MODEL_REPEAT = 20  # runs of the first input timed; the fastest is kept


def _per_channel_uint8(v, axis):
    """Asymmetric uint8 per channel along `axis`, zero points varying."""
    moved = np.moveaxis(v, axis, 0).reshape(v.shape[axis], -1)
    lo, hi = np.minimum(moved.min(1), 0), np.maximum(moved.max(1), 0)
    scale = ((hi - lo) / 255).astype(np.float32)
    scale[scale == 0] = 1.0
    zp = np.clip(np.round(-lo / scale), 0, 255).astype(np.int64)
    shape = [1] * v.ndim
    shape[axis] = -1
    q = np.clip(np.round(v / scale.reshape(shape)) + zp.reshape(shape), 0, 255).astype(np.uint8)
    return scale, zp, q


def _refexec():
    """fixtures/refexec.py, the numpy float interpreter of the fixtures."""
    if FIXTURES not in sys.path:
        sys.path.insert(0, FIXTURES)
    import refexec
    return refexec


def make_per_channel(model, directory, which):
    """Rewrites the qparam.json in `directory` (keyed by circle names): the
    weights of the operators in `which` ("conv": CONV_2D and
    DEPTHWISE_CONV_2D, "fc": FULLY_CONNECTED, "const": constant operands of
    MUL and ADD) per-channel asymmetric uint8, their biases per channel to
    match (scale = input scale x weight scale)."""
    refexec = _refexec()
    from circle_schema.v0_10.circle.BuiltinOperator import BuiltinOperator as Op
    sg = model.subgraphs[0]
    names = [t.name.decode() for t in sg.tensors]
    path = os.path.join(directory, "qparam.json")
    entries = json.load(open(path))
    count = [0]

    def npy(a):
        count[0] += 1
        name = f"pc{count[0]}.npy"
        np.save(os.path.join(directory, name), a)
        return name

    changed = 0
    for op in sg.operators:
        code = refexec.opcode(model, op)
        weighted = {Op.CONV_2D: "conv", Op.DEPTHWISE_CONV_2D: "conv", Op.FULLY_CONNECTED: "fc"}
        if code in weighted and weighted[code] in which:
            xi, wi, bi = op.inputs[:3]
            w = refexec.constant(model, sg.tensors[wi]).astype(np.float64)
            axis = 3 if code == Op.DEPTHWISE_CONV_2D else 0
            scale, zp, q = _per_channel_uint8(w, axis)
            entries[names[wi]] = {"dtype": "uint8", "scale": npy(scale), "zerop": npy(zp),
                                  "quantized_dimension": axis, "value": npy(q)}
            if bi >= 0 and names[bi] in entries:
                b = refexec.constant(model, sg.tensors[bi]).astype(np.float64)
                s_in = float(np.load(os.path.join(directory, entries[names[xi]]["scale"]))[0])
                bs = (s_in * scale.astype(np.float64)).astype(np.float32)
                entries[names[bi]] = {"dtype": "int32", "scale": npy(bs), "zerop": npy(np.zeros(len(bs), np.int64)),
                                      "quantized_dimension": 0,
                                      "value": npy(np.round(b / bs.astype(np.float64)).astype(np.int32))}
            changed += 1
        if code in (Op.MUL, Op.ADD) and "const" in which:
            for ti in op.inputs:
                c = refexec.constant(model, sg.tensors[ti])
                if c is None or c.ndim < 2 or c.shape[1] < 2 or names[ti] not in entries:
                    continue
                scale, zp, q = _per_channel_uint8(c.astype(np.float64), 1)
                entries[names[ti]] = {"dtype": "uint8", "scale": npy(scale), "zerop": npy(zp),
                                      "quantized_dimension": 1, "value": npy(q)}
                changed += 1
    with open(path, "w") as f:
        json.dump(entries, f)
    return changed


def parameters(model, entries_dir):
    """Tensor index -> (dtype, scales, zero points, axis) of the set in
    `entries_dir` (its qparam.json and npy files)."""
    index = {t.name.decode(): i for i, t in enumerate(model.subgraphs[0].tensors)}
    params = {}
    for key, e in json.load(open(os.path.join(entries_dir, "qparam.json"))).items():
        load = lambda f, e=e: np.load(os.path.join(entries_dir, e[f])).astype(np.float64)  # noqa: E731
        params[index[key]] = (e["dtype"], load("scale"), load("zerop"), e.get("quantized_dimension", 0))
    return params


def simulated(model, params, x):
    """The float model with every tensor rounded to its `parameters` (numpy,
    fixtures/refexec.py): what the quantization alone does to the output."""
    refexec = _refexec()
    sg = model.subgraphs[0]

    def fake(i, v):
        if i not in params or v is None or v.dtype != np.float32:
            return v
        dtype, s, z, axis = params[i]
        if len(s) > 1:
            shape = [1] * v.ndim
            shape[axis] = -1
            s, z = s.reshape(shape), z.reshape(shape)
        lo, hi = qrange(dtype)
        return ((np.clip(np.round(v / s) + z, lo, hi) - z) * s).astype(np.float32)

    class Rounded(dict):
        def __setitem__(self, i, v):
            super().__setitem__(i, fake(i, v) if isinstance(v, np.ndarray) else v)

    return refexec.run(model, [x], values=Rounded())[sg.outputs[0]]


def run_models(names=None, timeout=TIMEOUT * 3):
    """Each fixture model, quantized by `q-implant apply` with the variants
    of MODEL_VARIANTS, on onert over the calibration inputs; compared with
    the float model on onert, and with the numpy simulation of the same
    quantized model. A variant computes correctly when onert's largest
    difference is no more than the simulation's plus one step."""
    refexec = _refexec()
    from circle_schema.v0_10.circle.Model import ModelT
    records = []
    if not os.path.exists(Q_IMPLANT):
        return [{"skipped": f"{Q_IMPLANT} is missing; build it with `cargo build --release`"}]
    for name in names or MODELS:
        qparam, fix = MODELS[name]
        float_path = os.path.join(FIXTURES, f"{name}.circle")
        model = refexec.load(float_path)
        fsg = model.subgraphs[0]
        rng = np.random.default_rng(CALIBRATION_SEED)
        xs = [rng.standard_normal(fsg.tensors[fsg.inputs[0]].shape).astype(np.float32) for _ in range(8)]
        ref = run_model(open(float_path, "rb").read(), [[x] for x in xs], timeout=timeout, repeat=MODEL_REPEAT)
        if not ref["ok"]:
            records.append({"model": name, "skipped": f"the float model fails on onert: {ref['error']}"})
            continue
        for variant, which in MODEL_VARIANTS.items():
            if name == "mlp" and which - {"fc"}:
                continue
            if name == "convnet" and which - {"conv"}:
                continue
            with tempfile.TemporaryDirectory(prefix="onert-matrix-model-") as tmp:
                d = os.path.join(tmp, "qparam")
                shutil.copytree(os.path.join(FIXTURES, qparam), d)
                if fix:
                    subprocess.run([Q_IMPLANT, "check", float_path, os.path.join(d, "qparam.json"), "--fix"],
                                   capture_output=True, text=True)
                changed = make_per_channel(model, d, which)
                out = os.path.join(tmp, "q.circle")
                p = subprocess.run([Q_IMPLANT, "apply", float_path, os.path.join(d, "qparam.json"), "-o", out],
                                   capture_output=True, text=True)
                rec = {"model": name, "variant": variant, "constants_changed": changed}
                if p.returncode != 0:
                    rec.update(verdict="apply failed", error=p.stderr.strip()[-500:])
                    records.append(rec)
                    continue
                qm = ModelT.InitFromPackedBuf(bytearray(open(out, "rb").read()), 0)
                qsg = qm.subgraphs[0]
                tin, tout = qsg.tensors[qsg.inputs[0]], qsg.tensors[qsg.outputs[0]]
                s_in, z_in = float(tin.quantization.scale[0]), int(tin.quantization.zeroPoint[0])
                s_out, z_out = float(tout.quantization.scale[0]), int(tout.quantization.zeroPoint[0])
                xq = [[np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)] for x in xs]
                res = run_model(open(out, "rb").read(), xq, timeout=timeout, repeat=MODEL_REPEAT)
                if not res["ok"]:
                    rec.update(verdict="crash" if res["crash"] else f"rejected at {res['stage']}", error=res["error"])
                    records.append(rec)
                    continue
                err = np.concatenate([np.abs((y.astype(np.float64) - z_out) * s_out - yf) / s_out
                                      for y, yf in zip(res["outputs"], ref["outputs"])])
                params = parameters(model, d)
                sim = np.concatenate([np.abs(simulated(model, params, x) - yf) / s_out
                                      for x, yf in zip(xs, ref["outputs"])])
                rec.update({
                    "onert_mean_steps": round(float(err.mean()), 2), "onert_max_steps": round(float(err.max()), 2),
                    "simulated_mean_steps": round(float(sim.mean()), 2),
                    "simulated_max_steps": round(float(sim.max()), 2),
                    "run_ms": round(res["run_seconds"] * 1e3, 3), "float_run_ms": round(ref["run_seconds"] * 1e3, 3),
                    "verdict": "ok" if err.max() <= sim.max() + 1 else "wrong",
                })
                records.append(rec)
    return records


# ---- the data file the library compiles in ------------------------------------------

def trim_cell(c):
    """A cell's record as DATA keeps it: its outcome and onert's messages,
    no log, a run time only for the timed sweep."""
    out = {k: c[k] for k in ("id", "group", "op", "scheme", "granularity", "description", "verdict")}
    out["stage"] = c["failed_at"]
    out["messages"] = c["onert_messages"]
    if c["verdict"] != "ok" and not c["onert_messages"]:
        out["error"] = c["load_error"] or c["run_error"] or c["exception"]
    out["max_steps"] = c["max_diff_steps"]
    out["mean_steps"] = c["mean_diff_steps"]
    out["matches"] = c.get("matches") or []
    if c.get("output_mismatch"):
        out["output_mismatch"] = c["output_mismatch"]
    if c["group"] == "conv-sweep":
        out["run_seconds"] = c["run_seconds"]
    return out


def trim_model(m):
    """A fixture model's run as DATA keeps it: differences as [mean, max],
    run times as [quantized, float]."""
    out = {k: m[k] for k in ("model", "variant", "verdict", "error", "skipped") if k in m}
    if "onert_mean_steps" in m:
        out["onert_steps"] = [m["onert_mean_steps"], m["onert_max_steps"]]
        out["simulated_steps"] = [m["simulated_mean_steps"], m["simulated_max_steps"]]
        out["run_ms"] = [m["run_ms"], m["float_run_ms"]]
    return out


def trimmed(doc):
    """The measurement `doc` (what --all writes) as DATA keeps it, one cell
    a line, so a new measurement reads as a diff of cells."""
    env = doc["environment"]
    head = {
        "environment": {k: env[k] for k in ("onert_version", "backend", "python_version", "platform", "date")}
        | {"packages": list(env["packages"].items())},
        "seconds": doc["seconds"],
        "schemes": list(doc["schemes"].items()),
        "granularities": list(doc["granularities"].items()),
        "tolerance": doc["tolerance"],
        "operators": doc["operators"],
    }
    dump = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    lines = ["{"] + [f" {dump(k)}: {dump(v)}," for k, v in head.items()]
    lines += [' "cells": [', ",\n".join("  " + dump(trim_cell(c)) for c in doc["cells"]), " ],"]
    lines += [' "models": [', ",\n".join("  " + dump(trim_model(m)) for m in doc["models"]), " ]", "}"]
    return "\n".join(lines) + "\n"


def write_data(doc, path=DATA):
    with open(path, "w") as f:
        f.write(trimmed(doc))
    print(f"-> {path}")


def committed(path=DATA):
    """DATA as committed: cell id -> the cell's record there."""
    with open(path) as f:
        return {c["id"]: c for c in json.load(f)["cells"]}


# ---- the command line ---------------------------------------------------------------

def environment():
    from importlib.metadata import version
    versions = {}
    for pkg in ("onert", "circle-schema", "numpy", "flatbuffers"):
        try:
            versions[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            versions[pkg] = "unknown"
    return {
        "onert_version": versions["onert"],
        "backend": "cpu",
        "packages": versions,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": RERUN,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cells", nargs="*", help="cell ids or id prefixes to run and print")
    ap.add_argument("--all", action="store_true", help="run every cell and the models; write the JSON")
    ap.add_argument("--models", action="store_true", help="run only the fixture-model variants and print them")
    ap.add_argument("--list", action="store_true", help="list the cell ids")
    ap.add_argument("-o", "--output", default=DEFAULT_OUT, help=f"JSON written by --all (default {DEFAULT_OUT})")
    ap.add_argument("--data", default=DATA, help=f"the trimmed JSON the library compiles in, written by --all and --trim (default {DATA})")
    ap.add_argument("--trim", metavar="JSON", help="write --data from a JSON --all wrote, without measuring")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        _worker(*a.worker[:3], int(a.worker[3]))
        return 0
    if a.list:
        print("\n".join(CELLS))
        return 0
    if a.trim:
        with open(a.trim) as f:
            write_data(json.load(f), a.data)
        return 0
    if a.models:
        for rec in run_models():
            print(json.dumps(rec))
        return 0
    ids = list(CELLS) if a.all else [c for c in CELLS if any(c == p or c.startswith(p) for p in a.cells)]
    if not ids:
        ap.error("no cell selected: give ids or id prefixes (see --list), or --all")
    t0 = time.perf_counter()
    records = []
    for cid in ids:
        rec = run_cell(cid)
        records.append(rec)
        why = rec["load_error"] or rec["run_error"] or ""
        print(f"{cid:58s} {cell_text(rec):22s} {why[:110]}", flush=True)
    if a.all:
        models = run_models()
        for rec in models:
            print(json.dumps(rec), flush=True)
        total = time.perf_counter() - t0
        doc = {
            "environment": environment(),
            "seconds": round(total, 1),
            "schemes": SCHEME_TEXT | WEIGHT_FORMAT_TEXT,
            "granularities": GRANULARITY_TEXT,
            "tolerance": {"exact": TOLERANCE_EXACT, "approx": TOLERANCE_APPROX, "approx_ops": sorted(APPROX_OPS)},
            "operators": OPERATORS,
            "cells": records,
            "models": models,
        }
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        with open(a.output, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"{len(records)} cells and {len(models)} model runs in {total:.0f} s -> {a.output}")
        write_data(doc, a.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
