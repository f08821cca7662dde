"""Runs each architecture family's float model on onert's CPU backend with
its reference input (fixtures/<name>.reference/input_0.npy) and compares
the output with PyTorch's (output_0.npy). Prints a Markdown table: whether
onert loads, prepares and runs the model, and the largest difference
relative to the largest output value.

    python scripts/onert_families.py [NAME ...]     # default: every family

Needs numpy and onert (0.1.0 was measured). Each model runs in a child
process, so that onert's own error message (written by its C++ code to
stderr) can be reported and a crash stops only that model.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
sys.path.insert(0, FIXTURES)
# How far onert's float output may be from PyTorch's, relative to the
# largest output value, and still count as matching: float32 kernels that
# sum in another order differ by a few units in the last place.
MATCH_RTOL = 1e-4


def run_one(name):
    """Child: run one model, print `ok <relative error>`; onert prints why it fails."""
    import numpy as np
    from onert.native.libnnfw_api_pybind import infer, prepare_config

    stage = "load"
    try:
        session = infer.nnfw_session(os.path.join(FIXTURES, f"{name}.circle"), "cpu")
        stage = "prepare"
        session.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
        session.prepare()
        stage = "run"
        x = np.load(os.path.join(FIXTURES, f"{name}.reference", "input_0.npy"))
        want = np.load(os.path.join(FIXTURES, f"{name}.reference", "output_0.npy"))
        session.set_input(0, x)
        session.run()
        got = np.asarray(session.get_output(0)).reshape(want.shape)
    except Exception as e:  # onert raises its own error type for every failing stage
        print(f"fails at {stage}: {e}", flush=True)
        return 1
    print(f"ok {float(np.abs(got - want).max()) / float(np.abs(want).max()):.1e}", flush=True)
    return 0


def main(argv):
    if argv[:1] == ["--one"]:
        return run_one(argv[1])
    from make import FAMILY_NAMES

    print("| family | onert 0.1.0, CPU, float | max abs difference / max abs output |")
    print("|---|---|---|")
    for name in argv or FAMILY_NAMES:
        child = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True)
        lines = [line for line in (child.stdout + child.stderr).splitlines() if line.strip()]
        result = next((line for line in lines if line.startswith(("ok ", "fails at"))), "crashed")
        if result.startswith("ok "):
            err = float(result.split()[1])
            verdict = "runs, matches PyTorch" if err <= MATCH_RTOL else "runs, differs from PyTorch"
            print(f"| {name} | {verdict} | {err:.1e} |")
        else:
            why = [line.strip() for line in lines if ("rror" in line or "Fail" in line) and "NNFW_STATUS" not in line
                   and not line.startswith("fails at")]
            stage = result.split(":")[0]
            print(f"| {name} | {stage}: {why[0] if why else result.split(': ', 1)[-1]} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
