"""inspect(): the model as the command line lists it."""
import os

import pytest
import q_implant

from support import FIXTURES, cli


@pytest.mark.parametrize("name", ["convnet", "multi", "resnet18"])
def test_inspect_is_the_command_lines_listing(name):
    model_path = os.path.join(FIXTURES, name + ".circle")
    model = q_implant.inspect(model_path)
    assert model.to_json().encode() == cli("inspect", model_path, "--format", "json").stdout
    assert model.layout == "plain" and model.subgraphs
    t = model.subgraphs[0].tensors[0]
    assert isinstance(t.name, str) and t.dtype == t.dtype.lower()
    assert all(isinstance(d, int) for d in t.shape)


def test_quantization_is_read_back_after_apply(tmp_path):
    model = os.path.join(FIXTURES, "mlp.circle")
    out = tmp_path / "q.circle"
    q_implant.apply(model, os.path.join(FIXTURES, "mlp.qparam", "qparam.json"), out)
    tensors = q_implant.inspect(out).subgraphs[0].tensors
    quantized = [t for t in tensors if t.quantization is not None]
    assert quantized and all(t.dtype in ("uint8", "int32") for t in quantized)
    q = quantized[0].quantization
    assert q.scale and len(q.scale) == len(q.zero_point) and q.quantized_dimension >= 0
