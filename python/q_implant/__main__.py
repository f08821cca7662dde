"""The `q-implant` command: `python -m q_implant ...` or the `q-implant`
entry point the wheel installs. Both run the command line inside this
process, through the native module (one build for the module and the
command)."""

import signal
import sys

from ._native import _run_cli


def main() -> int:
    """Runs the command line with this process's arguments; returns its
    exit code (0 success, 1 findings or a refused write, 2 trouble)."""
    # As the binary does: Ctrl-C ends the run at once (the command removes
    # the files it was writing) instead of waiting for it to come back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _run_cli(["q-implant", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
