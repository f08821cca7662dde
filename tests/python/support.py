"""Shared helpers for the tests of the q_implant module: the fixtures, the
q-implant binary to compare with (built by `cargo build --release`), and
sets loaded into memory as an exporter would hold them. (Not named
conftest.py: the interop suite's conftest is imported by that name.)"""
import json
import os
import subprocess

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "fixtures")
BIN = os.environ.get("Q_IMPLANT_BIN", os.path.join(ROOT, "target", "release", "q-implant"))
ARRAY_FIELDS = ("scale", "zerop", "value")


def fixture_sets():
    """(model, qparam.json) of every fixture set."""
    out = []
    for name in sorted(os.listdir(FIXTURES)):
        qparam = os.path.join(FIXTURES, name, "qparam.json")
        if "qparam" in name and os.path.isfile(qparam):
            model = os.path.join(FIXTURES, name.split(".")[0] + ".circle")
            out.append((model, qparam))
    return out


def cli(*args, cwd=None):
    """Runs the q-implant binary; returns the completed process (bytes)."""
    return subprocess.run([BIN, *map(str, args)], capture_output=True, cwd=cwd)


def load_set(qparam):
    """The set at `qparam` as a mapping of numpy arrays, in its order."""
    base = os.path.dirname(qparam)
    with open(qparam, encoding="utf-8") as f:
        raw = json.load(f)
    out = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            out[key] = entry
            continue
        fields = {}
        for name, value in entry.items():
            if name in ARRAY_FIELDS and isinstance(value, str):
                fields[name] = np.load(os.path.join(base, value), allow_pickle=False)
            else:
                fields[name] = value
        out[key] = fields
    return out


def copy_set(src_dir, dst_dir):
    """A copy of a set's directory (qparam.json and its npy files)."""
    os.makedirs(dst_dir, exist_ok=True)
    for name in os.listdir(src_dir):
        with open(os.path.join(src_dir, name), "rb") as f:
            data = f.read()
        with open(os.path.join(dst_dir, name), "wb") as f:
            f.write(data)
    return os.path.join(dst_dir, "qparam.json")


def said(report):
    """Everything a report's findings say but their place."""
    return [
        (d.code, d.name, d.severity, d.key, d.field, d.tensor, d.message, d.help, d.suggestions, d.fixable)
        for d in report.diagnostics
    ]
