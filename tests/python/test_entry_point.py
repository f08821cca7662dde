"""The wheel's `q-implant` command runs the command line through the
module: same output and exit code as the binary."""
import os
import shutil
import subprocess
import sys

import pytest

from support import FIXTURES, cli

MODEL = os.path.join(FIXTURES, "story.circle")
QPARAM = os.path.join(FIXTURES, "story.torch-qparam", "qparam.json")


def entry_point():
    found = shutil.which("q-implant", path=os.path.dirname(sys.executable))
    assert found, "the q-implant entry point is not installed beside this Python"
    return found


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["check", MODEL, QPARAM],
        ["check", MODEL, QPARAM, "--format", "json"],
        ["check", "nope.circle", QPARAM],
        ["rules", "Q501"],
        ["check"],
    ],
)
def test_the_entry_point_is_the_binary(args):
    want = cli(*args)
    for command in ([entry_point()], [sys.executable, "-m", "q_implant"]):
        got = subprocess.run([*command, *args], capture_output=True)
        assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), command
