"""Bad input raises a q_implant.Error subclass whose message is the
command line's, or is a finding with the command line's message; never a
crash."""
import json
import os
import shutil

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, copy_set, load_set

MODEL = os.path.join(FIXTURES, "convnet.circle")
QPARAM = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")


def stderr(*args):
    proc = cli(*args)
    assert proc.returncode == 2, proc
    return proc.stderr.decode().rstrip("\n")


def test_a_missing_model_is_a_model_error(tmp_path):
    missing = tmp_path / "nope.circle"
    with pytest.raises(q_implant.ModelError) as caught:
        q_implant.check(missing, QPARAM)
    assert str(caught.value) == stderr("check", missing, QPARAM)
    assert caught.value.code == "model::io"
    with pytest.raises(q_implant.ModelError):
        q_implant.inspect(missing)


def test_a_file_that_is_no_model_is_a_model_error():
    with pytest.raises(q_implant.ModelError) as caught:
        q_implant.check(QPARAM, QPARAM)
    assert str(caught.value) == stderr("check", QPARAM, QPARAM)
    assert caught.value.help


def test_a_missing_qparam_file_is_a_qparam_error(tmp_path):
    missing = tmp_path / "qparam.json"
    with pytest.raises(q_implant.QParamError) as caught:
        q_implant.check(MODEL, missing)
    assert str(caught.value) == stderr("check", MODEL, missing)


def test_a_pattern_that_matches_no_rule_is_an_error():
    with pytest.raises(q_implant.Error) as caught:
        q_implant.check(MODEL, QPARAM, select=["Q999"])
    assert str(caught.value) == stderr("check", MODEL, QPARAM, "--select", "Q999")


def test_an_unknown_allow_float_name_is_an_error():
    with pytest.raises(q_implant.Error) as caught:
        q_implant.check(MODEL, QPARAM, allow_float=["no such tensor"])
    assert str(caught.value) == stderr("check", MODEL, QPARAM, "--allow-float", "no such tensor")


def faulty(tmp_path, change):
    """A copy of the convnet set on disk with `change` made to its JSON and
    npy files, and the same set in memory."""
    path = copy_set(os.path.dirname(QPARAM), str(tmp_path / "set"))
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    change(raw, os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(raw, f, indent=2)
    return path, load_set(path)


def findings(report):
    return [(d.code, d.key, d.field, d.message) for d in report.diagnostics]


def first_key(raw):
    return next(iter(raw))


@pytest.mark.parametrize(
    "what,change,code",
    [
        ("a wrong dtype string", lambda r, d: r[first_key(r)].update(dtype="unit8"), "Q204"),
        (
            "a weight of the wrong shape",
            lambda r, d: np.save(os.path.join(d, r[first_key(r)]["value"]), np.zeros((2, 3), np.uint8)),
            "Q406",
        ),
        (
            "a 0-d float64 scale",
            lambda r, d: np.save(os.path.join(d, r[first_key(r)]["scale"]), np.array(0.5)),
            "Q306",
        ),
    ],
)
def test_bad_data_is_a_finding_with_the_command_lines_message(tmp_path, what, change, code):
    path, params = faulty(tmp_path, change)
    on_disk = q_implant.check(MODEL, path)
    in_memory = q_implant.check(MODEL, params)
    assert code in [d.code for d in on_disk.diagnostics], what
    assert findings(in_memory) == findings(on_disk), what
    proc = cli("check", MODEL, path, "--format", "json")
    assert on_disk.to_json().encode() == proc.stdout


def test_a_value_that_is_no_array_is_a_finding(tmp_path):
    params = load_set(QPARAM)
    key = next(iter(params))
    for value, kind in [(0.5, "a float"), ([0.5], "a list"), ("0.npy", "a string"), (None, "None")]:
        params[key]["scale"] = value
        report = q_implant.check(MODEL, params)
        found = [d for d in report.diagnostics if d.code == "Q202" and d.key == key]
        assert found and found[0].field == "scale", value
        assert found[0].message == f"`{key}`.scale is {kind}, expected an array"


def test_a_missing_npy_file_is_the_command_lines_finding(tmp_path):
    path = copy_set(os.path.dirname(QPARAM), str(tmp_path / "set"))
    os.remove(os.path.join(os.path.dirname(path), "0.npy"))
    report = q_implant.check(MODEL, path)
    assert "Q301" in [d.code for d in report.diagnostics]
    assert report.to_json().encode() == cli("check", MODEL, path, "--format", "json").stdout


def test_a_mapping_that_is_not_one_is_a_qparam_error():
    with pytest.raises(q_implant.QParamError, match="tensor names"):
        q_implant.check(MODEL, {1: {}})
    with pytest.raises(q_implant.QParamError, match="strings"):
        q_implant.check(MODEL, {"tico::x": {2: "uint8"}})
    with pytest.raises(TypeError, match="qparam"):
        q_implant.check(MODEL, 42)


def test_entries_that_are_not_mappings_are_findings():
    report = q_implant.check(MODEL, {"tico::x": [1, 2], "y": "uint8"})
    bad = [(d.code, d.key, d.message) for d in report.diagnostics if d.code == "Q105"]
    assert bad == [
        ("Q105", "tico::x", "the entry of `tico::x` is a list, not an object of fields"),
        ("Q105", "y", "the entry of `y` is a string, not an object of fields"),
    ]


def test_wrong_arguments_are_python_errors():
    with pytest.raises(ValueError, match="layout"):
        q_implant.apply(MODEL, QPARAM, "o.circle", layout="huge")
    with pytest.raises(ValueError, match="target"):
        q_implant.check(MODEL, QPARAM, target="tflite")
    with pytest.raises(TypeError):
        q_implant.check(MODEL, QPARAM, select=[1])


def test_a_panic_becomes_an_error_not_a_crash():
    from q_implant import _native

    with pytest.raises(q_implant.Error) as caught:
        _native._panic_in_a_command()
    assert caught.value.code == "internal" and "bug" in str(caught.value)
    # The interpreter goes on: the module still works.
    assert q_implant.check(MODEL, QPARAM).ok
