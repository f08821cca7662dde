#!/usr/bin/env python3
"""Writes docs/targets.md from the onert support matrix in
target/onert-matrix.json (made by `tests/interop/onert_matrix.py --all`).

    .venv/bin/python scripts/onert_matrix_doc.py            # writes docs/targets.md
    .venv/bin/python scripts/onert_matrix_doc.py --check    # exit 1 if docs/targets.md is not what it would write

Standard library only. Each finding listed in FINDINGS names the cells that
show it; the generator checks them against the JSON and says so in the
document when a finding no longer holds, so a run against another onert
version cannot leave a stale claim standing. Each failing cell names the Q8
rules of `q-implant check --target onert` that report it (`rules_for`, the
conditions of src/analysis/rules/target.rs restated on the cells); a failing
cell no rule reports, or a passing one a rule does, is listed as such.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_IN = os.path.join(ROOT, "target", "onert-matrix.json")
DEFAULT_OUT = os.path.join(ROOT, "docs", "targets.md")
SCHEMES = ["uint8", "int8", "int16"]
WEIGHTED = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]
NO_RULE = "—"
# The hypotheses tests/interop/onert_matrix.py checks wrong outputs against
# (its FIRST_CHANNEL, BYTES_COPIED, UINT8_CLAMP).
FIRST_CHANNEL = "channel 0's scale and zero point used for every channel"
BYTES_COPIED = "the input's bytes copied, the output's parameters ignored"
UINT8_CLAMP = "clamped to [0, 255] (the uint8 range), then stored into int8"

# ---- the Q8 rules (src/analysis/rules/target.rs) ----------------------------------------
# Code -> (name, summary), as target.rs has them.
RULES = {
    "Q801": ("onert-no-kernel", "onert has no kernel for this operator on this type"),
    "Q802": ("onert-int16", "onert runs no int16 model"),
    "Q803": ("onert-per-channel-ignored", "onert uses channel 0's parameters for every channel here"),
    "Q804": ("onert-requantizing-copy", "an operator that moves values has output parameters onert will not apply"),
    "Q805": ("onert-int8-quantize", "onert's QUANTIZE into int8 clamps to the uint8 range"),
    "Q806": ("onert-int8-weight-zero-point", "onert refuses int8 weights with a zero point other than 0"),
    "Q807": ("onert-mixed-types", "onert computes a layer wrongly when its weight's type is not its input's"),
    "Q808": ("onert-integer-dequantize", "onert refuses a DEQUANTIZE of an int32 or int64 tensor"),
    "Q809": ("onert-unmeasured", "an operator would run quantized on a type onert was not measured on"),
}
# Q801: target.rs's NO_KERNEL, the operators it reports by the type of
# their output or of their (non-constant) input.
NO_KERNEL = {(op, "uint8") for op in ("RELU", "RELU6", "RSQRT", "BATCH_MATMUL", "STRIDED_SLICE")} | {
    (op, "int8") for op in ("RELU", "RELU6", "RSQRT", "BATCH_MATMUL", "STRIDED_SLICE", "FULLY_CONNECTED",
                            "TRANSPOSE", "MAX_POOL_2D", "GATHER", "MEAN", "LOGISTIC", "TANH")}
# Q804: operators whose output parameters must be their value input's (all
# types), and CONCATENATION, whose inputs and output must share them in int8.
COPIES = {"RESHAPE", "MAX_POOL_2D", "AVERAGE_POOL_2D", "GATHER", "TRANSPOSE", "PAD", "PADV2"}
# Cells (last part of the id) whose output parameters differ from the
# input's, or whose inputs' parameters differ from each other.
OTHER_PARAMS = {"other-out-params", "other-out-scale"}
MIXED_INPUTS = {"mixed-in-params"}
# fc-per-channel cells whose per-channel parameters are all equal.
EQUAL_CHANNELS = {"uniform", "first-channel-broadcast"}


def rules_for(cell):
    """The Q8 rules that report the cell's model (as a set for `check`:
    graph inputs, weights and outputs in the cell's scheme, the weights or
    constant in its granularity), restating target.rs's conditions:

    - Q802: an entry is int16.
    - Q801: the operator and the type of its output or input are in
      NO_KERNEL.
    - Q803: parameters that differ between channels on the weight of a uint8
      FULLY_CONNECTED, or on a constant operand of ADD or MUL (any type).
    - Q804: a RESHAPE, MAX_POOL_2D, AVERAGE_POOL_2D, GATHER, TRANSPOSE, PAD
      or PADV2 whose output
      parameters differ from its input's; an int8 CONCATENATION whose inputs
      and output do not all share parameters.
    - Q805: a QUANTIZE into int8.
    - Q806: an int8 weight of CONV_2D or DEPTHWISE_CONV_2D with a zero point
      other than 0 (the `per-channel-zp` cells; the others are symmetric).
    - Q807, Q808: a weight of another type than its layer's input, and a
      DEQUANTIZE of an integer tensor; no cell of the matrix has either
      (their evidence is in tests/interop/test_target_onert.py).
    """
    op, scheme, gran = cell["op"], cell["scheme"], cell["granularity"]
    tag = cell["id"].split("/")[-1]
    varies = gran in ("per-channel", "per-channel-zp") and tag not in EQUAL_CHANNELS
    found = []
    if (op, scheme) in NO_KERNEL:
        found.append("Q801")
    if scheme == "int16":
        found.append("Q802")
    if varies and ((op == "FULLY_CONNECTED" and scheme == "uint8")
                   or (op in ("ADD", "MUL") and tag.startswith("const-"))):
        found.append("Q803")
    if (op in COPIES and tag in OTHER_PARAMS) or (
            op == "CONCATENATION" and scheme == "int8" and tag in OTHER_PARAMS | MIXED_INPUTS):
        found.append("Q804")
    if op == "QUANTIZE" and scheme == "int8":
        found.append("Q805")
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D") and scheme == "int8" and gran == "per-channel-zp":
        found.append("Q806")
    return found


def model_rules(variant):
    """The Q8 rules that report a fixture-model variant (onert_matrix's
    MODEL_VARIANTS): per-channel uint8 fully connected weights or MUL/ADD
    constants, their zero points varying, are Q803; per-channel convolution
    weights are right, and no rule reports them."""
    return ["Q803"] if any(w in variant for w in ("fully connected", "MUL/ADD", ": all")) else []


def rule_text(codes):
    return ", ".join(f"[{c}](rules.md#{c.lower()}) {RULES[c][0]}" for c in codes) or NO_RULE


# Why a failing cell is left to no rule: cell id -> reason. (Empty while
# every failing cell has a rule; the document lists any failing cell without
# a rule whether or not it is here.)
NOT_COVERED = {}

# (statement, [evidence]); evidence items: (cell id, verdict prefix[, message
# substring or None[, hypothesis the output must match]]) or ("model",
# model, variant, verdict).
FINDINGS = [
    ("uint8 FULLY_CONNECTED with per-channel weights computes wrong, with no error: onert uses the first "
     "channel's scale and zero point for every output channel. Per-channel parameters that are all equal, or "
     "channel 0's repeated, give the right output; varying scales or varying zero points do not.",
     [("FULLY_CONNECTED/uint8/per-channel", "wrong", None, FIRST_CHANNEL),
      ("FULLY_CONNECTED/uint8/per-channel-zp", "wrong", None, FIRST_CHANNEL),
      ("FULLY_CONNECTED/uint8/per-channel/uniform", "ok"),
      ("FULLY_CONNECTED/uint8/per-channel/first-channel-broadcast", "ok"),
      ("FULLY_CONNECTED/uint8/per-channel/scales-vary", "wrong", None, FIRST_CHANNEL),
      ("FULLY_CONNECTED/uint8/per-channel/zps-vary", "wrong", None, FIRST_CHANNEL),
      ("FULLY_CONNECTED/uint8/per-channel-zp/n1-512x1000", "wrong", None, FIRST_CHANNEL)]),
    ("MUL and ADD with a constant operand quantized per channel (a batch norm as tico converts it: an NCHW "
     "activation times a [1, C, 1, 1] constant) compute wrong, with no error, in uint8 and int8, the same "
     "way: channel 0's scale and zero point for every channel. The same constant quantized per tensor is "
     "right.",
     [("MUL/uint8/const-per-tensor", "ok"), ("MUL/uint8/const-per-channel", "wrong", None, FIRST_CHANNEL),
      ("MUL/uint8/const-per-channel-zp", "wrong", None, FIRST_CHANNEL), ("ADD/uint8/const-per-tensor", "ok"),
      ("ADD/uint8/const-per-channel", "wrong", None, FIRST_CHANNEL),
      ("ADD/uint8/const-per-channel-zp", "wrong", None, FIRST_CHANNEL),
      ("MUL/int8/const-per-channel", "wrong", None, FIRST_CHANNEL),
      ("ADD/int8/const-per-channel", "wrong", None, FIRST_CHANNEL)]),
    ("ResNet-18 with per-channel uint8 weights (zero points varying) goes wrong because of the two findings "
     "above, not because of its convolutions: with only the convolutions per channel it is as close to the "
     "float model as the per-tensor model; with the fully connected layer, or the batch-norm MUL/ADD "
     "constants, per channel it is tens of steps off. The small convnet (Conv2D and DepthwiseConv2D only) "
     "is right per channel; the mlp (FullyConnected only) is not.",
     [("model", "resnet18", "per-tensor", "ok"), ("model", "resnet18", "per-channel-zp: convolutions", "ok"),
      ("model", "resnet18", "per-channel-zp: fully connected", "wrong"),
      ("model", "resnet18", "per-channel-zp: MUL/ADD constants", "wrong"),
      ("model", "convnet", "per-channel-zp: convolutions", "ok"),
      ("model", "mlp", "per-channel-zp: fully connected", "wrong")]),
    ("uint8 CONV_2D and DEPTHWISE_CONV_2D with per-channel weights, zero points varying or not, compute right "
     "in every shape tried (kernels 1, 3 and 7, strides 1 and 2, SAME and VALID, 3 to 512 channels, with and "
     "without a fused RELU or RELU6), but CONV_2D is several times slower than per tensor: see the timed sweep.",
     [("CONV_2D/uint8/per-channel-zp", "ok"), ("DEPTHWISE_CONV_2D/uint8/per-channel-zp", "ok"),
      ("CONV_2D/uint8/per-channel-zp-fused-RELU6", "ok"), ("DEPTHWISE_CONV_2D/uint8/per-channel-zp-fused-RELU", "ok"),
      ("CONV_2D/uint8/per-channel-zp/k7s2valid-c3x8-h70", "ok"),
      ("CONV_2D/uint8/per-channel-zp/k1s1same-c512x512-h4", "ok"),
      ("CONV_2D/uint8/per-channel-zp/k3s2same-c256x512-h4", "ok")]),
    ("Standalone quantized RELU and RELU6 are rejected when the model is prepared, whatever their parameters "
     "(`ElementwiseActivationLayer(ReLU): unsupported data type`); an activation fused into CONV_2D, "
     "DEPTHWISE_CONV_2D or FULLY_CONNECTED is fine.",
     [("RELU/uint8/per-tensor", "rejected at prepare", "ElementwiseActivationLayer(ReLU): unsupported data type"),
      ("RELU/uint8/same-params", "rejected at prepare"), ("RELU6/uint8/per-tensor", "rejected at prepare"),
      ("RELU/int8/per-tensor", "rejected at prepare"), ("CONV_2D/uint8/fused-RELU", "ok"),
      ("FULLY_CONNECTED/uint8/fused-RELU6", "ok")]),
    ("int8 FULLY_CONNECTED and int8 TRANSPOSE load and are rejected when run (`FullyConnected: unsupported "
     "data type`, `Transpose: unsupported data type`); so are int8 BATCH_MATMUL, MAX_POOL_2D, GATHER and "
     "STRIDED_SLICE. int8 MEAN, LOGISTIC, TANH, RELU and RELU6 are rejected at prepare. int8 weights with a "
     "non-zero zero point are rejected at load (`OperationValidator failed`).",
     [("FULLY_CONNECTED/int8/per-tensor", "rejected at run", "FullyConnected: unsupported data type"),
      ("TRANSPOSE/int8/per-tensor", "rejected at run", "Transpose: unsupported data type"),
      ("BATCH_MATMUL/int8/per-tensor", "rejected at run"), ("MAX_POOL_2D/int8/per-tensor", "rejected at run"),
      ("GATHER/int8/per-tensor", "rejected at run"), ("MEAN/int8/per-tensor", "rejected at prepare"),
      ("LOGISTIC/int8/per-tensor", "rejected at prepare"), ("TANH/int8/per-tensor", "rejected at prepare"),
      ("CONV_2D/int8/per-channel-zp", "rejected at load", "OperationValidator failed"),
      ("DEPTHWISE_CONV_2D/int8/per-channel-zp", "rejected at load", "OperationValidator failed")]),
    ("QUANTIZE from float32 to int8 (the input of a float-I/O model) computes wrong, with no error: the "
     "result is clamped to [0, 255], the uint8 range, and stored into int8 (negative values become 0, values "
     "above 127 wrap). DEQUANTIZE from int8 is right; both are right for uint8.",
     [("QUANTIZE/int8/per-tensor", "wrong", None, UINT8_CLAMP), ("QUANTIZE/uint8/per-tensor", "ok"),
      ("DEQUANTIZE/int8/per-tensor", "ok"), ("DEQUANTIZE/uint8/per-tensor", "ok")]),
    ("No int16 model runs. The API refuses int16 graph inputs and outputs (`nnfw_session::input_tensorinfo : "
     "Error: Model has type that runtime API does not support.`; `set_input` prints it and carries on), "
     "QUANTIZE and DEQUANTIZE to and from int16 fail the validator at load, and the kernels reject int16 "
     "anyway: CONV_2D, FULLY_CONNECTED and the others at run, ADD, SUB, MUL, MEAN, the pools, LOGISTIC and "
     "TANH at prepare, RELU, SOFTMAX and BATCH_MATMUL at load.",
     [("CONV_2D/int16/per-tensor", "rejected at input", "runtime API does not support"),
      ("CONV_2D/int16/per-tensor", "rejected at input", "Conv: unsupported data type"),
      ("FULLY_CONNECTED/int16/per-tensor", "rejected at input", "FullyConnected: unsupported data type"),
      ("RESHAPE/int16/per-tensor", "rejected at input"), ("QUANTIZE/int16/per-tensor", "rejected at load"),
      ("DEQUANTIZE/int16/per-tensor", "rejected at load"), ("ADD/int16/per-tensor", "rejected at prepare"),
      ("SOFTMAX/int16/per-tensor", "rejected at load")]),
    ("Operators that move values, with output parameters other than the input's: uint8 TRANSPOSE loads and "
     "is rejected when run (`TransposeLayer : qassym8 input and output offsets unmatched`, or `scales "
     "unmatched` when only the scale differs), not at load; PAD is rejected at load; CONCATENATION requantizes "
     "correctly in uint8 and is rejected at load in int8; RESHAPE, MAX_POOL_2D and GATHER run and copy the "
     "bytes, which is wrong with no error.",
     [("TRANSPOSE/uint8/other-out-params", "rejected at run", "offsets unmatched"),
      ("TRANSPOSE/uint8/other-out-scale", "rejected at run", "scales unmatched"),
      ("PAD/uint8/other-out-params", "rejected at load"), ("CONCATENATION/uint8/other-out-params", "ok"),
      ("CONCATENATION/uint8/mixed-in-params", "ok"), ("CONCATENATION/int8/mixed-in-params", "rejected at load"),
      ("RESHAPE/uint8/other-out-params", "wrong", None, BYTES_COPIED),
      ("MAX_POOL_2D/uint8/other-out-params", "wrong", None, BYTES_COPIED),
      ("GATHER/uint8/other-out-params", "wrong", None, BYTES_COPIED),
      ("RESHAPE/int8/other-out-params", "wrong", None, BYTES_COPIED)]),
    ("SOFTMAX, LOGISTIC and TANH need not have TFLite's fixed output parameters: in uint8 (and int8 SOFTMAX) "
     "output parameters calibrated from the data give the right output too.",
     [("SOFTMAX/uint8/calibrated-out", "ok"), ("LOGISTIC/uint8/calibrated-out", "ok"),
      ("TANH/uint8/calibrated-out", "ok"), ("SOFTMAX/int8/calibrated-out", "ok"),
      ("SOFTMAX/uint8/per-tensor", "ok"), ("LOGISTIC/uint8/per-tensor", "ok"), ("TANH/uint8/per-tensor", "ok")]),
    ("The encoder fixture's operators STRIDED_SLICE (run), RSQRT (prepare) and BATCH_MATMUL (run) are "
     "rejected quantized in uint8 and int8, so a fully quantized encoder does not run.",
     [("STRIDED_SLICE/uint8/per-tensor", "rejected at run"), ("STRIDED_SLICE/int8/per-tensor", "rejected at run"),
      ("RSQRT/uint8/per-tensor", "rejected at prepare"), ("RSQRT/int8/per-tensor", "rejected at prepare"),
      ("BATCH_MATMUL/uint8/per-tensor", "rejected at run", "BatchMatMul: unsupported data type")]),
]

PREFIXES = [
    (re.compile(r"^Error during nnfw_session::(run|prepare) : "), ""),
    (re.compile(r"^Error during model prepare : "), ""),
    (re.compile(r"^Fail to load model: "), ""),
    (re.compile(r"^Error during nnfw_session::(\w+) : (Error: )?"), r"\1: "),
]


def short(message):
    for pattern, repl in PREFIXES:
        if pattern.search(message):
            return pattern.sub(repl, message, count=1)
    return message


def reason(rec):
    msgs = rec.get("onert_messages") or []
    if not msgs:
        return rec.get("load_error") or rec.get("run_error") or rec.get("exception") or ""
    return "; ".join(short(m) for m in msgs)


def cell_text(rec, with_reason=True):
    if rec is None:
        return "·"
    v = rec["verdict"]
    if v == "ok":
        return f"ok ({rec['max_diff_steps']:g})"
    if v == "wrong":
        if rec.get("max_diff_steps") is None:
            return f"wrong ({rec.get('output_mismatch')})"
        text = f"**wrong ({rec['max_diff_steps']:g} steps)**"
        if with_reason and rec.get("matches"):
            text += ": output is " + "; ".join(rec["matches"])
        return text
    if v in ("crash", "timeout"):
        return f"**{v}** ({rec.get('failed_at')})"
    text = f"rejected at {rec.get('failed_at')}"
    return f"{text}: {md(reason(rec))}" if with_reason else text


def md(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def check_finding(evidence, by_id, models):
    broken = []
    for item in evidence:
        if item[0] == "model":
            _, model, variant, verdict = item
            rec = next((m for m in models if m.get("model") == model and m.get("variant") == variant), None)
            got = rec.get("verdict") if rec else "not measured"
            if got != verdict:
                broken.append(f"{model} `{variant}` is {got}, not {verdict}")
            continue
        cid, verdict = item[0], item[1]
        rec = by_id.get(cid)
        if rec is None:
            broken.append(f"`{cid}` was not measured")
        elif not rec["verdict"].startswith(verdict):
            broken.append(f"`{cid}` is {rec['verdict']}, not {verdict}")
        elif len(item) > 2 and item[2] and not any(item[2] in m for m in rec.get("onert_messages") or []):
            broken.append(f"`{cid}` does not say `{item[2]}`")
        elif len(item) > 3 and item[3] not in (rec.get("matches") or []):
            broken.append(f"`{cid}`'s output is not {item[3]}")
    return broken


def not_covered(cells, by_id):
    """The "Not covered by a rule" section: failing cells no rule reports
    (with NOT_COVERED's reason), passing cells a rule reports, and what
    fails on onert beyond the matrix's cells."""
    lines = ["## Not covered by a rule", ""]
    bare = [c for c in cells if c["verdict"] != "ok" and not rules_for(c)]
    if bare:
        lines.append(f"{len(bare)} failing cells no rule reports:")
        lines.append("")
        lines += [f"- `{c['id']}` ({c['verdict']}): {NOT_COVERED.get(c['id'], 'no reason recorded: a rule is missing')}"
                  for c in bare]
    else:
        lines.append("Every failing cell above is reported by a rule.")
    extra = [c for c in cells if c["verdict"] == "ok" and rules_for(c)]
    if extra:
        lines += ["", "**Cells onert computes right that a rule reports** (the rule's condition is too wide): "
                  + ", ".join(f"`{c['id']}` ({rule_text(rules_for(c))})" for c in extra) + "."]
    else:
        lines += ["", "No rule reports a cell onert computes right."]
    sweep = [(by_id.get(c["id"].replace("per-channel-zp", "per-tensor")), c) for c in cells
             if c["group"] == "conv-sweep" and c["op"] == "CONV_2D" and c["scheme"] == "uint8"
             and c["granularity"] == "per-channel-zp"]
    ratios = [pc["run_seconds"] / pt["run_seconds"] for pt, pc in sweep
              if pt and pt.get("run_seconds") and pc.get("run_seconds")]
    slow = (f" (here {min(ratios):.1f}x to {max(ratios):.1f}x the time of per-tensor weights)" if ratios else "")
    lines += [
        "",
        "Left to no rule, and why:",
        "",
        "- Large-layout files (buffers after the FlatBuffer): onert 0.1.0 loads them and crashes (SIGSEGV) in "
        "`prepare()` (docs/testing.md). That is the file's layout, not the qparam set, so no `check` rule: "
        "`apply --target onert` writes the plain layout and refuses `--layout large` instead.",
        "- Slowness: uint8 CONV_2D with per-channel weights computes right but takes a slower kernel"
        f"{slow}; the result is right, so no error.",
        "",
        "What fails on onert beyond the matrix's cells (one type per cell), measured by "
        "`tests/interop/test_target_onert.py`, and the rules that report it:",
        "",
        "- uint8 activations with int8 weights in CONV_2D or FULLY_CONNECTED: onert runs them with no error, "
        "tens of steps off ([Q807](rules.md#q807) onert-mixed-types; "
        "`test_uint8_activations_with_int8_weights_compute_wrong`). With a weight zero point other than 0, "
        "CONV_2D is refused at load ([Q806](rules.md#q806)) and FULLY_CONNECTED runs, as wrong.",
        "- A FULLY_CONNECTED reading an int8 input and writing uint8 (`--float-io` with an int8 graph input "
        "before a uint8 layer): rejected at run, `FullyConnected: unsupported data type` "
        "([Q801](rules.md#q801), which looks at the types read as well as written; "
        "`test_q805_float_io_on_an_int8_mlp`).",
        "- Measured one operator at a time (uint8 and int8), beyond the matrix's operators: DIV, SQRT, EXP, ABS, "
        "NEG and LEAKY_RELU are rejected at prepare, int8 SLICE at run ([Q801](rules.md#q801)); SQUEEZE, "
        "EXPAND_DIMS and SLICE with output parameters other than their input's copy the bytes, about 9 steps "
        "off ([Q804](rules.md#q804)); SUB with a per-channel constant reads channel 0's parameters, as ADD and MUL "
        "do ([Q803](rules.md#q803)); a DEQUANTIZE of per-channel weights, which mixed precision inserts before a "
        "layer that runs in float, does the same (Q803); a QUANTIZE from float32 into int8 that the model already "
        "has clamps as the inserted ones do ([Q805](rules.md#q805)). `tests/target.rs` holds the check side of "
        "each; an operator not in the matrix or this list is not known to run, and Q809 says so.",
        "- A DEQUANTIZE from int32, which `apply --allow-float` inserts for the bias of a layer that runs in "
        "float when the bias keeps its entry: rejected at load, `OperationValidator failed at line 317` "
        "([Q808](rules.md#q808) onert-integer-dequantize; `test_a_dequantized_int32_bias_is_rejected_at_load`).",
        "",
    ]
    return lines


def render(data):
    env = data["environment"]
    cells = data["cells"]
    by_id = {c["id"]: c for c in cells}
    models = data.get("models") or []
    tol = data["tolerance"]
    lines = [
        f"# Target support: onert {env['onert_version']} (CPU backend)",
        "",
        "<!-- Generated by scripts/onert_matrix_doc.py from target/onert-matrix.json; do not edit by hand. -->",
        "",
        "What the ONE runtime from PyPI (`onert`) accepts and computes correctly for quantized operators, "
        "measured operator by operator. `q-implant check MODEL QPARAM --target onert` reports what fails here "
        "with the rules Q801 to Q808 (errors; Q809 warns about an operator that would run quantized on a type not measured here; `apply --target onert` refuses to write past them, and writes "
        "the plain layout only); each failing cell below names the rules that report it "
        "([Failing cells](#failing-cells)), and `tests/interop/test_target_onert.py` runs each rule's case on "
        "onert. `docs/rules.md` documents the rules.",
        "",
    ]
    rule_counts = {code: 0 for code in RULES}
    for c in cells:
        if c["verdict"] != "ok":
            for code in rules_for(c):
                rule_counts[code] += 1
    lines += table(["Rule", "Name", "Reports", "Failing cells"],
                   [[f"[{code}](rules.md#{code.lower()})", f"`{name}`", summary,
                     rule_counts[code] or "none here (see [below](#not-covered-by-a-rule))"]
                    for code, (name, summary) in RULES.items()])
    lines += [
        "",
        "The matrix has one type per cell; the rules with no cell here stand on the runs listed under "
        "[Not covered by a rule](#not-covered-by-a-rule) (mixed types, integer DEQUANTIZE, operators beyond "
        "the matrix).",
        "",
        f"- Measured: {env['date']}, in {data['seconds']:g} s",
        f"- Runtime: onert {env['onert_version']} (PyPI wheel), `{env['backend']}` backend",
        f"- Python {env['python_version']} on {env['platform']}; "
        + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if k != "onert"),
        "",
        "## How it was measured",
        "",
        "`tests/interop/onert_matrix.py` builds, for every cell, a minimal circle model with the independent "
        "`circle-schema` writer: the one operator (with its constant weights, bias, shape or axis tensors), "
        "graph inputs and outputs quantized in the scheme's dtype. It runs the model in onert in a subprocess "
        f"(a crash is a result, and so is a timeout) on random inputs over the whole quantized range, fixed "
        "seeds, and compares onert's output with a numpy reference of the quantized operator. Differences are "
        "in quantization steps of the output.",
        "",
        "- Weighted operators (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL): the integer "
        "accumulator `sum((x - zx) * (w - zw)) + bias`, requantized with the real multiplier "
        "`in_scale * w_scale / out_scale` (per output channel where the weights are per channel), rounded half "
        "away from zero, plus the output zero point, clamped to the dtype and the fused activation (TFLite's "
        "reference kernels, but for their 31-bit fixed-point multiplier, which can differ by one step near "
        "ties). "
        "Output parameters are calibrated from the exact result, so nothing saturates.",
        "- Every other operator: dequantize, compute in float64, quantize (round half away from zero, clamp).",
        f"- A cell computes correctly (`ok`) when its largest difference is at most {tol['exact']:g} step, "
        f"or {tol['approx']:g} steps for {', '.join(tol['approx_ops'])} (fixed-point approximations in "
        "the kernels).",
        "- Schemes: " + "; ".join(data["schemes"][s] for s in SCHEMES) + ". Biases are int32 (int64 for "
        "int16) with scale input scale x weight scale.",
        "- Weight granularities: " + "; ".join(f"`{k}`: {v}" for k, v in data["granularities"].items()) + ".",
        "- Stages where a model can be rejected: `load` (creating the session: the loader and onert's "
        "OperationValidator), `prepare` (compiling: kernels are chosen), `input` (the API refusing an input's "
        "type), `run`, `output`. onert's Python exception says only `NNFW_STATUS_ERROR`; the reasons quoted "
        "are what onert printed on stderr. Each failing cell was run a second time with `ONERT_LOG_ENABLE=1`; "
        "the last log lines are in the JSON (`log`).",
        "- The fixture models (convnet, mlp, resnet18) are quantized by `q-implant apply` from their "
        "qparam sets with some weights turned per-channel uint8, run over fixtures/make.py's 8 calibration "
        "inputs, and compared with the float model on onert and with a numpy simulation of the same quantized "
        "model (every tensor rounded to its parameters): a variant is `ok` when onert's largest difference is "
        "at most the simulation's plus one step.",
        "",
        "To measure again (about a minute on two cores):",
        "",
        "```",
        "bash scripts/interop.sh          # once: makes .venv, builds target/release/q-implant, runs the interop suite",
        ".venv/bin/python tests/interop/onert_matrix.py --all     # -> target/onert-matrix.json",
        ".venv/bin/python scripts/onert_matrix_doc.py             # -> docs/targets.md",
        "```",
        "",
        "Single cells: `.venv/bin/python tests/interop/onert_matrix.py FULLY_CONNECTED/uint8` (id prefixes; "
        "`--list` lists them). `tests/interop/test_onert_matrix.py` re-checks a dozen of these cells in the "
        "interop suite.",
        "",
        "Cell text: `ok (d)`: ran, largest difference d steps; `wrong (d steps)`: ran, beyond the tolerance; "
        "`rejected at <stage>: <reason>`; `crash` (a signal) or `timeout`.",
        "",
    ]

    lines += ["## Findings", ""]
    for statement, evidence in FINDINGS:
        broken = check_finding(evidence, by_id, models)
        cited = ", ".join(dict.fromkeys(f"`{e[0]}`" if e[0] != "model" else f"{e[1]} `{e[2]}`" for e in evidence))
        if broken:
            lines.append(f"- ~~{statement}~~ **No longer holds in this run:** {'; '.join(broken)}.")
        else:
            lines.append(f"- {statement} (Cells: {cited}.)")
    lines.append("")

    matrix = [c for c in cells if c["group"] == "matrix"]
    lines += ["## Summary", ""]
    rows = []
    for s in SCHEMES:
        mine = [c for c in matrix if c["scheme"] == s]
        count = lambda p: sum(1 for c in mine if c["verdict"].startswith(p))  # noqa: E731
        rows.append([s, len(mine), count("ok"), count("wrong"), count("rejected"), count("crash") + count("timeout")])
    lines += table(["Scheme", "Cells", "ok", "wrong", "rejected", "crash or timeout"], rows) + [""]

    lines += ["## Weighted operators", "", "Weights per tensor or per output channel (axis 0; axis 3 for "
              "DEPTHWISE_CONV_2D), constant, with a constant bias.", ""]
    rows = []
    for op in WEIGHTED:
        for g in data["granularities"]:
            rows.append([op, g] + [cell_text(by_id.get(f"{op}/{s}/{g}")) for s in SCHEMES])
    lines += table(["Operator", "Weights", "uint8", "int8", "int16"], rows) + [""]

    lines += ["## Other operators", "", "Per-tensor parameters; outputs of operators that move values have "
              "their input's parameters, SOFTMAX, LOGISTIC and TANH outputs TFLite's fixed ones (1/256 with zero "
              "point 0 for uint8 and -128 for int8; TANH 1/128 with 128 and 0; 1/32768 with 0 for int16), "
              "others parameters calibrated from the data.", ""]
    rows = []
    for op in data["operators"]:
        if op in WEIGHTED:
            continue
        rows.append([op] + [cell_text(by_id.get(f"{op}/{s}/per-tensor")) for s in SCHEMES])
    lines += table(["Operator", "uint8", "int8", "int16"], rows) + [""]

    special = [c for c in cells if c["group"] == "special"]
    lines += ["## Special cases", "", "Folklore checked, and the configurations real models have.", ""]
    rows = [[f"`{c['id']}`", md(c["description"]), cell_text(c)] for c in special]
    lines += table(["Cell", "What", "Result"], rows) + [""]

    fc = [c for c in cells if c["group"] == "fc-per-channel"]
    if fc:
        lines += ["## FULLY_CONNECTED uint8 per channel, narrowed down", ""]
        rows = [[f"`{c['id']}`", md(c["description"]), cell_text(c)] for c in fc]
        lines += table(["Cell", "What", "Result"], rows) + [""]

    sweep = [c for c in cells if c["group"] == "conv-sweep"]
    if sweep:
        lines += ["## Convolutions per tensor and per channel, timed", "",
                  "The fastest of 10 runs of the operator alone (`run()`), on the measuring machine: indicative "
                  "only. uint8 per-channel weights take another kernel than per-tensor ones, whether or not the "
                  "zero points vary.", ""]
        cols = [("uint8", "per-tensor"), ("uint8", "per-channel"), ("uint8", "per-channel-zp"),
                ("int8", "per-tensor"), ("int8", "per-channel")]
        shapes = []
        for c in sweep:
            key = (c["op"], c["id"].split("/")[-1])
            if key not in shapes:
                shapes.append(key)
        rows, ratios = [], []
        for op, tag in shapes:
            row = [f"{op} `{tag}`"]
            for s, g in cols:
                rec = by_id.get(f"{op}/{s}/{g}/{tag}")
                if rec is None:
                    row.append("·")
                elif rec["verdict"] == "ok" and rec["run_seconds"] is not None:
                    row.append(f"ok ({rec['max_diff_steps']:g}), {rec['run_seconds'] * 1e3:.3f} ms")
                else:
                    row.append(cell_text(rec, with_reason=False))
            pt, pc = by_id.get(f"{op}/uint8/per-tensor/{tag}"), by_id.get(f"{op}/uint8/per-channel-zp/{tag}")
            if pt and pc and pt.get("run_seconds") and pc.get("run_seconds"):
                if op == "CONV_2D":
                    ratios.append(pc["run_seconds"] / pt["run_seconds"])
                row.append(f"{pc['run_seconds'] / pt['run_seconds']:.1f}x")
            else:
                row.append("·")
            rows.append(row)
        lines += table(["Shape"] + [f"{s} {g}" for s, g in cols] + ["uint8 per-channel-zp / per-tensor"], rows)
        if ratios:
            lines += ["", f"CONV_2D uint8 per-channel (zero points varying) over per-tensor: {min(ratios):.1f}x to "
                      f"{max(ratios):.1f}x the time. (Times vary with the machine's load: per-tensor DEPTHWISE_CONV_2D "
                      "has been seen 20 times slower from one run to the next.)"]
        int8 = []
        for op, tag in shapes:
            if op != "CONV_2D":
                continue
            pc = by_id.get(f"{op}/uint8/per-channel-zp/{tag}")
            for g in ("per-tensor", "per-channel"):
                rec = by_id.get(f"{op}/int8/{g}/{tag}")
                if rec and pc and rec.get("run_seconds") and pc.get("run_seconds"):
                    int8.append(rec["run_seconds"] / pc["run_seconds"])
        if int8:
            lines += ["", f"CONV_2D int8, per tensor or per channel, over uint8 per-channel (zero points varying): "
                      f"{min(int8):.1f}x to {max(int8):.1f}x the time."]
        lines.append("")

    if models:
        lines += ["## Fixture models with per-channel weights", "",
                  "Differences from the float model on onert, in steps of the output, over the 8 calibration "
                  "inputs; `simulated` is the numpy simulation of the same quantized model (what the "
                  "quantization alone explains). Run times: the fastest of 20 runs of one input, indicative only.",
                  ""]
        rows = []
        for m in models:
            if "skipped" in m:
                rows.append([m.get("model", "·"), "·", md(m["skipped"]), "", "", "", "", ""])
                continue
            if "onert_mean_steps" not in m:
                rows.append([m["model"], m["variant"], md(f"{m['verdict']}: {m.get('error', '')}"), "", "", "", "",
                             rule_text(model_rules(m["variant"]))])
                continue
            verdict = m["verdict"] if m["verdict"] == "ok" else f"**{m['verdict']}**"
            rows.append([m["model"], m["variant"], verdict,
                         f"{m['onert_mean_steps']:g} / {m['onert_max_steps']:g}",
                         f"{m['simulated_mean_steps']:g} / {m['simulated_max_steps']:g}",
                         f"{m['run_ms']:g} ms", f"{m['float_run_ms']:g} ms",
                         rule_text(model_rules(m["variant"])) if m["verdict"] != "ok" else ""])
        lines += table(["Model", "Weights", "Result", "onert mean / max", "simulated mean / max", "run",
                        "float model run", "rule"], rows) + [""]

    failing = [c for c in cells if c["verdict"] != "ok"]
    lines += ["## Failing cells", "",
              f"{len(failing)} of {len(cells)} cells. The message is what onert printed, exactly; for `wrong` "
              "cells there is none. `rule`: the rules of `check --target onert` that report the cell's model "
              "(from their conditions in src/analysis/rules/target.rs, restated in scripts/onert_matrix_doc.py's "
              "`rules_for`); where two do, onert fails the first one's way in this run.", ""]
    rows = []
    for c in failing:
        if c["verdict"] == "wrong":
            detail = (f"max {c['max_diff_steps']:g}, mean {c['mean_diff_steps']:g} steps"
                      if c.get("max_diff_steps") is not None else c.get("output_mismatch", ""))
            message = "(none: ran, " + detail + ")"
            if c.get("matches"):
                message += "; the output is exactly: " + "; ".join(c["matches"])
        else:
            message = "<br>".join(f"`{md(m)}`" for m in (c.get("onert_messages") or [])) or md(
                c.get("load_error") or c.get("run_error") or "")
        rows.append([f"`{c['id']}`", c["verdict"], message, rule_text(rules_for(c))])
    lines += table(["Cell", "Result", "onert's message", "rule"], rows) + [""]
    lines += not_covered(cells, by_id)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Writes docs/targets.md from target/onert-matrix.json.")
    ap.add_argument("--input", default=DEFAULT_IN)
    ap.add_argument("--output", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if the output file differs from what it would write")
    a = ap.parse_args(argv)
    if not os.path.exists(a.input):
        sys.exit(f"{a.input} is missing: run `.venv/bin/python tests/interop/onert_matrix.py --all` first")
    with open(a.input) as f:
        text = render(json.load(f))
    if a.check:
        current = open(a.output).read() if os.path.exists(a.output) else ""
        if current != text:
            sys.exit(f"{a.output} is not what {a.input} gives: run {os.path.relpath(__file__, ROOT)}")
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    with open(a.output, "w") as f:
        f.write(text)
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
