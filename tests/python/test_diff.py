"""diff(): two sets compared key by key, each a path (a set or a model) or
a mapping, as the command line compares them."""
import json
import os
import shutil

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, load_set

MODEL = os.path.join(FIXTURES, "convnet.circle")
SET = os.path.join(FIXTURES, "convnet.qparam")
QPARAM = os.path.join(SET, "qparam.json")


def changed_copy(tmp_path):
    """A copy of the set with one weight scale doubled; the key."""
    copy = tmp_path / "changed"
    shutil.copytree(SET, copy)
    doc = json.load(open(copy / "qparam.json"))
    key = next(k for k, v in doc.items() if "value" in v and v["dtype"] == "uint8")
    path = copy / doc[key]["scale"]
    np.save(path, np.load(path) * 2)
    return str(copy / "qparam.json"), key


def test_a_set_against_itself_is_the_same():
    same = q_implant.diff(QPARAM, SET)
    proc = cli("diff", QPARAM, SET, "--format", "json")
    assert proc.returncode == 0
    assert same.to_json().encode() == proc.stdout
    assert not same and len(same) == 0 and same.differences == []
    assert same.same == len(load_set(QPARAM))
    assert not q_implant.diff(load_set(QPARAM), QPARAM)


def test_a_changed_copy_differs_where_it_was_changed(tmp_path):
    changed, key = changed_copy(tmp_path)
    got = q_implant.diff(QPARAM, changed)
    proc = cli("diff", QPARAM, changed, "--format", "json")
    assert proc.returncode == 1
    assert got.to_json().encode() == proc.stdout
    assert got and len(got) == 1 and got.same == len(load_set(QPARAM)) - 1
    d = got.differences[0]
    assert d.key == key and d.kinds == ["scale"]
    assert d.details["scale"]["max_ratio"] == pytest.approx(2.0)
    assert d.details["dtype"] is None and "key" not in d.details
    assert got.to_text() == cli("diff", QPARAM, changed).stdout.decode()
    # The same from memory: the mapping has the file's values.
    assert [x.kinds for x in q_implant.diff(load_set(QPARAM), load_set(changed)).differences] == [["scale"]]
    # Within rtol, scales are equal.
    assert not q_implant.diff(QPARAM, changed, rtol=1.0)


def test_a_model_against_its_set(tmp_path):
    quantized = str(tmp_path / "q.circle")
    q_implant.apply(MODEL, QPARAM, quantized)
    got = q_implant.diff(quantized, QPARAM)
    assert got.to_json().encode() == cli("diff", quantized, QPARAM, "--format", "json").stdout


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="rtol is a finite number"):
        q_implant.diff(QPARAM, QPARAM, rtol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        q_implant.diff(QPARAM, QPARAM, rtol=float("nan"))
    with pytest.raises(TypeError, match="a takes a qparam.json"):
        q_implant.diff(5, QPARAM)
    with pytest.raises(q_implant.Error) as e:
        q_implant.diff(QPARAM, str(tmp_path))
    assert e.value.code == "diff::side"
    assert str(e.value) in cli("diff", QPARAM, tmp_path).stderr.decode()
    bad = load_set(QPARAM)
    next(iter(bad.values()))["scale"] = 1.5
    with pytest.raises(q_implant.QParamError) as e:
        q_implant.diff(bad, QPARAM)
    assert "qparam mapping a" in str(e.value)
