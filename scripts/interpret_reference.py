"""Reference outputs for the interpreter's end-to-end test (tests/interpret.rs).

Runs every float fixture on onert (CPU) with fixed random inputs and saves,
per model, `<model>.in<i>.npy` and `<model>.out<i>.npy` under
tests/interpret-reference/. The numpy interpreter in fixtures/refexec.py runs
the same inputs as a second opinion; the script fails if the two disagree.

Then the fixtures with a uint8 parameter set that onert runs quantized (mlp,
convnet) are implanted with `q-implant apply` into `<model>q.circle`, and
onert's integer kernels run them on the float inputs quantized to uint8:
`<model>q.in0.npy` and `<model>q.out0.npy` hold the uint8 input and output.

Regenerate (from the repository root) with:

    /path/to/python scripts/interpret_reference.py

where the Python environment has `onert`, `numpy` and `circle-schema`.
"""
import pathlib
import subprocess
import sys

import numpy as np
from onert.native.libnnfw_api_pybind import prepare_config
from onert.native.libnnfw_api_pybind.infer import nnfw_session

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))
import refexec  # noqa: E402

QUANTIZED = ["mlp", "convnet"]
MODELS = ["convnet", "mlp", "story", "resnet18", "resnet18q", "encoder", "encoder_qkv", "multi"]
OUT = ROOT / "tests" / "interpret-reference"
# The numpy interpreter computes in float64 here and there; agreement to this
# fraction of the output's magnitude shows that both read the model alike.
REFEXEC_TOLERANCE = 1e-4


def onert_run(path, inputs):
    sess = nnfw_session(str(path), "cpu")
    sess.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
    sess.prepare()
    for i, x in enumerate(inputs):
        sess.set_input(i, x)
    sess.run()
    return [np.array(sess.get_output(i)) for i in range(sess.output_size())]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(MODELS):
        path = ROOT / "fixtures" / f"{name}.circle"
        model = refexec.load(path)
        sg = model.subgraphs[0]
        rng = np.random.default_rng(seed)
        inputs = [rng.standard_normal(list(sg.tensors[i].shape)).astype(np.float32) for i in sg.inputs]
        outputs = onert_run(path, inputs)
        values = refexec.run(model, inputs)
        for k, out in enumerate(outputs):
            ref = values[sg.outputs[k]]
            scale = max(float(np.abs(out).max()), 1e-6)
            err = float(np.abs(ref - out).max()) / scale
            if err > REFEXEC_TOLERANCE:
                sys.exit(f"{name}: onert and the numpy interpreter differ by {err:.2e} of the output's magnitude")
        for k, x in enumerate(inputs):
            np.save(OUT / f"{name}.in{k}.npy", x)
        for k, y in enumerate(outputs):
            np.save(OUT / f"{name}.out{k}.npy", y.astype(np.float32))
        print(f"{name}: {len(inputs)} inputs, {len(outputs)} outputs")


def quantized():
    """The uint8 models: implanted, then run by onert on quantized inputs."""
    for name in QUANTIZED:
        out = OUT / f"{name}q.circle"
        subprocess.run(["cargo", "run", "--quiet", "--release", "--", "apply", "--quiet", "--force",
                        str(ROOT / "fixtures" / f"{name}.circle"),
                        str(ROOT / "fixtures" / f"{name}.qparam" / "qparam.json"), "-o", str(out)],
                       check=True, cwd=ROOT)
        sg = refexec.load(out).subgraphs[0]
        q = sg.tensors[sg.inputs[0]].quantization
        x = np.load(OUT / f"{name}.in0.npy")
        # Half away from zero, as TFLite rounds (numpy's round goes to even).
        r = x / np.float32(q.scale[0])
        xq = np.clip(np.sign(r) * np.floor(np.abs(r) + 0.5) + q.zeroPoint[0], 0, 255).astype(np.uint8)
        (y,) = onert_run(out, [xq])
        np.save(OUT / f"{name}q.in0.npy", xq)
        np.save(OUT / f"{name}q.out0.npy", y)
        print(f"{name}q: uint8 input and output")


if __name__ == "__main__":
    main()
    quantized()
