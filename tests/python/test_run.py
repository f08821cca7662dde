"""check() and fix() running the float model as the command line does:
inputs (paths or numpy arrays) to map keys by value, no_run, and fix's
calibrate and calibration."""
import json
import os
import shutil

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, load_set, said

MODEL = os.path.join(FIXTURES, "convnet.circle")
TORCH = os.path.join(FIXTURES, "convnet.torch-qparam", "qparam.json")
QPARAM = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")


def samples(count):
    sg = q_implant.inspect(MODEL).subgraphs[0]
    shape = sg.tensors[sg.inputs[0]].shape
    rng = np.random.default_rng(11)
    return [rng.normal(size=shape).astype(np.float32) for _ in range(count)]


def without_activations(tmp_path):
    """The convnet set without the entries of tensors that hold no data,
    as a file (and the same set in memory)."""
    params = {k: v for k, v in load_set(QPARAM).items() if "value" in v}
    out = tmp_path / "weights"
    out.mkdir()
    doc = {}
    for key, entry in params.items():
        fields = {}
        for name, value in entry.items():
            if isinstance(value, np.ndarray):
                file = f"{len(os.listdir(out))}.npy"
                np.save(out / file, value)
                fields[name] = file
            else:
                fields[name] = value
        doc[key] = fields
    (out / "qparam.json").write_text(json.dumps(doc, indent=2))
    return str(out / "qparam.json"), params


def test_inputs_and_no_run_are_the_command_lines(tmp_path):
    xs = samples(2)
    for i, x in enumerate(xs):
        np.save(tmp_path / f"s{i}.npy", x)
    by_files = cli("check", MODEL, TORCH, "--input", tmp_path, "--format", "json").stdout
    assert q_implant.check(MODEL, TORCH, inputs=str(tmp_path)).to_json().encode() == by_files
    assert q_implant.check(MODEL, TORCH, inputs=[[x] for x in xs]).to_json().encode() == by_files
    no_run = cli("check", MODEL, TORCH, "--no-run", "--format", "json").stdout
    assert q_implant.check(MODEL, TORCH, no_run=True).to_json().encode() == no_run
    assert q_implant.check(MODEL, TORCH).to_json().encode() == cli("check", MODEL, TORCH, "--format", "json").stdout
    # A mapping runs the model on the arrays too.
    assert said(q_implant.check(MODEL, load_set(TORCH), inputs=[[x] for x in xs])) == said(
        q_implant.check(MODEL, TORCH, inputs=str(tmp_path))
    )


def test_calibrate_fills_what_the_set_leaves_uncovered(tmp_path):
    path, params = without_activations(tmp_path)
    copy = shutil.copytree(tmp_path / "weights", tmp_path / "copy")
    theirs = os.path.join(copy, "fixed.json")
    proc = cli("check", MODEL, os.path.join(copy, "qparam.json"), "--fix", "--calibrate", "--fix-output", theirs, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    mine = str(tmp_path / "weights" / "fixed.json")
    report = q_implant.fix(MODEL, path, calibrate=True, output=mine)
    assert report.report.to_json().replace(mine, theirs).encode() == proc.stdout
    assert open(mine, "rb").read() == open(theirs, "rb").read()
    c = report.calibration
    assert c is not None and c.samples == 16 and c.random and c.calibrated > 0
    assert c.method == "percentiles 1/99" and c.warnings
    line = f"calibrated {c.calibrated} tensors from 16 random samples ({c.method})"
    assert line in proc.stderr.decode()
    # Arrays as samples; the mapping is calibrated into a new mapping.
    xs = samples(3)
    fixed = q_implant.fix(MODEL, params, calibrate=True, inputs=[[x] for x in xs], calibration="minmax")
    c = fixed.calibration
    assert c is not None and (c.samples, c.random, c.method) == (3, False, "min/max")
    assert len(fixed.qparam) > len(params) and q_implant.check(MODEL, fixed.qparam).ok
    # Paths to calibrate with, as --calibrate PATH.
    for i, x in enumerate(xs):
        np.save(tmp_path / f"c{i}.npy", x)
    c = q_implant.fix(MODEL, params, calibrate=[str(tmp_path / "c0.npy"), str(tmp_path / "c1.npy")]).calibration
    assert c is not None and (c.samples, c.random) == (2, False)
    assert q_implant.fix(MODEL, params).calibration is None


def test_bad_run_arguments():
    x = samples(1)[0]
    cases = [
        (dict(inputs=[x], no_run=True), ValueError, "takes no inputs"),
        (dict(calibrate=True, no_run=True), ValueError, "calibrate must"),
        (dict(calibration="minmax"), ValueError, "give calibrate=True"),
        (dict(calibrate=True, calibration="median"), ValueError, "percentile, minmax, moving-average"),
        (dict(calibrate=5), TypeError, "calibrate takes True"),
        (dict(calibrate=[x]), TypeError, "arrays go in inputs"),
    ]
    for kwargs, kind, words in cases:
        with pytest.raises(kind) as e:
            q_implant.fix(MODEL, TORCH, **kwargs)
        assert words in str(e.value), (kwargs, str(e.value))
    with pytest.raises(q_implant.Error) as e:
        q_implant.check(MODEL, TORCH, inputs=[np.zeros([1, 2], dtype=np.float32)])
    assert e.value.code == "input::shape"
