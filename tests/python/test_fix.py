"""fix(): what `check --fix` does, on a file or on a mapping (which is
fixed into a new mapping)."""
import os

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, copy_set, load_set, said

MODEL = os.path.join(FIXTURES, "story.circle")
TORCH = os.path.join(FIXTURES, "story.torch-qparam")


def test_a_file_is_fixed_as_the_command_line_fixes_it(tmp_path):
    mine = copy_set(TORCH, str(tmp_path / "mine"))
    theirs = copy_set(TORCH, str(tmp_path / "theirs"))
    out = os.path.join(os.path.dirname(mine), "qparam.fixed.json")
    report = q_implant.fix(MODEL, mine, output=out)
    proc = cli(
        "check", MODEL, theirs, "--fix", "--fix-output",
        os.path.join(os.path.dirname(theirs), "qparam.fixed.json"), "--format", "json",
    )
    with open(out, "rb") as f:
        fixed = f.read()
    with open(os.path.join(os.path.dirname(theirs), "qparam.fixed.json"), "rb") as f:
        assert fixed == f.read()
    assert report.report.to_json().replace(mine, theirs).encode() == proc.stdout
    assert report.written == out and report.qparam == out and report.backup is None
    fixed_keys = [f.key for f in report.fixed]
    assert fixed_keys and all(isinstance(f.what, str) for f in report.fixed)
    # The status lines of the command line name the same changes.
    mine_dir, theirs_dir = os.path.dirname(mine), os.path.dirname(theirs)
    for f in report.fixed:
        assert f"fixed `{f.key}`: {f.what}".replace(mine_dir, theirs_dir) in proc.stderr.decode()


def test_in_place_keeps_a_backup(tmp_path):
    path = copy_set(TORCH, str(tmp_path / "set"))
    before = open(path, "rb").read()
    report = q_implant.fix(MODEL, path)
    assert report.written == path and report.backup == path + ".bak"
    assert open(path + ".bak", "rb").read() == before


def test_a_mapping_is_fixed_into_a_new_mapping(tmp_path):
    params = load_set(os.path.join(TORCH, "qparam.json"))
    snapshot = {k: dict(v) for k, v in params.items()}
    file_fix = q_implant.fix(MODEL, copy_set(TORCH, str(tmp_path / "set")), output=str(tmp_path / "set" / "f.json"))
    report = q_implant.fix(MODEL, params)
    # The caller's mapping is not changed.
    assert params.keys() == snapshot.keys()
    assert all(params[k][f] is snapshot[k][f] for k in params for f in params[k])
    assert [f.key for f in report.fixed] == [f.key for f in file_fix.fixed]
    fixed = report.qparam
    assert isinstance(fixed, dict) and report.written is None
    assert list(fixed) == list(load_set(str(tmp_path / "set" / "f.json")))
    # The findings of the fixed mapping are those of the fixed file.
    assert said(report.report) == said(file_fix.report) or [
        (d.code, d.key) for d in report.report.diagnostics
    ] == [(d.code, d.key) for d in file_fix.report.diagnostics]
    assert said(q_implant.check(MODEL, fixed)) == said(report.report)
    # Arrays the fix kept are the caller's own objects; new ones are numpy's.
    kept = [v for e in fixed.values() for v in e.values() if any(v is o for s in params.values() for o in s.values())]
    assert kept, "a fix keeps the arrays it does not change"
    new = [v for e in fixed.values() for v in e.values() if isinstance(v, np.ndarray) and not any(v is o for s in params.values() for o in s.values())]
    assert new and all(v.flags.c_contiguous for v in new)


def test_fixed_mapping_applies_as_the_fixed_file(tmp_path):
    params = load_set(os.path.join(TORCH, "qparam.json"))
    fixed = q_implant.fix(MODEL, params, propagate=True).qparam
    path = copy_set(TORCH, str(tmp_path / "set"))
    q_implant.fix(MODEL, path, propagate=True)
    q_implant.apply(MODEL, fixed, tmp_path / "memory.circle", propagate=True)
    q_implant.apply(MODEL, path, tmp_path / "file.circle", propagate=True)
    assert (tmp_path / "memory.circle").read_bytes() == (tmp_path / "file.circle").read_bytes()


def test_a_clean_mapping_comes_back_as_it_was():
    params = load_set(os.path.join(FIXTURES, "story.qparam", "qparam.json"))
    report = q_implant.fix(MODEL, params)
    assert report.fixed == [] and report.qparam is params and report.report.ok


def test_output_is_for_files_only():
    with pytest.raises(ValueError, match="output"):
        q_implant.fix(MODEL, {}, output="x.json")
