"""`apply` output, read by the independent circle-schema reader, is exactly
what the implant semantics prescribe, and nothing else changed."""
import json
import os

import numpy as np
import pytest

from conftest import FIXTURES, as_tree, fixture, q_implant, read_model, resolved_buffers
from circle_schema.v0_10.circle.TensorType import TensorType

DTYPES = {"uint8": TensorType.UINT8, "int8": TensorType.INT8, "int16": TensorType.INT16,
          "int32": TensorType.INT32, "int64": TensorType.INT64}
CASES = [("convnet", "convnet"), ("mlp", "mlp"), ("story", "story"), ("multi", "mlp")]


def qparam_of(name):
    path = os.path.join(FIXTURES, f"{name}.qparam", "qparam.json")
    entries = json.load(open(path))
    load = lambda f: np.load(os.path.join(os.path.dirname(path), f))
    return path, {k: {f: (load(v) if f in ("scale", "zerop", "value") else v) for f, v in e.items()}
                  for k, e in entries.items()}


@pytest.mark.parametrize("model,qparam", CASES)
def test_output_follows_the_semantics(model, qparam, tmp):
    path, entries = qparam_of(qparam)
    out = tmp / "q.circle"
    q_implant("apply", fixture(model), path, "-o", out)
    before, bdata = read_model(fixture(model))
    after, adata = read_model(out)
    bbufs, abufs = resolved_buffers(before, bdata), resolved_buffers(after, adata)
    retyped = 0
    for sb, sa in zip(before.subgraphs, after.subgraphs):
        for tb, ta in zip(sb.tensors, sa.tensors):
            e = entries.get(tb.name.decode())
            if e is None:
                assert as_tree(tb) == as_tree(ta)
                assert bbufs[tb.buffer] == abufs[ta.buffer]
                continue
            retyped += 1
            assert ta.type == DTYPES[e["dtype"]]
            assert list(ta.quantization.scale) == list(e["scale"].astype(np.float32))
            assert list(ta.quantization.zeroPoint) == list(e["zerop"])
            assert ta.quantization.quantizedDimension == e["quantized_dimension"]
            assert list(ta.shape) == list(tb.shape) and ta.name == tb.name
            if "value" in e:
                assert abufs[ta.buffer] == e["value"].tobytes()
            else:
                assert abufs[ta.buffer] == bbufs[tb.buffer]
    assert retyped >= len(entries)
    for field in ["version", "description", "operatorCodes", "signatureDefs", "metadata", "metadataBuffer"]:
        assert as_tree(getattr(before, field)) == as_tree(getattr(after, field)), field
    for sb, sa in zip(before.subgraphs, after.subgraphs):
        assert as_tree(sb.operators) == as_tree(sa.operators)
        assert list(sb.inputs) == list(sa.inputs) and list(sb.outputs) == list(sa.outputs)
    for m in before.metadata or []:
        assert bbufs[m.buffer] == abufs[after.metadata[0].buffer]


def test_large_layout_apply_keeps_the_semantics(tmp):
    path, entries = qparam_of("convnet")
    out = tmp / "q.circle"
    q_implant("apply", fixture("convnet"), path, "-o", out, "--layout", "large")
    after, adata = read_model(out)
    assert any(b.offset > 1 for b in after.buffers)
    bufs = resolved_buffers(after, adata)
    for t in after.subgraphs[0].tensors:
        e = entries.get(t.name.decode())
        if e is not None and "value" in e:
            assert bufs[t.buffer] == e["value"].tobytes()


def test_float_io_keeps_a_float_interface(tmp):
    path, _ = qparam_of("mlp")
    out = tmp / "q.circle"
    q_implant("apply", fixture("mlp"), path, "-o", out, "--float-io")
    m, _ = read_model(out)
    sg = m.subgraphs[0]
    assert sg.tensors[sg.inputs[0]].type == TensorType.FLOAT32
    assert sg.tensors[sg.outputs[0]].type == TensorType.FLOAT32
    codes = [m.operatorCodes[op.opcodeIndex].builtinCode for op in sg.operators]
    assert codes[0] == 114 and codes[-1] == 6  # QUANTIZE first, DEQUANTIZE last
