"""Shared helpers for the interop suite: run the q-implant binary, and read
circle files with the independent `circle-schema` reader."""
import os
import subprocess

import numpy as np
import pytest
from circle_schema.v0_10.circle.Model import ModelT

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "fixtures")
BIN = os.environ.get("Q_IMPLANT_BIN", os.path.join(ROOT, "target", "release", "q-implant"))
MODELS = ["convnet", "mlp", "story", "multi"]


def q_implant(*args, check=True):
    proc = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"q-implant {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def fixture(name):
    return os.path.join(FIXTURES, f"{name}.circle")


def read_model(path):
    data = open(path, "rb").read()
    return ModelT.InitFromPackedBuf(bytearray(data), 0), data


def as_tree(obj):
    """The reader's object tree as plain data: every field it knows, recursively."""
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [as_tree(x) for x in obj]
    return {k: as_tree(v) for k, v in sorted(vars(obj).items())}


def resolved_buffers(model, data):
    """Each buffer's bytes wherever the layout keeps them (inline or at offset)."""
    out = []
    for b in model.buffers or []:
        if b.offset > 1:
            out.append(bytes(data[b.offset:b.offset + b.size]))
        elif b.data is not None:
            out.append(bytes(np.asarray(b.data, np.uint8)))
        else:
            out.append(None)
    return out


def without_buffers(model):
    tree = as_tree(model)
    tree["buffers"] = len(tree["buffers"] or [])
    return tree


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


def onert_outputs(path, inputs):
    """Every output of the model at `path` run by onert on the CPU, one
    array per graph input in `inputs`."""
    from onert.native.libnnfw_api_pybind import prepare_config
    from onert.native.libnnfw_api_pybind.infer import nnfw_session

    s = nnfw_session(str(path), "cpu")
    s.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
    s.prepare()
    for i, x in enumerate(inputs):
        s.set_input(i, x)
    s.run()
    return [s.get_output(i) for i in range(s.output_size())]


def onert_output(path, x):
    """The first output of a one-input model at `path` run by onert."""
    return onert_outputs(path, [x])[0]
