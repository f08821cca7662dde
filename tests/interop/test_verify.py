"""`verify` against the ONE runtime: the interpreter's float run gives
onert's float outputs (and PyTorch's, where the fixture came from PyTorch
with a stored reference), and its simulation of the quantized model gives
onert's integer kernels' outputs within a step on average and four at
worst, on the same inputs."""
import os
import shutil

import numpy as np
import pytest

from conftest import FIXTURES, fixture, q_implant, read_model, onert_outputs

# The fixtures onert loads in float (docs/testing.md lists the ones it
# cannot: unet, shufflenetv2, convnext, mixer, espcn, story_onnxtf).
FLOAT_FIXTURES = ["convnet", "mlp", "story", "multi", "resnet18", "resnet18q", "encoder", "encoder_qkv",
                  "mobilenetv2", "mobilenetv3", "efficientnet", "vgg", "squeezenet", "vit", "m5", "densenet"]
# Within this share of the output's magnitude of onert's float output.
FLOAT_TOLERANCE = 1e-4
# The quantized simulation against onert's integer kernels, in steps of the
# output's scale.
MEAN_STEPS, MAX_STEPS = 1.0, 4.0
SAMPLES = 3




def inputs_of(model, seed):
    """A standard normal sample for each float input of subgraph 0."""
    sg = model.subgraphs[0]
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(sg.tensors[i].shape).astype(np.float32) for i in sg.inputs]


def write_samples(directory, samples, names):
    os.makedirs(directory)
    for k, sample in enumerate(samples):
        np.savez(os.path.join(directory, f"sample{k}.npz"), **dict(zip(names, sample)))


def saved(directory, k, run, count):
    return [np.load(os.path.join(directory, f"sample{k}", f"{run}_{j}.npy")) for j in range(count)]


def verify_outputs(tmp, quantized, reference, samples, names):
    """Runs `verify` on `samples`; returns each sample's (float, quantized)
    outputs as the interpreter computed them."""
    write_samples(tmp / "in", samples, names)
    q_implant("verify", quantized, "--reference", reference, "--input", tmp / "in",
              "--save-outputs", tmp / "out", "--format", "json")
    model, _ = read_model(quantized)
    count = len(model.subgraphs[0].outputs)
    return [(saved(tmp / "out", k, "float", count), saved(tmp / "out", k, "quantized", count))
            for k in range(len(samples))]


@pytest.mark.parametrize("name", FLOAT_FIXTURES)
def test_float_outputs_equal_onerts(name, tmp):
    model, _ = read_model(fixture(name))
    sg = model.subgraphs[0]
    names = [sg.tensors[i].name.decode() for i in sg.inputs]
    samples = [inputs_of(model, seed) for seed in range(SAMPLES)]
    # The float model against itself: both runs are float.
    runs = verify_outputs(tmp, fixture(name), fixture(name), samples, names)
    for sample, (ours, _) in zip(samples, runs):
        theirs = onert_outputs(fixture(name), sample)
        for a, b in zip(ours, theirs):
            scale = max(1.0, float(np.abs(b).max()))
            # onert drops FULLY_CONNECTED's kept dimensions of size 1 (m5:
            # [1, 10] for the declared [1, 1, 10]); the values are the same.
            assert a.size == b.size, (a.shape, b.shape)
            a = a.reshape(b.shape)
            assert np.abs(a - b).max() <= FLOAT_TOLERANCE * scale, f"{name}: {np.abs(a - b).max()}"


# The fixtures whose reference directory holds PyTorch's inputs and outputs
# (`input_0.npy`, ...); the decoder's holds onert's answer instead.
REFERENCED = sorted(
    d[: -len(".reference")]
    for d in os.listdir(FIXTURES)
    if d.endswith(".reference") and os.path.exists(os.path.join(FIXTURES, d, "input_0.npy"))
)


@pytest.mark.parametrize("name", REFERENCED)
def test_float_outputs_equal_pytorchs(name, tmp):
    """The fixtures made from PyTorch modules keep PyTorch's output on their
    reference inputs."""
    directory = os.path.join(FIXTURES, f"{name}.reference")
    model, _ = read_model(fixture(name))
    sg = model.subgraphs[0]
    names = [sg.tensors[i].name.decode() for i in sg.inputs]
    count = len([f for f in os.listdir(directory) if f.startswith("input_")])
    samples = [[np.load(os.path.join(directory, f"input_{k}.npy"))] for k in range(count)]
    runs = verify_outputs(tmp, fixture(name), fixture(name), samples, names)
    for k, (ours, _) in enumerate(runs):
        want = np.load(os.path.join(directory, f"output_{k}.npy"))
        got = ours[0].reshape(want.shape)
        scale = max(1.0, float(np.abs(want).max()))
        assert np.abs(got - want).max() <= FLOAT_TOLERANCE * scale, f"{name}: {np.abs(got - want).max()}"


def quantize(x, tensor):
    """x on the input's grid, rounded half away from zero as TFLite does."""
    s, z = float(tensor.quantization.scale[0]), int(tensor.quantization.zeroPoint[0])
    v = x / s
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + z
    return np.clip(q, 0, 255).astype(np.uint8)


def fixed_set(tmp, name, directory):
    """The set, copied; a PyTorch-keyed one fixed by `check --fix`."""
    qparam = tmp / "set"
    shutil.copytree(os.path.join(FIXTURES, directory), qparam)
    if directory.endswith("torch-qparam"):
        fixed = q_implant("check", fixture(name), qparam / "qparam.json", "--fix", check=False)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return qparam / "qparam.json"


# Sets onert runs quantized: the interpreter's simulation must agree with
# its integer kernels.
QUANTIZED = [("convnet", "convnet.qparam"), ("mlp", "mlp.qparam"), ("convnet", "convnet.torch-qparam"),
             ("mlp", "mlp.torch-qparam"), ("resnet18", "resnet18.torch-qparam")]


@pytest.mark.parametrize("name,directory", QUANTIZED)
def test_quantized_outputs_are_within_steps_of_onerts(name, directory, tmp):
    qparam = fixed_set(tmp, name, directory)
    out = tmp / "q.circle"
    q_implant("apply", fixture(name), qparam, "-o", out)
    model, _ = read_model(out)
    sg = model.subgraphs[0]
    names = [sg.tensors[i].name.decode() for i in sg.inputs]
    samples = [inputs_of(model, seed) for seed in range(SAMPLES)]
    runs = verify_outputs(tmp, out, fixture(name), samples, names)
    steps = []
    for sample, (_, ours) in zip(samples, runs):
        theirs = onert_outputs(out, [quantize(x, sg.tensors[i]) for x, i in zip(sample, sg.inputs)])
        for j, (a, b) in enumerate(zip(ours, theirs)):
            t = sg.tensors[sg.outputs[j]]
            s, z = float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])
            real = (b.astype(np.float32) - z) * s
            steps.append(np.abs(a.reshape(real.shape) - real) / s)
    steps = np.concatenate([x.ravel() for x in steps])
    assert steps.mean() <= MEAN_STEPS, f"{name}: {steps.mean():.2f} steps on average"
    assert steps.max() <= MAX_STEPS, f"{name}: {steps.max():.2f} steps at worst"


def test_verify_notices_a_broken_set(tmp):
    """The oracle is shown to notice: one weight scale doubled costs the
    output SQNR that verify reports."""
    import json
    qparam = fixed_set(tmp, "mlp", "mlp.qparam")
    good = q_implant("verify", fixture("mlp"), qparam, "--format", "json")
    entries = json.load(open(qparam))
    weight = next(k for k, e in entries.items() if "value" in e and e["dtype"] == "uint8")
    path = qparam.parent / entries[weight]["scale"]
    np.save(path, np.load(path) * 2)
    bad = q_implant("verify", fixture("mlp"), qparam, "--format", "json")
    sqnr = lambda p: json.loads(p.stdout)["outputs"][0]["sqnr_db"]
    assert sqnr(bad) < sqnr(good) - 6, (sqnr(good), sqnr(bad))
