"""A program written against the module's type stubs; test_typing.py runs
`mypy --strict` on it (it is checked, not run)."""
from pathlib import Path
from typing import Any, Optional

import numpy as np

import q_implant


def exporter_params() -> dict[str, dict[str, Any]]:
    return {
        "tico::x": {
            "dtype": "uint8",
            "scale": np.array([0.02], dtype=np.float32),
            "zerop": np.array([128], dtype=np.int64),
            "quantized_dimension": 0,
        }
    }


def errors_of(model: Path, qparam: Path) -> list[str]:
    report: q_implant.Report = q_implant.check(model, qparam, select=["Q5"], target="onert")
    out: list[str] = []
    for d in report.diagnostics:
        line: Optional[int] = d.line
        best = d.suggestions[0][0] if d.suggestions else None
        out.append(f"{d.code} {d.severity} {d.key} {d.field} {line} {best} {d.fixable}")
    out.append(report.to_json())
    return out if not report.ok else []


def implant(model: str, out: str) -> int:
    params = exporter_params()
    fixed = q_implant.fix(model, params, propagate=True)
    for f in fixed.fixed:
        print(f.key, f.what)
    try:
        written = q_implant.apply(model, fixed.qparam, out, layout="plain", force=True)
    except q_implant.CheckFailed as e:
        return e.report.errors
    except q_implant.Error as e:
        print(e.code, e.help)
        return -1
    total: int = sum(c.bytes_after for c in written.changes)
    return total + (written.bytes or 0)


def tensors(model: str) -> list[tuple[str, str, list[int]]]:
    m: q_implant.Model = q_implant.inspect(model)
    return [(t.name, t.dtype, t.shape) for sg in m.subgraphs for t in sg.tensors]


def version() -> str:
    return q_implant.__version__


def cost(model: str, x: "np.ndarray[Any, Any]") -> Optional[float]:
    params = exporter_params()
    report: q_implant.VerifyReport = q_implant.verify(model, params, inputs=[x], outputs=True)
    worst = [t.name for t in report.worst() if t.cause == "clipping"]
    print(worst, report.to_json(), report.to_html(title="cost"), report.to_text(all=True))
    for arrays in report.output_arrays or []:
        print(arrays.name, len(arrays.float or []))
    return report.outputs[0].sqnr_db


def round_trip(quantized: str, model: str) -> bool:
    got: q_implant.Extracted = q_implant.extract(quantized)
    assert not isinstance(got.qparam, str)
    print(got.entries, got.by_dtype, [i.tensor for i in got.inserted], got.to_json())
    changes: q_implant.Diff = q_implant.diff(quantized, got.qparam, rtol=1e-6)
    for d in changes.differences:
        print(d.key, d.kinds, d.details)
    fixed = q_implant.fix(model, got.qparam, calibrate=True, calibration="minmax", inputs="samples/")
    if fixed.calibration is not None:
        print(fixed.calibration.samples, fixed.calibration.random)
    return not changes and q_implant.check(model, got.qparam, no_run=True).ok
