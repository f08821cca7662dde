"""A dozen cells of the onert support matrix (tests/interop/onert_matrix.py,
written up in docs/targets.md), measured again: the cells that compute
correctly stay within their bound, and each failing cell fails the way the
matrix recorded, with onert's own message. If onert changes, this fails
and the matrix is to be measured again:

    .venv/bin/python tests/interop/onert_matrix.py --all && .venv/bin/python scripts/onert_matrix_doc.py
"""
import pytest

import onert_matrix as matrix

# cell id -> (verdict, what onert says or what its output is). A verdict
# "rejected at <stage>" with a message onert prints there; "wrong" with the
# hypothesis onert's output matches exactly; "ok" with nothing.
EXPECTED = {
    # Per-channel uint8 convolution is right (only slower); the ResNet-18
    # per-channel error comes from FULLY_CONNECTED and MUL/ADD constants.
    "CONV_2D/uint8/per-channel-zp": ("ok", None),
    "FULLY_CONNECTED/uint8/per-channel-zp": ("wrong", matrix.FIRST_CHANNEL),
    "MUL/uint8/const-per-channel-zp": ("wrong", matrix.FIRST_CHANNEL),
    # Output parameters other than the fixed ones are fine for SOFTMAX.
    "SOFTMAX/uint8/calibrated-out": ("ok", None),
    # Silently wrong: a RESHAPE whose output parameters differ copies bytes;
    # QUANTIZE to int8 clamps to the uint8 range.
    "RESHAPE/uint8/other-out-params": ("wrong", matrix.BYTES_COPIED),
    "QUANTIZE/int8/per-tensor": ("wrong", matrix.UINT8_CLAMP),
    # Rejected, and where.
    "FULLY_CONNECTED/int8/per-tensor": ("rejected at run", "FullyConnected: unsupported data type"),
    "TRANSPOSE/int8/per-tensor": ("rejected at run", "Transpose: unsupported data type"),
    "TRANSPOSE/uint8/other-out-params": ("rejected at run", "qassym8 input and output offsets unmatched"),
    "RELU/uint8/per-tensor": ("rejected at prepare", "ElementwiseActivationLayer(ReLU): unsupported data type"),
    "CONV_2D/int8/per-channel-zp": ("rejected at load", "OperationValidator failed"),
    "CONV_2D/int16/per-tensor": ("rejected at input", "Model has type that runtime API does not support"),
}


@pytest.mark.parametrize("cell", list(EXPECTED))
def test_cell_behaves_as_recorded(cell):
    verdict, detail = EXPECTED[cell]
    rec = matrix.run_cell(cell)
    summary = (f"{cell}: {rec['verdict']}, max {rec['max_diff_steps']} steps, "
               f"onert said {rec['onert_messages']}, output matches {rec.get('matches')}")
    assert rec["verdict"] == verdict, summary
    if verdict == "ok":
        assert rec["loads"] and rec["runs"], summary
        assert rec["max_diff_steps"] <= rec["tolerance_steps"], summary
    elif verdict == "wrong":
        assert rec["runs"] and rec["max_diff_steps"] > rec["tolerance_steps"], summary
        assert detail in rec["matches"], summary
    else:
        assert not rec["runs"], summary
        assert rec["loads"] == (verdict not in ("rejected at load", "rejected at prepare")), summary
        assert any(detail in m for m in rec["onert_messages"]), summary


def test_the_reference_notices_a_wrong_kernel():
    """Guards the oracle: the reference output with channel 0's parameters
    for every channel (what onert computes for FULLY_CONNECTED) is beyond
    the bound, and the correct reference is within it."""
    case = matrix.CELLS["FULLY_CONNECTED/uint8/per-channel-zp"]["build"](
        matrix._rng("FULLY_CONNECTED/uint8/per-channel-zp"))
    assert case.diff_steps(case.expected).max() == 0
    assert case.diff_steps(case.alternatives[matrix.FIRST_CHANNEL]).max() > case.tolerance
