"""check(): the same findings as the command line, in the same JSON."""
import os

import pytest
import q_implant

from support import BIN, FIXTURES, ROOT, cli, fixture_sets, load_set, said

SETS = fixture_sets()
IDS = [os.path.basename(os.path.dirname(q)) for _, q in SETS]


def test_there_are_sets_to_compare():
    assert len(SETS) >= 10, SETS
    assert os.path.exists(BIN), "build the binary first: cargo build --release"


@pytest.mark.parametrize("model,qparam", SETS, ids=IDS)
def test_to_json_is_the_command_lines_document(model, qparam):
    report = q_implant.check(model, qparam)
    proc = cli("check", model, qparam, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    assert report.to_json().encode() == proc.stdout
    assert report.ok == (proc.returncode == 0)


@pytest.mark.parametrize(
    "kwargs,args",
    [
        ({"select": ["Q5", "Q6"]}, ["--select", "Q5,Q6"]),
        ({"ignore": "Q7,Q601"}, ["--ignore", "Q7,Q601"]),
        ({"target": "onert", "propagate": True}, ["--target", "onert", "--propagate"]),
        ({"float_io": True, "allow_float": ["tico::x"]}, ["--float-io", "--allow-float", "tico::x"]),
    ],
)
def test_options_mean_what_the_flags_mean(kwargs, args):
    model = os.path.join(FIXTURES, "convnet.circle")
    qparam = os.path.join(FIXTURES, "convnet.torch-qparam", "qparam.json")
    report = q_implant.check(model, qparam, **kwargs)
    proc = cli("check", model, qparam, "--format", "json", *args)
    assert report.to_json().encode() == proc.stdout


def test_findings_are_typed_objects():
    report = q_implant.check(
        os.path.join(FIXTURES, "story.circle"),
        os.path.join(FIXTURES, "story.torch-qparam", "qparam.json"),
    )
    assert report.errors == 52 and report.warnings == 0 and not report.ok
    assert len(report) == len(report.diagnostics) == 52
    d = next(d for d in report.diagnostics if d.code == "Q501")
    assert d.name == "unknown-tensor" and d.severity == "error"
    assert isinstance(d.line, int) and isinstance(d.column, int)
    name, confidence = d.suggestions[0]
    assert isinstance(name, str) and 0 < confidence < 1
    assert report.fixable == sum(d.fixable for d in report.diagnostics)


@pytest.mark.parametrize("model,qparam", SETS, ids=IDS)
def test_a_set_in_memory_is_checked_as_the_same_set_on_disk(model, qparam):
    on_disk = q_implant.check(model, qparam)
    in_memory = q_implant.check(model, load_set(qparam))
    assert said(in_memory) == said(on_disk)
    # Findings in memory point at keys and fields, not lines.
    assert all(d.line is None and d.column is None for d in in_memory.diagnostics)
    assert (in_memory.errors, in_memory.warnings) == (on_disk.errors, on_disk.warnings)


def test_arrays_in_memory_are_read_as_numpy_keeps_them():
    import numpy as np

    qparam = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")
    model = os.path.join(FIXTURES, "convnet.circle")
    params = load_set(qparam)
    key = next(k for k, e in params.items() if e["value"].ndim == 4)
    # A Fortran-ordered copy of a weight is copied to C order: same findings.
    params[key]["value"] = np.asfortranarray(params[key]["value"])
    # A read-only view, and a list-like object with __array__.
    params[key]["scale"] = params[key]["scale"].view()
    params[key]["scale"].flags.writeable = False

    class Wrapped:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    params[key]["zerop"] = Wrapped(params[key]["zerop"])
    assert said(q_implant.check(model, params)) == said(q_implant.check(model, qparam))


def test_the_version_is_the_crates():
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        version = next(l.split('"')[1] for l in f if l.startswith("version = "))
    assert q_implant.__version__ == version


def test_the_configuration_is_read_as_the_command_line_reads_it(tmp_path, monkeypatch):
    import shutil

    model = os.path.join(FIXTURES, "story.circle")
    src = os.path.join(FIXTURES, "story.torch-qparam")
    shutil.copytree(src, tmp_path / "export")
    (tmp_path / "q-implant.toml").write_text('ignore = ["Q6"]\n')
    qparam = str(tmp_path / "export" / "qparam.json")
    found = q_implant.check(model, qparam)
    assert found.hidden > 0 and all(not d.code.startswith("Q6") for d in found.diagnostics)
    assert found.to_json().encode() == cli("check", model, qparam, "--format", "json").stdout
    assert q_implant.check(model, qparam, config=False).hidden == 0
    other = tmp_path / "other.toml"
    other.write_text('select = ["Q5"]\n')
    assert {d.code[:2] for d in q_implant.check(model, qparam, config=other).diagnostics} == {"Q5"}
    # A mapping has no directory: its configuration is found from the
    # working directory.
    params = load_set(qparam)
    monkeypatch.chdir(tmp_path)
    assert q_implant.check(model, params).hidden == found.hidden
    assert q_implant.check(model, params, config=False).hidden == 0
