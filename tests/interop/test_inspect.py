"""`inspect --format json` lists exactly what the independent reader sees."""
import json

import pytest

from conftest import MODELS, fixture, q_implant, read_model
from circle_schema.v0_10.circle.TensorType import TensorType

TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("layout", ["plain", "large"])
def test_inspect_json_matches_the_reader(name, layout, tmp):
    path = tmp / "m.circle"
    q_implant("rewrite", fixture(name), "-o", path, "--layout", layout)
    report = json.loads(q_implant("inspect", path, "--format", "json").stdout)
    model, data = read_model(path)
    assert report["layout"] == layout
    assert len(report["subgraphs"]) == len(model.subgraphs)
    for sg_report, sg in zip(report["subgraphs"], model.subgraphs):
        assert sg_report["name"] == (sg.name.decode() if sg.name else None)
        assert sg_report["inputs"] == list(sg.inputs) and sg_report["outputs"] == list(sg.outputs)
        seen = [(t["index"], t["name"], t["dtype"], t["shape"]) for t in sg_report["tensors"]]
        expected = [(i, t.name.decode(), TYPE_NAMES[t.type], [int(d) for d in t.shape])
                    for i, t in enumerate(sg.tensors)]
        assert seen == expected
        for t_report, t in zip(sg_report["tensors"], sg.tensors):
            buf = model.buffers[t.buffer]
            size = buf.size if buf.offset > 1 else (0 if buf.data is None else len(buf.data))
            assert t_report["constant"] == (size > 0)
            if size:
                assert t_report["bytes"] == size
        assert [op["outputs"] for op in sg_report["operators"]] == [list(op.outputs) for op in sg.operators]
