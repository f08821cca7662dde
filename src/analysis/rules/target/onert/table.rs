//! What onert 0.1.0 (its CPU backend) does with each quantized operator,
//! as measured: the one table the Q8xx rules look facts up in and
//! docs/targets.md lists. Cell ids are those of
//! `tests/interop/onert_matrix.py`, whose results are in `matrix.json`
//! beside this file; a test holds every fact to its cells there. A `says`
//! is onert's message as it printed it, runs of spaces collapsed.

use crate::analysis::rules::target::support::{
    Does::{self, *},
    Evidence::{self, *},
    Fact, Inputs, Operand,
    Stage::{self, *},
    Support, WeightDoes, WeightFact,
};
use crate::model::fb::BuiltinOperator as Op;
use crate::packed::Packing::{self, GgmlQ4_0, GgmlQ8_0, Int4, Uint4};
use crate::qparam::QDType::{self, I16, I32, I64, I8, U8};

pub static ONERT: Support = Support {
    runtime: "onert 0.1.0",
    facts: FACTS,
    weights: WEIGHTS,
};

/// One operator at a time on onert, outside the matrix, for the
/// operators tico's and the ONNX converters' models have beyond it.
const BY_HAND: Evidence =
    Outside("one operator on onert, outside the matrix (the check side is in tests/target.rs)");

/// SPLIT alone on onert, uint8 and int8.
const SPLIT_RUN: Evidence = Outside(
    "one SPLIT on onert: tests/interop/test_target_onert.py::test_split_runs_on_uint8_only",
);

/// GELU and ELU alone on onert, quantized and in float.
const QUANTIZED_ACTIVATION: Evidence = Outside(
    "one operator on onert: tests/interop/test_target_onert.py::test_quantized_gelu_and_elu_are_refused_at_load",
);

/// An operator alone, in float, on onert.
const CANNOT_RUN: Evidence = Outside(
    "one operator on onert, in float: tests/interop/test_target_onert.py::test_operators_onert_cannot_run_in_any_precision",
);

const VALIDATOR: &str = "OperationValidator failed";
const RELU_KERNEL: &str = "ElementwiseActivationLayer(ReLU): unsupported data type";
const BOTH: &[QDType] = &[U8, I8];

const fn no_kernel(stage: Stage, says: &'static str) -> Does {
    NoKernel { stage, says }
}

const fn requantizing(stage: Stage, inputs: Inputs, says: &'static str) -> Does {
    RefusesRequantizing {
        stage,
        says,
        inputs,
    }
}

const FACTS: &[Fact] = &[
    // What runs right, by the type the operator reads.
    Fact::on(Op::CONV_2D, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::DEPTHWISE_CONV_2D, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::FULLY_CONNECTED, &[U8], RunsRight, MatrixRow),
    Fact::on(Op::ADD, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::SUB, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::MUL, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::MEAN, &[U8], RunsRight, Cells(&["MEAN/uint8/per-tensor", "MEAN/uint8/last-axis"])),
    Fact::on(
        Op::SOFTMAX,
        BOTH,
        RunsRight,
        Cells(&[
            "SOFTMAX/uint8/per-tensor",
            "SOFTMAX/int8/per-tensor",
            "SOFTMAX/uint8/calibrated-out",
            "SOFTMAX/int8/calibrated-out",
        ]),
    ),
    Fact::on(
        Op::LOGISTIC,
        &[U8],
        RunsRight,
        Cells(&["LOGISTIC/uint8/per-tensor", "LOGISTIC/uint8/calibrated-out"]),
    ),
    Fact::on(
        Op::TANH,
        &[U8],
        RunsRight,
        Cells(&["TANH/uint8/per-tensor", "TANH/uint8/calibrated-out"]),
    ),
    Fact::on(Op::RESHAPE, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::TRANSPOSE, &[U8], RunsRight, MatrixRow),
    Fact::on(
        Op::CONCATENATION,
        BOTH,
        RunsRight,
        Cells(&[
            "CONCATENATION/uint8/per-tensor",
            "CONCATENATION/int8/per-tensor",
            // uint8 requantizes its inputs right.
            "CONCATENATION/uint8/other-out-params",
            "CONCATENATION/uint8/mixed-in-params",
        ]),
    ),
    Fact::on(Op::PAD, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::PADV2, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::MAX_POOL_2D, &[U8], RunsRight, MatrixRow),
    Fact::on(Op::AVERAGE_POOL_2D, BOTH, RunsRight, MatrixRow),
    Fact::on(Op::GATHER, &[U8], RunsRight, MatrixRow),
    Fact::on(Op::SQUEEZE, &[U8], RunsRight, BY_HAND),
    Fact::on(Op::EXPAND_DIMS, &[U8], RunsRight, BY_HAND),
    Fact::on(Op::SLICE, &[U8], RunsRight, BY_HAND),
    Fact::on(Op::QUANTIZE, &[U8], RunsRight, MatrixRow),
    Fact::on(Op::DEQUANTIZE, BOTH, RunsRight, MatrixRow),
    // No kernel.
    Fact::on(
        Op::RELU,
        BOTH,
        no_kernel(Prepare, RELU_KERNEL),
        Cells(&[
            "RELU/uint8/per-tensor",
            "RELU/uint8/same-params",
            "RELU/int8/per-tensor",
            "RELU/int8/same-params",
        ]),
    ),
    Fact::on(
        Op::RELU6,
        BOTH,
        no_kernel(Prepare, RELU_KERNEL),
        MatrixRow,
    ),
    Fact::on(
        Op::RSQRT,
        BOTH,
        no_kernel(Prepare, "RSqrt: Unsupported data type"),
        MatrixRow,
    ),
    Fact::on(
        Op::BATCH_MATMUL,
        BOTH,
        no_kernel(Run, "BatchMatMul: unsupported data type"),
        MatrixRow,
    ),
    Fact::on(
        Op::STRIDED_SLICE,
        BOTH,
        no_kernel(Run, "StridedSlice: unsupported data type"),
        Cells(&[
            "STRIDED_SLICE/uint8/per-tensor",
            "STRIDED_SLICE/int8/per-tensor",
            "STRIDED_SLICE/uint8/other-out-params",
        ]),
    ),
    Fact::on(
        Op::FULLY_CONNECTED,
        &[I8],
        no_kernel(Run, "FullyConnected: unsupported data type"),
        Cells(&[
            "FULLY_CONNECTED/int8/per-tensor",
            "FULLY_CONNECTED/int8/per-channel",
            "FULLY_CONNECTED/int8/fused-RELU",
        ]),
    ),
    Fact::on(
        Op::TRANSPOSE,
        &[I8],
        no_kernel(Run, "Transpose: unsupported data type"),
        MatrixRow,
    ),
    Fact::on(
        Op::MAX_POOL_2D,
        &[I8],
        no_kernel(Run, "cker::MaxPool : Unsupported data type"),
        MatrixRow,
    ),
    Fact::on(
        Op::GATHER,
        &[I8],
        no_kernel(Run, "Gather: unsupported input data type"),
        MatrixRow,
    ),
    Fact::on(
        Op::MEAN,
        &[I8],
        no_kernel(Prepare, "Mean: unsupported data type"),
        Cells(&["MEAN/int8/per-tensor", "MEAN/int8/last-axis"]),
    ),
    Fact::on(
        Op::LOGISTIC,
        &[I8],
        no_kernel(Prepare, "ElementwiseActivationLayer(Logistic): unsupported data type"),
        Cells(&["LOGISTIC/int8/per-tensor", "LOGISTIC/int8/calibrated-out"]),
    ),
    Fact::on(
        Op::TANH,
        &[I8],
        no_kernel(Prepare, "ElementwiseActivationLayer(Tanh): unsupported data type"),
        Cells(&["TANH/int8/per-tensor", "TANH/int8/calibrated-out"]),
    ),
    Fact::on(
        Op::DIV,
        BOTH,
        no_kernel(Prepare, "Div operation does not support non-float data types yet"),
        BY_HAND,
    ),
    Fact::on(Op::SQRT, BOTH, no_kernel(Prepare, "unsupported data type"), BY_HAND),
    Fact::on(Op::EXP, BOTH, no_kernel(Prepare, "unsupported data type"), BY_HAND),
    Fact::on(Op::ABS, BOTH, no_kernel(Prepare, "unsupported data type"), BY_HAND),
    Fact::on(Op::NEG, BOTH, no_kernel(Prepare, "unsupported data type"), BY_HAND),
    Fact::on(
        Op::LEAKY_RELU,
        BOTH,
        no_kernel(Prepare, "ElementwiseActivationLayer(LeakyReLU): unsupported data type"),
        BY_HAND,
    ),
    Fact::on(Op::SLICE, &[I8], no_kernel(Run, "Slice: unsupported data type"), BY_HAND),
    // Activations tico keeps as they are (GELU in transformers, ELU in a
    // 1-D net): refused quantized when the model loads; they run in float.
    Fact::on(Op::GELU, BOTH, no_kernel(Load, VALIDATOR), QUANTIZED_ACTIVATION),
    Fact::on(Op::ELU, BOTH, no_kernel(Load, VALIDATOR), QUANTIZED_ACTIVATION),
    // The one-way SPLIT an ONNX -> TF conversion puts before each
    // convolution.
    Fact::on(Op::SPLIT, &[U8], RunsRight, SPLIT_RUN),
    Fact::on(Op::SPLIT, &[I8], no_kernel(Run, "Split: unsupported input type"), SPLIT_RUN),
    // Operators onert cannot run in any precision, float included: a model
    // with one does not run, however it is quantized.
    Fact::every_type(
        Op::SPARSE_TO_DENSE,
        Unsupported {
            stage: Load,
            says: "Unsupported operation: SPARSE_TO_DENSE",
        },
        CANNOT_RUN,
    ),
    Fact::every_type(
        Op::CUSTOM,
        Unsupported {
            stage: Load,
            says: "the loader crashes (SIGSEGV)",
        },
        Outside("one CUSTOM operator (TensorFlow's `AddV2` on int64, as an ONNX -> TF conversion leaves it) on onert; other custom codes taken to fare the same: tests/interop/test_target_onert.py::test_operators_onert_cannot_run_in_any_precision"),
    ),
    Fact::every_type(
        Op::HARD_SWISH,
        Unsupported {
            stage: Load,
            says: "Unsupported operation: HARD_SWISH",
        },
        CANNOT_RUN,
    ),
    Fact::every_type(
        Op::PRELU,
        Unsupported {
            stage: Prepare,
            says: "KernelGenerator: NYI for operation 'PReLU'",
        },
        CANNOT_RUN,
    ),
    Fact::every_type(
        Op::RESIZE_NEAREST_NEIGHBOR,
        Unsupported {
            stage: Prepare,
            says: "KernelGenerator: NYI for operation 'ResizeNearestNeighbor'",
        },
        CANNOT_RUN,
    ),
    // The DEQUANTIZE mixed precision inserts for a bias that keeps its
    // entry while its layer runs in float.
    Fact::on(
        Op::DEQUANTIZE,
        &[I32],
        no_kernel(Load, VALIDATOR),
        Outside("tests/interop/test_target_onert.py::test_a_dequantized_int32_bias_is_rejected_at_load"),
    ),
    Fact::on(
        Op::DEQUANTIZE,
        &[I64],
        no_kernel(Load, VALIDATOR),
        Assumed("not measured: taken to be refused as int32 is"),
    ),
    // No int16 model runs: the API refuses int16 inputs and outputs, the
    // validator int16 conversions, the kernels int16 tensors.
    Fact::every_operator(
        &[I16],
        RefusesType,
        Cells(&[
            "CONV_2D/int16/per-tensor",
            "FULLY_CONNECTED/int16/per-tensor",
            "RESHAPE/int16/per-tensor",
            "QUANTIZE/int16/per-tensor",
            "DEQUANTIZE/int16/per-tensor",
            "ADD/int16/per-tensor",
            "SOFTMAX/int16/per-tensor",
        ]),
    ),
    // Per-channel parameters read as channel 0's.
    Fact::on(
        Op::FULLY_CONNECTED,
        &[U8],
        IgnoresPerChannel(Operand::Weight),
        Cells(&[
            "FULLY_CONNECTED/uint8/per-channel",
            "FULLY_CONNECTED/uint8/per-channel-zp",
            "FULLY_CONNECTED/uint8/per-channel/scales-vary",
            "FULLY_CONNECTED/uint8/per-channel/zps-vary",
        ]),
    ),
    Fact::every_type(
        Op::ADD,
        IgnoresPerChannel(Operand::Constant),
        Cells(&[
            "ADD/uint8/const-per-channel",
            "ADD/uint8/const-per-channel-zp",
            "ADD/int8/const-per-channel",
            "ADD/int8/const-per-channel-zp",
        ]),
    ),
    Fact::every_type(
        Op::MUL,
        IgnoresPerChannel(Operand::Constant),
        Cells(&[
            "MUL/uint8/const-per-channel",
            "MUL/uint8/const-per-channel-zp",
            "MUL/int8/const-per-channel",
            "MUL/int8/const-per-channel-zp",
        ]),
    ),
    Fact::every_type(Op::SUB, IgnoresPerChannel(Operand::Constant), BY_HAND),
    Fact::every_type(
        Op::DEQUANTIZE,
        IgnoresPerChannel(Operand::Input),
        Outside("a DEQUANTIZE of per-channel weights, as mixed precision inserts it, on onert"),
    ),
    // Operators that move values, with output parameters other than their
    // input's.
    Fact::every_type(
        Op::RESHAPE,
        CopiesBytes,
        Cells(&["RESHAPE/uint8/other-out-params", "RESHAPE/int8/other-out-params"]),
    ),
    Fact::every_type(Op::MAX_POOL_2D, CopiesBytes, Cells(&["MAX_POOL_2D/uint8/other-out-params"])),
    Fact::every_type(
        Op::AVERAGE_POOL_2D,
        CopiesBytes,
        Cells(&[
            "AVERAGE_POOL_2D/uint8/other-out-params",
            "AVERAGE_POOL_2D/int8/other-out-params",
        ]),
    ),
    Fact::every_type(Op::GATHER, CopiesBytes, Cells(&["GATHER/uint8/other-out-params"])),
    Fact::every_type(Op::SQUEEZE, CopiesBytes, BY_HAND),
    Fact::every_type(Op::EXPAND_DIMS, CopiesBytes, BY_HAND),
    Fact::every_type(Op::SLICE, CopiesBytes, BY_HAND),
    Fact::every_type(
        Op::TRANSPOSE,
        requantizing(Run, Inputs::Value, "qassym8 input and output offsets unmatched"),
        Cells(&["TRANSPOSE/uint8/other-out-params"]),
    ),
    Fact::every_type(
        Op::PAD,
        requantizing(Load, Inputs::Value, VALIDATOR),
        Cells(&["PAD/uint8/other-out-params", "PAD/int8/other-out-params"]),
    ),
    Fact::every_type(
        Op::PADV2,
        requantizing(Load, Inputs::Value, VALIDATOR),
        Cells(&["PADV2/uint8/other-out-params", "PADV2/int8/other-out-params"]),
    ),
    Fact::on(
        Op::CONCATENATION,
        &[I8],
        requantizing(Load, Inputs::Every, VALIDATOR),
        Cells(&[
            "CONCATENATION/int8/other-out-params",
            "CONCATENATION/int8/mixed-in-params",
        ]),
    ),
    // Computed wrong, or refused, for what the parameters are.
    Fact::on(
        Op::QUANTIZE,
        &[I8],
        ComputesWrong("quantizes into int8 as if into uint8 ([0, 255], stored as int8: the model runs, with wrong results)"),
        MatrixRow,
    ),
    Fact::on(
        Op::CONV_2D,
        &[I8],
        RefusesWeightZeroPoint {
            stage: Load,
            says: VALIDATOR,
        },
        Cells(&["CONV_2D/int8/per-channel-zp"]),
    ),
    Fact::on(
        Op::DEPTHWISE_CONV_2D,
        &[I8],
        RefusesWeightZeroPoint {
            stage: Load,
            says: VALIDATOR,
        },
        Cells(&["DEPTHWISE_CONV_2D/int8/per-channel-zp"]),
    ),
    Fact::every_type(
        Op::CONV_2D,
        ReadsWeightsAsInputType,
        Outside("tests/interop/test_target_onert.py::test_uint8_activations_with_int8_weights_compute_wrong"),
    ),
    Fact::every_type(
        Op::FULLY_CONNECTED,
        ReadsWeightsAsInputType,
        Outside("tests/interop/test_target_onert.py::test_uint8_activations_with_int8_weights_compute_wrong"),
    ),
    Fact::every_type(
        Op::DEPTHWISE_CONV_2D,
        ReadsWeightsAsInputType,
        Assumed("not measured: taken to read its weights as CONV_2D does"),
    ),
];

const GGML: &[Packing] = &[GgmlQ4_0, GgmlQ8_0];
const NIBBLES: &[Packing] = &[Int4, Uint4];
const UNSUPPORTED_TYPE: &str = "Unsupported tensor type";
const GGML_BIAS: &str = "GGML weights format does not support bias yet";

/// Operators reading packed weights under float activations (weight-only
/// quantization), measured one operator at a time: the `weight-only`
/// cells of the matrix.
const WEIGHTS: &[WeightFact] = &[
    WeightFact::new(
        Op::FULLY_CONNECTED,
        GGML,
        WeightDoes::RunsRight,
        Cells(&[
            "FULLY_CONNECTED/ggml_q4_0/weight-only",
            "FULLY_CONNECTED/ggml_q8_0/weight-only",
            // More than one input row: every row right.
            "FULLY_CONNECTED/ggml_q4_0/rows-8",
            "FULLY_CONNECTED/ggml_q8_0/rows-8",
            "FULLY_CONNECTED/ggml_q4_0/rows-8-k256",
        ]),
    ),
    WeightFact::new(
        Op::FULLY_CONNECTED,
        GGML,
        WeightDoes::RefusesBias {
            stage: Run,
            says: GGML_BIAS,
        },
        Cells(&[
            "FULLY_CONNECTED/ggml_q4_0/bias",
            "FULLY_CONNECTED/ggml_q8_0/bias",
        ]),
    ),
    WeightFact::new(
        Op::GATHER,
        &[GgmlQ4_0],
        WeightDoes::RunsRight,
        Cells(&["GATHER/ggml_q4_0/weight-only"]),
    ),
    WeightFact::new(
        Op::GATHER,
        &[GgmlQ4_0],
        WeightDoes::WrongWithIndicesOfRank2(
            "fills only the first group of indices: the rest of the output is not the table's rows",
        ),
        Cells(&["GATHER/ggml_q4_0/indices-rank-2"]),
    ),
    WeightFact::new(
        Op::GATHER,
        &[GgmlQ8_0],
        WeightDoes::Refuses {
            stage: Run,
            says: "Gather: unsupported input data type",
        },
        Cells(&["GATHER/ggml_q8_0/weight-only"]),
    ),
    WeightFact::new(
        Op::BATCH_MATMUL,
        GGML,
        WeightDoes::Refuses {
            stage: Load,
            says: VALIDATOR,
        },
        Cells(&[
            "BATCH_MATMUL/ggml_q4_0/weight-only",
            "BATCH_MATMUL/ggml_q8_0/weight-only",
        ]),
    ),
    WeightFact::new(
        Op::FULLY_CONNECTED,
        NIBBLES,
        WeightDoes::Refuses {
            stage: Load,
            says: UNSUPPORTED_TYPE,
        },
        Cells(&[
            "FULLY_CONNECTED/int4/weight-only",
            "FULLY_CONNECTED/uint4/weight-only",
        ]),
    ),
    WeightFact::new(
        Op::GATHER,
        NIBBLES,
        WeightDoes::Refuses {
            stage: Load,
            says: UNSUPPORTED_TYPE,
        },
        Cells(&["GATHER/int4/weight-only", "GATHER/uint4/weight-only"]),
    ),
    WeightFact::new(
        Op::BATCH_MATMUL,
        NIBBLES,
        WeightDoes::Refuses {
            stage: Load,
            says: UNSUPPORTED_TYPE,
        },
        Cells(&[
            "BATCH_MATMUL/int4/weight-only",
            "BATCH_MATMUL/uint4/weight-only",
        ]),
    ),
];

#[cfg(test)]
mod tests {
    use super::super::matrix::{
        matrix, Cell, BYTES_COPIED, FIRST_CHANNEL, FIRST_GROUP_ONLY, NOT_ROUNDED,
    };
    use super::*;
    use crate::graph::OpCode;

    /// Why `cell` does not show what `fact` says, if it does not.
    fn contradiction(fact: &Fact, cell: &Cell) -> Option<String> {
        let rejected_at = |stage: Stage| format!("rejected at {}", stage.name());
        let shows = match fact.does {
            RunsRight => cell.verdict == "ok",
            NoKernel { stage, says }
            | RefusesWeightZeroPoint { stage, says }
            | RefusesRequantizing { stage, says, .. } => {
                cell.verdict == rejected_at(stage) && cell.says(says)
            }
            RefusesType => cell.verdict.starts_with("rejected"),
            IgnoresPerChannel(_) => {
                cell.verdict == "wrong" && cell.matches.iter().any(|m| m == FIRST_CHANNEL)
            }
            CopiesBytes => {
                cell.verdict == "wrong" && cell.matches.iter().any(|m| m == BYTES_COPIED)
            }
            ComputesWrong(_) | ReadsWeightsAsInputType => cell.verdict == "wrong",
            Unsupported { stage, says } => cell.verdict == rejected_at(stage) && cell.says(says),
        };
        let op_fits = fact
            .op
            .is_none_or(|o| o.variant_name() == Some(cell.op.as_str()));
        let type_fits = fact
            .on
            .is_none_or(|types| types.iter().any(|t| t.name() == cell.scheme));
        (!(shows && op_fits && type_fits)).then(|| {
            format!(
                "{:?} on {:?}: {:?}, but `{}` is {} ({:?}, {:?})",
                fact.op, fact.on, fact.does, cell.id, cell.verdict, cell.messages, cell.matches
            )
        })
    }

    #[test]
    fn every_fact_stands_on_its_cells() {
        let m = matrix();
        let mut wrong = Vec::new();
        for fact in ONERT.facts {
            let ids = fact.cells();
            if matches!(fact.evidence, Evidence::Outside(_) | Evidence::Assumed(_)) {
                continue;
            }
            assert!(!ids.is_empty(), "{fact:?} cites no cell");
            for id in &ids {
                match m.cells.iter().find(|c| c.id == *id) {
                    None => wrong.push(format!("`{id}` was not measured")),
                    Some(cell) => wrong.extend(contradiction(fact, cell)),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// The matrix's own rows in uint8 and int8, per tensor, each have a fact
    /// for what onert did: runs right, no kernel, or (QUANTIZE into int8)
    /// computes wrong; and every cell of a refused type was refused.
    #[test]
    fn the_table_has_every_measured_operator_and_type() {
        let m = matrix();
        let mut missing = Vec::new();
        for cell in m.cells.iter().filter(|c| c.group == "matrix") {
            let (Some(op), Some(ty)) = (
                Op::ENUM_VALUES
                    .iter()
                    .copied()
                    .find(|o| o.variant_name() == Some(cell.op.as_str())),
                QDType::parse(&cell.scheme),
            ) else {
                missing.push(format!("`{}` names no operator or type", cell.id));
                continue;
            };
            let opcode = OpCode::Builtin(op);
            if ONERT.refuses_type(ty) {
                if !cell.verdict.starts_with("rejected") {
                    missing.push(format!("`{}` ran, though its type is refused", cell.id));
                }
                continue;
            }
            if cell.granularity != "per-tensor" {
                continue;
            }
            let stated = ONERT.runs_right(&opcode, ty)
                || ONERT.no_kernel(&opcode, ty).is_some()
                || ONERT.computes_wrong(&opcode, ty).is_some();
            if !stated {
                missing.push(format!("`{}` ({}) has no fact", cell.id, cell.verdict));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    /// Why `cell` does not show what weight fact `fact` says, if it does not.
    fn weight_contradiction(fact: &WeightFact, cell: &Cell) -> Option<String> {
        let rejected_at = |stage: Stage| format!("rejected at {}", stage.name());
        let shows = match fact.does {
            WeightDoes::RunsRight => cell.verdict == "ok",
            WeightDoes::Refuses { stage, says } | WeightDoes::RefusesBias { stage, says } => {
                cell.verdict == rejected_at(stage) && cell.says(says)
            }
            WeightDoes::WrongWithIndicesOfRank2(_) => {
                cell.verdict == "wrong" && cell.matches.iter().any(|m| m == FIRST_GROUP_ONLY)
            }
        };
        let fits = fact.op.variant_name() == Some(cell.op.as_str())
            && fact
                .formats
                .iter()
                .any(|p| p.name().eq_ignore_ascii_case(&cell.scheme));
        (!(shows && fits)).then(|| {
            format!(
                "{:?} with {:?}: {:?}, but `{}` is {} ({:?}, {:?})",
                fact.op,
                fact.formats,
                fact.does,
                cell.id,
                cell.verdict,
                cell.messages,
                cell.matches
            )
        })
    }

    #[test]
    fn every_weight_fact_stands_on_its_cells() {
        let m = matrix();
        let mut wrong = Vec::new();
        for fact in ONERT.weights {
            let ids = fact.cells();
            assert!(!ids.is_empty(), "{fact:?} cites no cell");
            for id in &ids {
                match m.cells.iter().find(|c| c.id == *id) {
                    None => wrong.push(format!("`{id}` was not measured")),
                    Some(cell) => wrong.extend(weight_contradiction(fact, cell)),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// onert's GGML FULLY_CONNECTED is ggml's: its output is the rounded
    /// input's product, which the unrounded one is not.
    #[test]
    fn ggml_inputs_are_rounded_to_q8_0_blocks() {
        let m = matrix();
        let fc: Vec<&Cell> = m
            .cells
            .iter()
            .filter(|c| {
                c.op == "FULLY_CONNECTED" && c.scheme.starts_with("ggml") && c.verdict == "ok"
            })
            .collect();
        assert!(fc.len() >= 4);
        for c in fc {
            assert!(!c.matches.iter().any(|h| h == NOT_ROUNDED), "{}", c.id);
        }
    }

    /// Every weight-only cell of a format q-implant writes has a fact for
    /// its operator and format.
    #[test]
    fn the_weight_table_has_every_measured_format() {
        let m = matrix();
        let mut missing = Vec::new();
        for cell in m.cells.iter().filter(|c| c.tag() == "weight-only") {
            let (Some(op), Some(packing)) = (
                Op::ENUM_VALUES
                    .iter()
                    .copied()
                    .find(|o| o.variant_name() == Some(cell.op.as_str())),
                Packing::ALL
                    .into_iter()
                    .find(|p| p.name().eq_ignore_ascii_case(&cell.scheme)),
            ) else {
                continue;
            };
            let opcode = OpCode::Builtin(op);
            if !ONERT.runs_with_weights(&opcode, packing)
                && ONERT.refuses_weights(&opcode, packing).is_none()
            {
                missing.push(format!("`{}` ({}) has no fact", cell.id, cell.verdict));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn lookups_read_the_rows() {
        let fc = OpCode::Builtin(Op::FULLY_CONNECTED);
        assert!(ONERT.runs_right(&fc, QDType::U8));
        assert_eq!(
            ONERT.no_kernel(&fc, QDType::I8),
            Some((Run, "FullyConnected: unsupported data type"))
        );
        assert_eq!(
            ONERT.ignores_per_channel(&fc, Some(QDType::U8)),
            Some(Operand::Weight)
        );
        assert_eq!(ONERT.ignores_per_channel(&fc, Some(QDType::I8)), None);
        // A fact for every type holds for an operand of unknown type too.
        let add = OpCode::Builtin(Op::ADD);
        assert_eq!(
            ONERT.ignores_per_channel(&add, None),
            Some(Operand::Constant)
        );
        assert_eq!(ONERT.refused_types().collect::<Vec<_>>(), [QDType::I16]);
        assert!(!ONERT.runs_right(&OpCode::Custom("X".into()), QDType::U8));
    }
}
