"""Mixed precision on the ONE runtime: a layer kept float in a quantized
model runs between the DEQUANTIZE and QUANTIZE operators `apply` inserts,
and the model loads, runs and stays within a few quantization steps."""
import json
import os
import shutil

import numpy as np

from conftest import FIXTURES, fixture, onert_output, q_implant, read_model
from test_onert import MAX_STEPS

# The depthwise layer of the convnet fixture: weight, bias, output.
FLOAT_LAYER = [
    "tico::_prop_tensor_constant1",
    "tico::p_dw_bias",
    "__main__.modules.<locals>.ConvNet::relu6",
]


def test_a_float_layer_between_quantized_ones_runs(tmp):
    qparam = tmp / "qparam"
    shutil.copytree(os.path.join(FIXTURES, "convnet.qparam"), qparam)
    entries = json.load(open(qparam / "qparam.json"))
    for key in FLOAT_LAYER:
        del entries[key]
    json.dump(entries, open(qparam / "qparam.json", "w"), indent=2)
    out = tmp / "q.circle"
    applied = q_implant("apply", fixture("convnet"), qparam / "qparam.json", "-o", out,
                        "--allow-float", ",".join(FLOAT_LAYER))
    assert "inserted: DEQUANTIZE" in applied.stderr and "inserted: QUANTIZE" in applied.stderr, applied.stderr

    model, _ = read_model(out)
    sg = model.subgraphs[0]
    names = [t.name.decode() for t in sg.tensors]
    assert sg.tensors[names.index(FLOAT_LAYER[2])].type == 0, "the kept layer's output stays float32"
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(tin.shape).astype(np.float32)
    xq = np.clip(np.round(x / tin.quantization.scale[0]) + tin.quantization.zeroPoint[0], 0, 255).astype(np.uint8)
    y = (onert_output(out, xq).astype(np.float32) - tout.quantization.zeroPoint[0]) * tout.quantization.scale[0]
    steps = float(np.abs(y - onert_output(fixture("convnet"), x)).max() / tout.quantization.scale[0])
    assert steps <= MAX_STEPS, f"{steps:.2f} steps off"
