"""apply(): the bytes the command line writes, from a file or from memory;
a set with errors raises CheckFailed and writes nothing."""
import os

import pytest
import q_implant

from support import FIXTURES, cli, load_set


@pytest.mark.parametrize("name", ["convnet", "mlp", "story"])
def test_apply_from_memory_writes_the_command_lines_bytes(name, tmp_path):
    model = os.path.join(FIXTURES, name + ".circle")
    qparam = os.path.join(FIXTURES, name + ".qparam", "qparam.json")
    by_cli = tmp_path / "cli.circle"
    proc = cli("apply", model, qparam, "-o", by_cli)
    assert proc.returncode == 0, proc.stderr
    from_file = q_implant.apply(model, qparam, tmp_path / "file.circle")
    from_memory = q_implant.apply(model, load_set(qparam), tmp_path / "memory.circle")
    expected = by_cli.read_bytes()
    assert (tmp_path / "file.circle").read_bytes() == expected
    assert (tmp_path / "memory.circle").read_bytes() == expected
    assert from_memory.written and from_memory.bytes == len(expected)
    assert from_memory.layout == "plain"
    assert [c.tensor for c in from_memory.changes] == [c.tensor for c in from_file.changes]
    assert all(c.dtype_before == "float32" for c in from_memory.changes)


def test_a_set_with_errors_raises_check_failed_and_writes_nothing(tmp_path):
    model = os.path.join(FIXTURES, "story.circle")
    qparam = os.path.join(FIXTURES, "story.torch-qparam", "qparam.json")
    out = tmp_path / "out.circle"
    proc = cli("apply", model, qparam, "-o", out)
    assert proc.returncode == 1
    for given in (qparam, load_set(qparam)):
        with pytest.raises(q_implant.CheckFailed) as caught:
            q_implant.apply(model, given, out)
        assert isinstance(caught.value, q_implant.Error)
        assert caught.value.report.errors == 52
        # The refusal as the command line says it (after its report).
        assert proc.stderr.decode().rstrip("\n").endswith(str(caught.value))
        assert not out.exists() and os.listdir(tmp_path) == []


def test_dry_run_writes_nothing_and_says_what_would_change(tmp_path):
    model = os.path.join(FIXTURES, "mlp.circle")
    qparam = os.path.join(FIXTURES, "mlp.qparam", "qparam.json")
    report = q_implant.apply(model, load_set(qparam), tmp_path / "o.circle", dry_run=True)
    assert not report.written and report.bytes is None
    assert report.changes and not os.listdir(tmp_path)


def test_an_existing_output_is_kept_unless_forced(tmp_path):
    model = os.path.join(FIXTURES, "mlp.circle")
    qparam = os.path.join(FIXTURES, "mlp.qparam", "qparam.json")
    out = tmp_path / "o.circle"
    out.write_bytes(b"keep")
    with pytest.raises(q_implant.Error) as caught:
        q_implant.apply(model, qparam, out)
    assert str(caught.value) == cli("apply", model, qparam, "-o", out).stderr.decode().rstrip("\n")
    assert caught.value.code == "apply::output_exists"
    assert out.read_bytes() == b"keep"
    q_implant.apply(model, qparam, out, force=True)
    assert out.read_bytes()[4:8] == b"CIR0"


def test_the_float_fallback_writes_the_command_lines_bytes(tmp_path):
    """The story set fixed for onert: its RELU runs in float between a
    DEQUANTIZE and a QUANTIZE, from Python as from the command line."""
    import shutil
    model = os.path.join(FIXTURES, "story.circle")
    shutil.copytree(os.path.join(FIXTURES, "story.torch-qparam"), tmp_path / "set")
    qparam = tmp_path / "set" / "qparam.json"
    fixed = cli("check", model, qparam, "--fix", "--target", "onert", "--fallback", "float")
    assert fixed.returncode == 0, fixed.stdout
    by_cli = tmp_path / "cli.circle"
    proc = cli("apply", model, qparam, "-o", by_cli, "--target", "onert", "--fallback", "float")
    assert proc.returncode == 0, proc.stderr
    q_implant.apply(model, qparam, tmp_path / "py.circle", target="onert", fallback="float")
    assert (tmp_path / "py.circle").read_bytes() == by_cli.read_bytes()


def test_a_fallback_needs_a_target_and_a_name_it_knows(tmp_path):
    model = os.path.join(FIXTURES, "mlp.circle")
    qparam = os.path.join(FIXTURES, "mlp.qparam", "qparam.json")
    with pytest.raises(ValueError, match="fallbacks are: float"):
        q_implant.apply(model, qparam, tmp_path / "o.circle", fallback="int4")
    with pytest.raises(q_implant.Error) as caught:
        q_implant.apply(model, qparam, tmp_path / "o.circle", fallback="float", config=False)
    said = cli("apply", model, qparam, "-o", tmp_path / "o.circle", "--fallback", "float", "--isolated")
    assert str(caught.value) == said.stderr.decode().rstrip("\n")
    assert not os.listdir(tmp_path)


def test_block_wise_weights_from_memory(tmp_path):
    """The decoder's group-32 int4 set given as a mapping (`block_size` a
    Python int or a numpy integer): the command line's bytes, with the
    weights packed as GGML blocks; a block size no type holds is Q418."""
    import numpy as np

    model = os.path.join(FIXTURES, "decoder.circle")
    qparam = os.path.join(FIXTURES, "decoder.qparam", "qparam.json")
    by_cli = tmp_path / "cli.circle"
    proc = cli("apply", model, qparam, "-o", by_cli)
    assert proc.returncode == 0, proc.stderr
    params = load_set(qparam)
    embed = "tico::p_embed_weight"
    assert params[embed]["block_size"] == 32 and params[embed]["scale"].shape == (96, 2)
    params[embed]["block_size"] = np.int64(32)
    written = q_implant.apply(model, params, tmp_path / "memory.circle")
    assert (tmp_path / "memory.circle").read_bytes() == by_cli.read_bytes()
    after = {c.tensor: c.dtype_after for c in written.changes}
    assert after[embed] == "ggml_q4_0", after
    assert after["tico::p_lm_head_weight"] == "ggml_q8_0", after
    params[embed]["block_size"] = 64
    params[embed]["scale"] = params[embed]["scale"][:, :1].copy()
    params[embed]["zerop"] = params[embed]["zerop"][:, :1].copy()
    codes = {d.code for d in q_implant.check(model, params).diagnostics}
    assert "Q418" in codes, codes
