"""q-implant: check quantization parameters exported from a framework
against a float circle model, fix what is certain, and implant them.

The functions mirror the command line's commands and print nothing:

    report = q_implant.check("model.circle", "export/qparam.json")
    for d in report.diagnostics:
        print(d.code, d.key, d.message)
    q_implant.apply("model.circle", params, "model.q.circle")

`qparam` is the path of a qparam.json, or a mapping held in memory,
``{name: {"dtype": "uint8", "scale": array, "zerop": array,
"quantized_dimension": 0, "value": array}}``. See docs/python.md.
"""

from ._native import (
    ApplyReport,
    Change,
    CheckFailed,
    Diagnostic,
    Error,
    Fix,
    FixReport,
    Model,
    ModelError,
    Operator,
    QParamError,
    Quantization,
    Report,
    Subgraph,
    Tensor,
    __version__,
    apply,
    check,
    fix,
    inspect,
)

__all__ = [
    "ApplyReport",
    "Change",
    "CheckFailed",
    "Diagnostic",
    "Error",
    "Fix",
    "FixReport",
    "Model",
    "ModelError",
    "Operator",
    "QParamError",
    "Quantization",
    "Report",
    "Subgraph",
    "Tensor",
    "__version__",
    "apply",
    "check",
    "fix",
    "inspect",
]
