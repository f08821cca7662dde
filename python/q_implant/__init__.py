"""q-implant: check quantization parameters exported from a framework
against a float circle model, fix what is certain, and implant them.

The functions mirror the command line's commands and print nothing:

    report = q_implant.check("model.circle", "export/qparam.json")
    for d in report.diagnostics:
        print(d.code, d.key, d.message)
    q_implant.apply("model.circle", params, "model.q.circle")
    cost = q_implant.verify("model.circle", params, inputs=[x])
    print(cost.outputs[0].sqnr_db)

`qparam` is the path of a qparam.json, or a mapping held in memory,
``{name: {"dtype": "uint8", "scale": array, "zerop": array,
"quantized_dimension": 0, "value": array}}``. See docs/python.md.
"""

from ._native import (
    ApplyReport,
    Calibration,
    Change,
    CheckFailed,
    Diagnostic,
    Diff,
    Difference,
    Error,
    Extracted,
    Fix,
    FixReport,
    InsertedTensor,
    LeftOut,
    Model,
    ModelError,
    Operator,
    OutputArrays,
    OutputError,
    QParamError,
    Quantization,
    Report,
    Subgraph,
    Tensor,
    TensorError,
    Unsupported,
    VerifyReport,
    __version__,
    apply,
    check,
    diff,
    extract,
    fix,
    inspect,
    verify,
)

__all__ = [
    "ApplyReport",
    "Calibration",
    "Change",
    "CheckFailed",
    "Diagnostic",
    "Diff",
    "Difference",
    "Error",
    "Extracted",
    "Fix",
    "FixReport",
    "InsertedTensor",
    "LeftOut",
    "Model",
    "ModelError",
    "Operator",
    "OutputArrays",
    "OutputError",
    "QParamError",
    "Quantization",
    "Report",
    "Subgraph",
    "Tensor",
    "TensorError",
    "Unsupported",
    "VerifyReport",
    "__version__",
    "apply",
    "check",
    "diff",
    "extract",
    "fix",
    "inspect",
    "verify",
]
