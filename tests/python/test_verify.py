"""verify(): both forms as the command line (a float model with a set, a
quantized model with reference=), samples from files or numpy arrays, the
report as objects and as the command line's JSON and HTML."""
import json
import os

import numpy as np
import pytest
import q_implant

from support import FIXTURES, cli, load_set

MODEL = os.path.join(FIXTURES, "convnet.circle")
QPARAM = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")


def input_spec(model):
    """(name, shape) of the model's first input."""
    sg = q_implant.inspect(model).subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    return t.name, t.shape


def samples(count, seed=3):
    _, shape = input_spec(MODEL)
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, size=shape).astype(np.float32) for _ in range(count)]


def test_a_set_is_verified_as_the_command_line_verifies_it():
    report = q_implant.verify(MODEL, QPARAM)
    proc = cli("verify", MODEL, QPARAM, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert report.to_json().encode() == proc.stdout
    doc = json.loads(report.to_json())
    assert report.samples == doc["samples"] == 4 and report.random_inputs
    assert [t.name for t in report.tensors] == [t["name"] for t in doc["tensors"]]
    for mine, theirs in zip(report.tensors, doc["tensors"]):
        assert (mine.index, mine.dtype, mine.sqnr_db, mine.max_error_steps, mine.clipped, mine.mpeir, mine.cause) == (
            theirs["index"], theirs["dtype"], theirs["sqnr_db"], theirs["max_error_steps"],
            theirs["clipped"], theirs["mpeir"], theirs["cause"],
        )
    out = report.outputs[0]
    assert out.name == doc["outputs"][0]["name"] and out.sqnr_db == doc["outputs"][0]["sqnr_db"]
    assert out.sqnr_db is not None and out.sqnr_db > 10
    assert report.output_arrays is None
    worst = report.worst()
    assert worst and all(t.evaluated for t in worst)
    measured = [t.sqnr_db for t in worst if t.sqnr_db is not None]
    assert measured == sorted(measured)


def test_random_samples_take_the_command_lines_count_and_seed():
    report = q_implant.verify(MODEL, QPARAM, samples=2, seed=7)
    proc = cli("verify", MODEL, QPARAM, "--samples", "2", "--seed", "7", "--format", "json")
    assert report.to_json().encode() == proc.stdout
    assert report.samples == 2


def test_a_mapping_is_verified_as_its_file():
    assert q_implant.verify(MODEL, load_set(QPARAM)).to_json() == q_implant.verify(MODEL, QPARAM).to_json()


def test_a_quantized_model_against_its_reference(tmp_path):
    quantized = str(tmp_path / "q.circle")
    q_implant.apply(MODEL, QPARAM, quantized)
    report = q_implant.verify(quantized, reference=MODEL)
    proc = cli("verify", quantized, "--reference", MODEL, "--format", "json")
    assert report.to_json().encode() == proc.stdout
    # The model apply writes is the model a set verifies.
    assert report.to_json() == q_implant.verify(MODEL, QPARAM).to_json()


def test_numpy_inputs_are_the_samples_their_files_are(tmp_path):
    name, _ = input_spec(MODEL)
    xs = samples(3)
    for i, x in enumerate(xs):
        np.save(tmp_path / f"s{i}.npy", x)
    proc = cli("verify", MODEL, QPARAM, "--input", tmp_path, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    by_list = q_implant.verify(MODEL, QPARAM, inputs=[[x] for x in xs])
    by_name = q_implant.verify(MODEL, QPARAM, inputs=[{name: x} for x in xs])
    by_path = q_implant.verify(MODEL, QPARAM, inputs=str(tmp_path))
    assert by_list.to_json().encode() == proc.stdout
    assert by_name.to_json() == by_list.to_json() == by_path.to_json()
    assert not by_list.random_inputs and by_list.samples == 3
    # One sample: an array, or a list of one array per input.
    one = cli("verify", MODEL, QPARAM, "--input", tmp_path / "s0.npy", "--format", "json").stdout
    assert q_implant.verify(MODEL, QPARAM, inputs=xs[0]).to_json().encode() == one
    assert q_implant.verify(MODEL, QPARAM, inputs=[xs[0]]).to_json().encode() == one
    # A Fortran-ordered copy holds the same values.
    assert q_implant.verify(MODEL, QPARAM, inputs=np.asfortranarray(xs[0])).to_json().encode() == one


def test_outputs_are_returned_as_the_command_line_saves_them(tmp_path):
    xs = samples(2)
    report = q_implant.verify(MODEL, QPARAM, inputs=[[x] for x in xs], outputs=True)
    for i, x in enumerate(xs):
        np.save(tmp_path / f"s{i}.npy", x)
    saved = tmp_path / "saved"
    proc = cli("verify", MODEL, QPARAM, "--input", tmp_path, "--save-outputs", saved, "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    arrays = report.output_arrays
    assert arrays is not None and len(arrays) == len(report.outputs)
    for k, out in enumerate(arrays):
        assert out.name == report.outputs[k].name
        assert len(out.float) == len(out.quantized) == 2
        for i in range(2):
            assert np.array_equal(out.float[i], np.load(saved / f"sample{i}" / f"float_{k}.npy"))
            assert np.array_equal(out.quantized[i], np.load(saved / f"sample{i}" / f"quantized_{k}.npy"))
        # The error the report measures is the error between the arrays.
        err = max(float(np.max(np.abs(f - q))) for f, q in zip(out.float, out.quantized))
        assert err == pytest.approx(report.outputs[k].max_abs_error, rel=1e-5)


def test_html_and_text_are_the_command_lines(tmp_path):
    report = q_implant.verify(MODEL, QPARAM)
    page = tmp_path / "r.html"
    assert cli("verify", MODEL, QPARAM, "--format", "html", "-o", page).returncode == 0
    assert report.to_html() == page.read_text()
    assert "<html" in report.to_html(title="mine") and "mine" in report.to_html(title="mine")
    text = cli("verify", MODEL, QPARAM, "--all").stdout.decode()
    assert report.to_text(all=True) == text


def test_a_set_with_errors_raises_check_failed():
    model = os.path.join(FIXTURES, "story.circle")
    qparam = os.path.join(FIXTURES, "story.torch-qparam", "qparam.json")
    with pytest.raises(q_implant.CheckFailed) as e:
        q_implant.verify(model, qparam)
    assert e.value.report.errors > 0 and e.value.code == "verify::refused"
    proc = cli("verify", model, qparam, "--format", "json")
    assert proc.returncode == 2 and proc.stdout == b""
    stderr = proc.stderr.decode()
    for line in str(e.value).splitlines():
        assert line.strip() in stderr, line


def test_bad_arguments_are_named():
    x = samples(1)[0]
    cases = [
        (dict(qparam=QPARAM, reference=MODEL), ValueError, "not both"),
        (dict(), ValueError, "reference=float_model"),
        (dict(qparam=QPARAM, inputs=[x], samples=2), ValueError, "leave them out"),
        (dict(qparam=QPARAM, samples=0), ValueError, "from 1 to 100000"),
        (dict(qparam=QPARAM, max_memory=0), ValueError, "at least 1"),
        (dict(qparam=QPARAM, inputs=[x, "a.npy"]), TypeError, "mixes paths and arrays"),
        (dict(qparam=QPARAM, inputs=5), TypeError, "not a value of type int"),
        (dict(qparam=QPARAM, inputs=[[x, 1.5]]), TypeError, "inputs[0][1] is a float"),
        (dict(qparam=QPARAM, inputs={1: x}), TypeError, "input names"),
        (dict(qparam=5), TypeError, "qparam takes"),
    ]
    for kwargs, kind, words in cases:
        with pytest.raises(kind) as e:
            q_implant.verify(MODEL, **kwargs)
        assert words in str(e.value), (kwargs, str(e.value))


def test_a_wrong_array_is_the_command_lines_error(tmp_path):
    name, shape = input_spec(MODEL)
    wrong = np.zeros([d + 1 for d in shape], dtype=np.float32)
    with pytest.raises(q_implant.Error) as e:
        q_implant.verify(MODEL, QPARAM, inputs=[[samples(1)[0]], [wrong]])
    assert e.value.code == "input::shape"
    assert "`inputs[1]`: the input" in str(e.value) and name in str(e.value)
    np.save(tmp_path / "w.npy", wrong)
    stderr = cli("verify", MODEL, QPARAM, "--input", tmp_path / "w.npy").stderr.decode()
    assert str(e.value).replace("inputs[1]", str(tmp_path / "w.npy")) in stderr
    with pytest.raises(q_implant.Error) as e:
        q_implant.verify(MODEL, QPARAM, inputs=[np.zeros(shape, dtype=np.int32)])
    assert e.value.code == "input::dtype"
    with pytest.raises(q_implant.Error) as e:
        q_implant.verify(MODEL, QPARAM, inputs=[samples(1)[0], samples(1)[0]])
    assert e.value.code == "input::count" and "has 2 arrays" in str(e.value)
    with pytest.raises(q_implant.Error) as e:
        q_implant.verify(MODEL, QPARAM, inputs={"nothing": samples(1)[0]})
    assert e.value.code == "input::missing" and "`nothing`" in str(e.value)
