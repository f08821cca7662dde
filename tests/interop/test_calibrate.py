"""`check --fix --calibrate` on the ONE runtime: a fixture's set with every
activation entry removed is calibrated from samples, applied for onert, and
run; its output is within 3 dB of SQNR (against the float model, both on
onert) of the model the full set writes, calibrated where the exporter saw
nothing. The models are those onert runs quantized."""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import FIXTURES, fixture, q_implant, read_model
from onert.native.libnnfw_api_pybind import prepare_config
from onert.native.libnnfw_api_pybind.infer import nnfw_session

# Families whose uint8 models onert 0.1.0 runs (`apply --target onert`
# accepts them), and the older networks that run. (DenseNet's export gives
# an AVERAGE_POOL_2D's input and output other parameters, which onert
# cannot run (Q804): its full set has no model to compare with.)
MODELS = ["mobilenetv2", "efficientnet", "vgg", "resnet18", "convnet"]

SLACK_DB = 3.0


def onert(path, x):
    s = nnfw_session(str(path), "cpu")
    s.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
    s.prepare()
    s.set_input(0, x)
    s.run()
    return s.get_output(0)


def input_shape(name):
    model, _ = read_model(fixture(name))
    sg = model.subgraphs[0]
    return list(sg.tensors[sg.inputs[0]].shape)


def sample_dir(tmp, name, count, seed):
    """Standard normal samples, as the fixtures' exporter calibrated."""
    d = tmp / f"samples-{seed}"
    d.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        np.save(d / f"{i:02d}.npy", rng.standard_normal(input_shape(name)).astype(np.float32))
    return d


def copy_set(tmp, name, strip):
    d = tmp / ("stripped" if strip else "full")
    shutil.copytree(os.path.join(FIXTURES, f"{name}.torch-qparam"), d)
    with open(d / "qparam.json") as f:
        entries = json.load(f)
    if strip:
        entries = {k: e for k, e in entries.items() if "value" in e}
    with open(d / "qparam.json", "w") as f:
        json.dump(entries, f, indent=2)
    return d / "qparam.json"


def fix(name, path, samples):
    q_implant("check", "--isolated", fixture(name), path, "--fix", f"--calibrate={samples}",
              "--target", "onert", check=False)


def drop_unresolved(name, path):
    """The keys the matcher left unresolved keep their tensors from being
    calibrated; without them the full set quantizes every tensor too."""
    report = q_implant("check", "--isolated", fixture(name), path, "--format", "json", check=False)
    unresolved = {d["key"] for d in json.loads(report.stdout)["diagnostics"] if d["code"] == "Q501"}
    with open(path) as f:
        entries = json.load(f)
    with open(path, "w") as f:
        json.dump({k: e for k, e in entries.items() if k not in unresolved}, f, indent=2)


def quantized_outputs(path, xs):
    model, _ = read_model(path)
    sg = model.subgraphs[0]
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    (s_in, z_in), (s_out, z_out) = [
        (float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])) for t in (tin, tout)
    ]
    out = []
    for x in xs:
        xq = np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)
        out.append((onert(path, xq).astype(np.float32) - z_out) * s_out)
    return np.concatenate([o.ravel() for o in out])


def sqnr(f, q):
    return 10 * np.log10(np.sum(f.astype(np.float64) ** 2) / max(np.sum((f - q).astype(np.float64) ** 2), 1e-300))


@pytest.mark.parametrize("name", MODELS)
def test_calibrating_a_set_without_activation_entries_runs_as_well_as_the_full_set(tmp, name):
    samples = sample_dir(tmp, name, 16, 0xCA1)
    full = copy_set(tmp, name, strip=False)
    fix(name, full, samples)
    drop_unresolved(name, full)
    fix(name, full, samples)
    stripped = copy_set(tmp, name, strip=True)
    fix(name, stripped, samples)
    models = {}
    for label, path in [("full", full), ("calibrated", stripped)]:
        out = tmp / f"{label}.circle"
        q_implant("apply", "--isolated", fixture(name), path, "-o", out, "--target", "onert")
        models[label] = out
    rng = np.random.default_rng(0xE7A1)
    xs = [rng.standard_normal(input_shape(name)).astype(np.float32) for _ in range(4)]
    reference = os.path.join(FIXTURES, f"{name}.reference", "input_0.npy")
    if os.path.exists(reference):
        xs.append(np.load(reference))
    f = np.concatenate([onert(fixture(name), x).ravel() for x in xs])
    full_db = sqnr(f, quantized_outputs(models["full"], xs))
    calibrated_db = sqnr(f, quantized_outputs(models["calibrated"], xs))
    print(f"{name}: full set {full_db:.1f} dB, calibrated {calibrated_db:.1f} dB")
    assert calibrated_db >= full_db - SLACK_DB, f"calibrated {calibrated_db:.1f} dB, full set {full_db:.1f} dB"
