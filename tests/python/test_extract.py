"""extract(): a quantized model's parameters written as the command line
writes them, or returned in memory as the mapping check and apply take."""
import filecmp
import json
import os

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, said

MODEL = os.path.join(FIXTURES, "convnet.circle")
QPARAM = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")


@pytest.fixture
def quantized(tmp_path):
    path = str(tmp_path / "q.circle")
    q_implant.apply(MODEL, QPARAM, path)
    return path


def test_a_directory_is_written_as_the_command_line_writes_it(tmp_path, quantized):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    got = q_implant.extract(quantized, str(mine))
    proc = cli("extract", quantized, "-o", theirs, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert got.to_json().replace(str(mine), str(theirs)).encode() == proc.stdout
    names = sorted(os.listdir(theirs))
    assert sorted(os.listdir(mine)) == names
    assert filecmp.cmpfiles(mine, theirs, names, shallow=False)[0] == names
    assert got.qparam == str(mine / "qparam.json") and got.output == str(mine)
    doc = json.loads(got.to_json())
    assert (got.entries, got.files, got.bytes, got.by_dtype) == (doc["entries"], doc["files"], doc["bytes"], doc["by_dtype"])
    # force replaces a directory that holds something, as --force does.
    with pytest.raises(q_implant.Error) as e:
        q_implant.extract(quantized, str(mine))
    assert e.value.code == "extract::not_empty"
    assert q_implant.extract(quantized, str(mine), force=True).entries == got.entries


def test_in_memory_the_set_is_the_mapping_check_takes(tmp_path, quantized):
    on_disk = q_implant.extract(quantized, str(tmp_path / "set"))
    got = q_implant.extract(quantized)
    assert got.output is None and got.files is None and got.bytes is None
    doc, written = json.loads(got.to_json()), json.loads(on_disk.to_json())
    assert doc["output"] is None and doc["files"] is None
    for field in ("entries", "by_dtype", "inserted", "left", "renamed", "unresolved"):
        assert doc[field] == written[field], field
    params = got.qparam
    assert isinstance(params, dict) and len(params) == got.entries
    files = {k: v for k, v in json.load(open(on_disk.qparam)).items()}
    assert list(params) == list(files)
    for key, entry in params.items():
        assert entry["dtype"] == files[key]["dtype"]
        assert entry["quantized_dimension"] == files[key]["quantized_dimension"]
        for field in ("scale", "zerop", "value"):
            if field in files[key]:
                disk = np.load(os.path.join(tmp_path, "set", files[key][field]))
                assert entry[field].dtype == disk.dtype and np.array_equal(entry[field], disk), (key, field)
            else:
                assert field not in entry
    # The round trip: what check says of it is what it says of the files.
    assert said(q_implant.check(MODEL, params)) == said(q_implant.check(MODEL, on_disk.qparam))
    assert not q_implant.diff(params, QPARAM)
    again = str(tmp_path / "again.circle")
    q_implant.apply(MODEL, params, again)
    assert open(again, "rb").read() == open(quantized, "rb").read()


def test_keys_from_keys_the_set_by_another_sets_keys(tmp_path, quantized):
    torch = os.path.join(FIXTURES, "convnet.torch-qparam", "qparam.json")
    got = q_implant.extract(quantized, keys_from=torch, float_model=MODEL)
    out = tmp_path / "keyed"
    proc = cli("extract", quantized, "-o", out, "--keys-from", torch, "--float-model", MODEL, "--format", "json")
    written = json.loads(proc.stdout)
    assert got.renamed == written["renamed"] > 0 and got.unresolved == written["unresolved"]
    assert list(got.qparam) == list(json.load(open(out / "qparam.json")))


def test_bad_arguments_and_models(tmp_path, quantized):
    with pytest.raises(ValueError, match="leave force out"):
        q_implant.extract(quantized, force=True)
    with pytest.raises(ValueError, match="go together"):
        q_implant.extract(quantized, keys_from=QPARAM)
    with pytest.raises(q_implant.Error) as e:
        q_implant.extract(MODEL)
    assert e.value.code == "extract::float_model"
    assert str(e.value) in cli("extract", MODEL, "-o", tmp_path / "x").stderr.decode()
    with pytest.raises(q_implant.ModelError):
        q_implant.extract(QPARAM)
