"""An exporter that quantizes a small PyTorch model and implants the
parameters into its circle model in process, without writing a qparam set
to disk: convert the float model with tico, calibrate, build the set as a
mapping of numpy arrays keyed by PyTorch's names, then check it, fix it
(q-implant renames the keys to the converter's tensors and lays the weights
out as the converter did) and apply it.

    python examples/export_and_implant.py [OUT_DIR]

Needs torch, tico and numpy, and the q_implant module (`pip install .`);
with onert installed, it also runs the quantized model and compares it with
PyTorch. It is run by hand (CI has no torch); see docs/python.md.
"""

import os
import sys
import tempfile

import numpy as np
import torch

import q_implant


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x)))


SHAPE = (1, 3, 16, 16)


def convert(net, path):
    """The float circle model, as tico converts it."""
    import tico

    tico.convert(net.eval(), (torch.randn(*SHAPE),)).save(path)


def uint8_params(lo, hi):
    """Asymmetric uint8 parameters covering [lo, hi] (and 0)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    zero_point = int(np.clip(round(-lo / scale), 0, 255))
    return scale, zero_point


def entry(dtype, scale, zero_point, value=None):
    """One entry, as qparam.json's exporter would save it."""
    fields = {
        "dtype": dtype,
        "scale": np.array([scale], dtype=np.float32),
        "zerop": np.array([zero_point], dtype=np.int64),
        "quantized_dimension": 0,
    }
    if value is not None:
        fields["value"] = value
    return fields


def calibrate(net, input_name):
    """Per-tensor uint8 parameters for the input, each layer's weights,
    bias and output, from min/max over random calibration inputs; keyed as
    PyTorch names them (the input by the model's own name for it)."""
    ranges = {}

    def record(name):
        def hook(_module, _inputs, output):
            lo, hi = ranges.get(name, (np.inf, -np.inf))
            ranges[name] = (min(lo, output.min().item()), max(hi, output.max().item()))

        return hook

    for name in ("conv1", "relu", "conv2"):
        getattr(net, name).register_forward_hook(record(name))
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(16)]
    with torch.no_grad():
        for x in inputs:
            lo, hi = ranges.get("input", (np.inf, -np.inf))
            ranges["input"] = (min(lo, x.min()), max(hi, x.max()))
            net(torch.from_numpy(x))

    params = {}
    s_in, z_in = uint8_params(*ranges["input"])
    params[input_name] = entry("uint8", s_in, z_in)
    previous = s_in
    for conv, out in (("conv1", "relu"), ("conv2", "conv2")):
        layer = getattr(net, conv)
        w = layer.weight.detach().numpy()
        s_w, z_w = uint8_params(w.min(), w.max())
        # The weight in PyTorch's layout (OIHW); q-implant's fix lays it out
        # as the converter stored it.
        qw = np.clip(np.round(w / s_w) + z_w, 0, 255).astype(np.uint8)
        params[f"{conv}.weight"] = entry("uint8", s_w, z_w, qw)
        s_b = previous * s_w
        qb = np.round(layer.bias.detach().numpy() / s_b).astype(np.int32)
        params[f"{conv}.bias"] = entry("int32", s_b, 0, qb)
        s_out, z_out = uint8_params(*ranges[out])
        params[conv] = entry("uint8", s_out, z_out)
        previous = s_out
    return params, inputs


def run_onert(path, x):
    from onert.native.libnnfw_api_pybind import prepare_config
    from onert.native.libnnfw_api_pybind.infer import nnfw_session

    session = nnfw_session(str(path), "cpu")
    session.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
    session.prepare()
    session.set_input(0, x)
    session.run()
    return session.get_output(0)


def main(out_dir):
    torch.manual_seed(0)
    net = Net().eval()
    model = os.path.join(out_dir, "net.circle")
    convert(net, model)

    # The converter's names for the graph's input and output.
    graph = q_implant.inspect(model).subgraphs[0]
    input_name = graph.tensors[graph.inputs[0]].name
    print(f"converted: {model}, input `{input_name}`, {len(graph.tensors)} tensors")

    params, inputs = calibrate(net, input_name)
    report = q_implant.check(model, params)
    print(f"check: {report.errors} errors, {report.warnings} warnings, {report.fixable} fixable")
    for d in report.diagnostics[:5]:
        print(f"  {d.code} {d.key or d.tensor}: {d.message}")

    fixed = q_implant.fix(model, params, propagate=True)
    for f in fixed.fixed:
        print(f"fixed `{f.key}`: {f.what}")
    print(f"after the fix: {fixed.report.errors} errors, {fixed.report.warnings} warnings")

    out = os.path.join(out_dir, "net.q.circle")
    try:
        written = q_implant.apply(model, fixed.qparam, out, propagate=True, float_io=True, force=True)
    except q_implant.CheckFailed as refused:
        for d in refused.report.diagnostics:
            print(f"  {d.code} {d.key or d.tensor}: {d.message}")
        raise
    print(f"apply: {len(written.changes)} tensors quantized, {written.bytes} bytes to {out}")

    try:
        import onert  # noqa: F401
    except ImportError:
        return
    # The quantized model (float in, float out) against PyTorch, in steps
    # of the output's scale.
    s_out = float(fixed.qparam[graph.tensors[graph.outputs[0]].name]["scale"][0])
    worst = 0.0
    for x in inputs[:4]:
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        got = run_onert(out, x)
        worst = max(worst, float(np.abs(got.reshape(want.shape) - want).max() / s_out))
    print(f"onert: the quantized model is within {worst:.2f} steps of PyTorch")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.makedirs(sys.argv[1], exist_ok=True)
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as d:
            main(d)
