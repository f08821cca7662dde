"""A dozen cells of the onert support matrix measured again and compared
with src/analysis/rules/target/onert/matrix.json, the measurement the
library compiles in: the support table `--target onert` reads cites its
cells, and docs/targets.md is written from both. Each cell must come out as
committed: the same verdict, at the same stage, with the same messages from
onert and, for a wrong output, the same hypotheses it equals. If onert
changes, this fails and the matrix is to be measured again
(docs/testing.md):

    .venv/bin/python tests/interop/onert_matrix.py --all
    cargo run -- rules --targets-markdown > docs/targets.md
"""
import pytest

import onert_matrix as matrix

COMMITTED = matrix.committed()

# At least one cell for each kind of row of the support table.
CELLS = [
    # Runs right: per-channel uint8 convolution (only slower), and SOFTMAX
    # with output parameters other than the fixed ones.
    "CONV_2D/uint8/per-channel-zp",
    "SOFTMAX/uint8/calibrated-out",
    # Per-channel parameters read as channel 0's (the ResNet-18 error).
    "FULLY_CONNECTED/uint8/per-channel-zp",
    "MUL/uint8/const-per-channel-zp",
    # Silently wrong: a RESHAPE whose output parameters differ copies the
    # bytes; QUANTIZE into int8 clamps to the uint8 range.
    "RESHAPE/uint8/other-out-params",
    "QUANTIZE/int8/per-tensor",
    # Rejected, and where.
    "FULLY_CONNECTED/int8/per-tensor",
    "TRANSPOSE/int8/per-tensor",
    "TRANSPOSE/uint8/other-out-params",
    "RELU/uint8/per-tensor",
    "CONV_2D/int8/per-channel-zp",
    "CONV_2D/int16/per-tensor",
]

# Every weight-only cell: the formats onert takes on each operator and the
# limits the support table's weight rows stand on (the bias, rank-2
# indices, rows of 32, several input rows).
WEIGHT_ONLY = [c for c, cell in matrix.CELLS.items() if cell["group"] == "weight-only"]

# What must match; the differences in steps may move a little with numpy.
COMPARED = ("verdict", "stage", "messages", "matches")


@pytest.mark.parametrize("cell", CELLS + WEIGHT_ONLY)
def test_cell_is_as_committed(cell):
    now = matrix.trim_cell(matrix.run_cell(cell))
    was = COMMITTED[cell]
    differ = {k: (was.get(k), now.get(k)) for k in COMPARED if was.get(k) != now.get(k)}
    assert not differ, f"{cell} (committed, measured now): {differ}"


def test_the_reference_notices_a_wrong_kernel():
    """Guards the oracle: the reference output with channel 0's parameters
    for every channel (what onert computes for FULLY_CONNECTED) is beyond
    the bound, and the correct reference is within it."""
    case = matrix.CELLS["FULLY_CONNECTED/uint8/per-channel-zp"]["build"](
        matrix._rng("FULLY_CONNECTED/uint8/per-channel-zp"))
    assert case.diff_steps(case.expected).max() == 0
    assert case.diff_steps(case.alternatives[matrix.FIRST_CHANNEL]).max() > case.tolerance


def test_the_reference_notices_an_unrounded_input():
    """Guards the GGML oracle: the product without ggml's Q8_0 rounding of
    the input is beyond the bound, so a kernel that skipped it would fail."""
    cid = "FULLY_CONNECTED/ggml_q4_0/weight-only"
    case = matrix.CELLS[cid]["build"](matrix._rng(cid))
    assert case.diff_steps(case.expected).max() == 0
    assert case.diff_steps(case.alternatives[matrix.NOT_ROUNDED]).max() > case.tolerance


def test_the_committed_cells_are_the_matrix():
    """matrix.json has every cell onert_matrix.py defines, and no other."""
    assert set(COMMITTED) == set(matrix.CELLS)
