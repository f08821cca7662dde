//! What the matrix shows, in sentences, each with the cells (or fixture
//! model runs) that show it: docs/targets.md's findings. A test holds each
//! to `matrix.json`, so a new measurement that contradicts one fails until
//! the sentence is rewritten.

use super::matrix::{Matrix, BYTES_COPIED, FIRST_CHANNEL, UINT8_CLAMP};

/// A statement and what shows it.
pub struct Finding {
    pub statement: &'static str,
    pub seen: &'static [Seen],
}

/// One piece of evidence for a finding.
pub enum Seen {
    /// A cell whose verdict starts with `verdict`, whose messages (if
    /// given) include `says`, and whose output (if given) equals the
    /// hypothesis `output`.
    Cell {
        id: &'static str,
        verdict: &'static str,
        says: Option<&'static str>,
        output: Option<&'static str>,
    },
    /// A fixture model's variant with this verdict.
    Model {
        model: &'static str,
        variant: &'static str,
        verdict: &'static str,
    },
}

impl Seen {
    /// How docs/targets.md cites it.
    pub fn citation(&self) -> String {
        match self {
            Seen::Cell { id, .. } => format!("`{id}`"),
            Seen::Model { model, variant, .. } => format!("{model} `{variant}`"),
        }
    }

    /// Why `matrix` does not show it, if it does not.
    pub fn contradicted(&self, matrix: &Matrix) -> Option<String> {
        match *self {
            Seen::Cell {
                id,
                verdict,
                says,
                output,
            } => {
                let Some(c) = matrix.cells.iter().find(|c| c.id == id) else {
                    return Some(format!("`{id}` was not measured"));
                };
                if !c.verdict.starts_with(verdict) {
                    return Some(format!("`{id}` is {}, not {verdict}", c.verdict));
                }
                if let Some(says) = says.filter(|s| !c.says(s)) {
                    return Some(format!("`{id}` does not say `{says}`"));
                }
                output
                    .filter(|o| !c.matches.iter().any(|m| m == o))
                    .map(|o| format!("`{id}`'s output is not {o}"))
            }
            Seen::Model {
                model,
                variant,
                verdict,
            } => {
                let run = matrix.models.iter().find(|m| {
                    m.model.as_deref() == Some(model) && m.variant.as_deref() == Some(variant)
                });
                let got = run
                    .and_then(|m| m.verdict.as_deref())
                    .unwrap_or("not measured");
                (got != verdict).then(|| format!("{model} `{variant}` is {got}, not {verdict}"))
            }
        }
    }
}

const fn cell(id: &'static str, verdict: &'static str) -> Seen {
    Seen::Cell {
        id,
        verdict,
        says: None,
        output: None,
    }
}

const fn says(id: &'static str, verdict: &'static str, says: &'static str) -> Seen {
    Seen::Cell {
        id,
        verdict,
        says: Some(says),
        output: None,
    }
}

/// A cell onert computes wrong, its output equal to the hypothesis `output`.
const fn wrong(id: &'static str, output: &'static str) -> Seen {
    Seen::Cell {
        id,
        verdict: "wrong",
        says: None,
        output: Some(output),
    }
}

const fn model(model: &'static str, variant: &'static str, verdict: &'static str) -> Seen {
    Seen::Model {
        model,
        variant,
        verdict,
    }
}

pub const FINDINGS: &[Finding] = &[
    Finding {
        statement: "uint8 FULLY_CONNECTED with per-channel weights computes wrong, with no error: onert uses the first channel's scale and zero point for every output channel. Per-channel parameters that are all equal, or channel 0's repeated, give the right output; varying scales or varying zero points do not.",
        seen: &[
            wrong("FULLY_CONNECTED/uint8/per-channel", FIRST_CHANNEL),
            wrong("FULLY_CONNECTED/uint8/per-channel-zp", FIRST_CHANNEL),
            cell("FULLY_CONNECTED/uint8/per-channel/uniform", "ok"),
            cell("FULLY_CONNECTED/uint8/per-channel/first-channel-broadcast", "ok"),
            wrong("FULLY_CONNECTED/uint8/per-channel/scales-vary", FIRST_CHANNEL),
            wrong("FULLY_CONNECTED/uint8/per-channel/zps-vary", FIRST_CHANNEL),
            wrong("FULLY_CONNECTED/uint8/per-channel-zp/n1-512x1000", FIRST_CHANNEL),
        ],
    },
    Finding {
        statement: "MUL and ADD with a constant operand quantized per channel (a batch norm as tico converts it: an NCHW activation times a [1, C, 1, 1] constant) compute wrong, with no error, in uint8 and int8, the same way: channel 0's scale and zero point for every channel. The same constant quantized per tensor is right.",
        seen: &[
            cell("MUL/uint8/const-per-tensor", "ok"),
            wrong("MUL/uint8/const-per-channel", FIRST_CHANNEL),
            wrong("MUL/uint8/const-per-channel-zp", FIRST_CHANNEL),
            cell("ADD/uint8/const-per-tensor", "ok"),
            wrong("ADD/uint8/const-per-channel", FIRST_CHANNEL),
            wrong("ADD/uint8/const-per-channel-zp", FIRST_CHANNEL),
            wrong("MUL/int8/const-per-channel", FIRST_CHANNEL),
            wrong("ADD/int8/const-per-channel", FIRST_CHANNEL),
        ],
    },
    Finding {
        statement: "ResNet-18 with per-channel uint8 weights (zero points varying) goes wrong because of the two findings above, not because of its convolutions: with only the convolutions per channel it is as close to the float model as the per-tensor model; with the fully connected layer, or the batch-norm MUL/ADD constants, per channel it is tens of steps off. The small convnet (Conv2D and DepthwiseConv2D only) is right per channel; the mlp (FullyConnected only) is not.",
        seen: &[
            model("resnet18", "per-tensor", "ok"),
            model("resnet18", "per-channel-zp: convolutions", "ok"),
            model("resnet18", "per-channel-zp: fully connected", "wrong"),
            model("resnet18", "per-channel-zp: MUL/ADD constants", "wrong"),
            model("convnet", "per-channel-zp: convolutions", "ok"),
            model("mlp", "per-channel-zp: fully connected", "wrong"),
        ],
    },
    Finding {
        statement: "uint8 CONV_2D and DEPTHWISE_CONV_2D with per-channel weights, zero points varying or not, compute right in every shape tried (kernels 1, 3 and 7, strides 1 and 2, SAME and VALID, 3 to 512 channels, with and without a fused RELU or RELU6), but CONV_2D is several times slower than per tensor: see the timed sweep.",
        seen: &[
            cell("CONV_2D/uint8/per-channel-zp", "ok"),
            cell("DEPTHWISE_CONV_2D/uint8/per-channel-zp", "ok"),
            cell("CONV_2D/uint8/per-channel-zp-fused-RELU6", "ok"),
            cell("DEPTHWISE_CONV_2D/uint8/per-channel-zp-fused-RELU", "ok"),
            cell("CONV_2D/uint8/per-channel-zp/k7s2valid-c3x8-h70", "ok"),
            cell("CONV_2D/uint8/per-channel-zp/k1s1same-c512x512-h4", "ok"),
            cell("CONV_2D/uint8/per-channel-zp/k3s2same-c256x512-h4", "ok"),
        ],
    },
    Finding {
        statement: "Standalone quantized RELU and RELU6 are rejected when the model is prepared, whatever their parameters (`ElementwiseActivationLayer(ReLU): unsupported data type`); an activation fused into CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED is fine.",
        seen: &[
            says(
                "RELU/uint8/per-tensor",
                "rejected at prepare",
                "ElementwiseActivationLayer(ReLU): unsupported data type",
            ),
            cell("RELU/uint8/same-params", "rejected at prepare"),
            cell("RELU6/uint8/per-tensor", "rejected at prepare"),
            cell("RELU/int8/per-tensor", "rejected at prepare"),
            cell("CONV_2D/uint8/fused-RELU", "ok"),
            cell("FULLY_CONNECTED/uint8/fused-RELU6", "ok"),
        ],
    },
    Finding {
        statement: "int8 FULLY_CONNECTED and int8 TRANSPOSE load and are rejected when run (`FullyConnected: unsupported data type`, `Transpose: unsupported data type`); so are int8 BATCH_MATMUL, MAX_POOL_2D, GATHER and STRIDED_SLICE. int8 MEAN, LOGISTIC, TANH, RELU and RELU6 are rejected at prepare. int8 weights with a non-zero zero point are rejected at load (`OperationValidator failed`).",
        seen: &[
            says(
                "FULLY_CONNECTED/int8/per-tensor",
                "rejected at run",
                "FullyConnected: unsupported data type",
            ),
            says(
                "TRANSPOSE/int8/per-tensor",
                "rejected at run",
                "Transpose: unsupported data type",
            ),
            cell("BATCH_MATMUL/int8/per-tensor", "rejected at run"),
            cell("MAX_POOL_2D/int8/per-tensor", "rejected at run"),
            cell("GATHER/int8/per-tensor", "rejected at run"),
            cell("MEAN/int8/per-tensor", "rejected at prepare"),
            cell("LOGISTIC/int8/per-tensor", "rejected at prepare"),
            cell("TANH/int8/per-tensor", "rejected at prepare"),
            says(
                "CONV_2D/int8/per-channel-zp",
                "rejected at load",
                "OperationValidator failed",
            ),
            says(
                "DEPTHWISE_CONV_2D/int8/per-channel-zp",
                "rejected at load",
                "OperationValidator failed",
            ),
        ],
    },
    Finding {
        statement: "QUANTIZE from float32 to int8 (the input of a float-I/O model) computes wrong, with no error: the result is clamped to [0, 255], the uint8 range, and stored into int8 (negative values become 0, values above 127 wrap). DEQUANTIZE from int8 is right; both are right for uint8.",
        seen: &[
            wrong("QUANTIZE/int8/per-tensor", UINT8_CLAMP),
            cell("QUANTIZE/uint8/per-tensor", "ok"),
            cell("DEQUANTIZE/int8/per-tensor", "ok"),
            cell("DEQUANTIZE/uint8/per-tensor", "ok"),
        ],
    },
    Finding {
        statement: "No int16 model runs. The API refuses int16 graph inputs and outputs (`nnfw_session::input_tensorinfo : Error: Model has type that runtime API does not support.`; `set_input` prints it and carries on), QUANTIZE and DEQUANTIZE to and from int16 fail the validator at load, and the kernels reject int16 anyway: CONV_2D, FULLY_CONNECTED and the others at run, ADD, SUB, MUL, MEAN, the pools, LOGISTIC and TANH at prepare, RELU, SOFTMAX and BATCH_MATMUL at load.",
        seen: &[
            says(
                "CONV_2D/int16/per-tensor",
                "rejected at input",
                "runtime API does not support",
            ),
            says(
                "CONV_2D/int16/per-tensor",
                "rejected at input",
                "Conv: unsupported data type",
            ),
            says(
                "FULLY_CONNECTED/int16/per-tensor",
                "rejected at input",
                "FullyConnected: unsupported data type",
            ),
            cell("RESHAPE/int16/per-tensor", "rejected at input"),
            cell("QUANTIZE/int16/per-tensor", "rejected at load"),
            cell("DEQUANTIZE/int16/per-tensor", "rejected at load"),
            cell("ADD/int16/per-tensor", "rejected at prepare"),
            cell("SOFTMAX/int16/per-tensor", "rejected at load"),
        ],
    },
    Finding {
        statement: "Operators that move values, with output parameters other than the input's: uint8 TRANSPOSE loads and is rejected when run (`TransposeLayer : qassym8 input and output offsets unmatched`, or `scales unmatched` when only the scale differs), not at load; PAD is rejected at load; CONCATENATION requantizes correctly in uint8 and is rejected at load in int8; RESHAPE, MAX_POOL_2D and GATHER run and copy the bytes, which is wrong with no error.",
        seen: &[
            says(
                "TRANSPOSE/uint8/other-out-params",
                "rejected at run",
                "offsets unmatched",
            ),
            says(
                "TRANSPOSE/uint8/other-out-scale",
                "rejected at run",
                "scales unmatched",
            ),
            cell("PAD/uint8/other-out-params", "rejected at load"),
            cell("CONCATENATION/uint8/other-out-params", "ok"),
            cell("CONCATENATION/uint8/mixed-in-params", "ok"),
            cell("CONCATENATION/int8/mixed-in-params", "rejected at load"),
            wrong("RESHAPE/uint8/other-out-params", BYTES_COPIED),
            wrong("MAX_POOL_2D/uint8/other-out-params", BYTES_COPIED),
            wrong("GATHER/uint8/other-out-params", BYTES_COPIED),
            wrong("RESHAPE/int8/other-out-params", BYTES_COPIED),
        ],
    },
    Finding {
        statement: "SOFTMAX, LOGISTIC and TANH need not have TFLite's fixed output parameters: in uint8 (and int8 SOFTMAX) output parameters calibrated from the data give the right output too.",
        seen: &[
            cell("SOFTMAX/uint8/calibrated-out", "ok"),
            cell("LOGISTIC/uint8/calibrated-out", "ok"),
            cell("TANH/uint8/calibrated-out", "ok"),
            cell("SOFTMAX/int8/calibrated-out", "ok"),
            cell("SOFTMAX/uint8/per-tensor", "ok"),
            cell("LOGISTIC/uint8/per-tensor", "ok"),
            cell("TANH/uint8/per-tensor", "ok"),
        ],
    },
    Finding {
        statement: "The encoder fixture's operators STRIDED_SLICE (run), RSQRT (prepare) and BATCH_MATMUL (run) are rejected quantized in uint8 and int8, so a fully quantized encoder does not run.",
        seen: &[
            cell("STRIDED_SLICE/uint8/per-tensor", "rejected at run"),
            cell("STRIDED_SLICE/int8/per-tensor", "rejected at run"),
            cell("RSQRT/uint8/per-tensor", "rejected at prepare"),
            cell("RSQRT/int8/per-tensor", "rejected at prepare"),
            says(
                "BATCH_MATMUL/uint8/per-tensor",
                "rejected at run",
                "BatchMatMul: unsupported data type",
            ),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::super::matrix::matrix;
    use super::*;

    #[test]
    fn every_finding_holds_in_the_matrix() {
        let m = matrix();
        let broken: Vec<String> = FINDINGS
            .iter()
            .flat_map(|f| f.seen.iter())
            .filter_map(|s| s.contradicted(&m))
            .collect();
        assert!(
            broken.is_empty(),
            "findings the measurement contradicts (rewrite them):\n{}",
            broken.join("\n")
        );
    }
}
