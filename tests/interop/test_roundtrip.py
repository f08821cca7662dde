"""Read -> write -> read through q-implant, compared field by field by the
independent circle-schema reader, in both layouts."""
import pytest

from conftest import MODELS, as_tree, fixture, q_implant, read_model, resolved_buffers, without_buffers


def first_difference(a, b, path="model"):
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            d = first_difference(a.get(k), b.get(k), f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", MODELS)
def test_plain_rewrite_equals_original_field_by_field(name, tmp):
    out = tmp / "out.circle"
    q_implant("rewrite", fixture(name), "-o", out, "--layout", "plain")
    original, _ = read_model(fixture(name))
    again, _ = read_model(out)
    assert first_difference(as_tree(original), as_tree(again)) is None


@pytest.mark.parametrize("name", MODELS)
def test_large_layout_keeps_every_field_and_every_byte(name, tmp):
    out = tmp / "out.circle"
    q_implant("rewrite", fixture(name), "-o", out, "--layout", "large")
    original, odata = read_model(fixture(name))
    large, ldata = read_model(out)
    moved = [b for b in large.buffers if b.offset > 1]
    assert moved, "no buffer was moved after the FlatBuffer"
    assert all(b.data is None and b.offset % 16 == 0 for b in moved)
    assert first_difference(without_buffers(original), without_buffers(large)) is None
    assert resolved_buffers(original, odata) == resolved_buffers(large, ldata)


@pytest.mark.parametrize("name", MODELS)
def test_large_then_plain_gives_back_the_original(name, tmp):
    large, plain = tmp / "large.circle", tmp / "plain.circle"
    q_implant("rewrite", fixture(name), "-o", large, "--layout", "large")
    q_implant("rewrite", large, "-o", plain, "--layout", "plain")
    original, _ = read_model(fixture(name))
    again, _ = read_model(plain)
    assert first_difference(as_tree(original), as_tree(again)) is None


def test_the_comparison_notices_a_dropped_field(tmp):
    """Guards the guard: a model with one field changed must compare unequal."""
    original, _ = read_model(fixture("multi"))
    changed, _ = read_model(fixture("multi"))
    changed.signatureDefs[1].signatureKey = None
    assert first_difference(as_tree(original), as_tree(changed)) is not None
