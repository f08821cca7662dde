//! The plan: what the analysis concluded may be written, as data. `apply`
//! consumes only this: the tensor writes (each entry's target tensors and
//! the fills propagation adds), the conversions inserted where float and
//! quantized tensors meet, and the gate (every finding's code and
//! severity, whatever a report shows).

use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Severity};
use crate::files::DataSource;
use crate::graph::TensorId;
use crate::packed::{Packing, GGML_BLOCK};
use crate::qparam::QDType;

/// Quantization parameters as they will be stored on a tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    pub dtype: QDType,
    /// One per channel, or for block-wise parameters one per block (the
    /// blocks of each row in turn).
    pub scale: Arc<[f32]>,
    pub zero_point: Arc<[i64]>,
    pub quantized_dimension: u32,
    /// Values per block along the last axis, for block-wise parameters.
    pub block_size: Option<u32>,
}

impl QuantParams {
    /// The packed format the tensor is stored in, for block-wise and
    /// 4-bit parameters: blocks of 32 symmetric int4 or int8 values are
    /// GGML_Q4_0 or GGML_Q8_0 (the scales go into the data), int4 and uint4
    /// per tensor or channel INT4 and UINT4. `None` for a type stored a
    /// value an element, and for block-wise parameters no type holds.
    pub fn packing(&self) -> Option<Packing> {
        let symmetric = self.zero_point.iter().all(|&z| z == 0);
        match (self.block_size, self.dtype) {
            (Some(b), QDType::I4) if b as usize == GGML_BLOCK && symmetric => {
                Some(Packing::GgmlQ4_0)
            }
            (Some(b), QDType::I8) if b as usize == GGML_BLOCK && symmetric => {
                Some(Packing::GgmlQ8_0)
            }
            (None, QDType::I4) => Some(Packing::Int4),
            (None, QDType::U4) => Some(Packing::Uint4),
            _ => None,
        }
    }

    /// The tensor type the tensor is written with.
    pub fn tensor_type(&self) -> crate::model::fb::TensorType {
        self.packing()
            .map_or_else(|| self.dtype.tensor_type(), Packing::tensor_type)
    }
}

/// Why a tensor is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Its own entry.
    Entry { key: String },
    /// Copied through a value-preserving operator (`--propagate`).
    Propagated { from: String, op: String },
}

/// One tensor to retype.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorWrite {
    pub tensor: TensorId,
    pub name: String,
    pub params: QuantParams,
    /// The new constant data, for constants: exactly the element bytes of an
    /// npy file (or an array in memory), checked to hold the tensor's shape
    /// and dtype.
    pub value: Option<DataSource>,
    pub source: Source,
}

/// Which way a conversion goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// float32 in, quantized out.
    Quantize,
    /// quantized in, float32 out.
    Dequantize,
}

/// A QUANTIZE or DEQUANTIZE inserted where a float operator meets a
/// quantized tensor (mixed precision with `--allow-float`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// Operator `op` runs in float: it reads a float twin of the quantized
    /// `tensor`, made by a DEQUANTIZE.
    DequantizeInput {
        subgraph: usize,
        op: usize,
        tensor: usize,
    },
    /// Operator `op` runs in float but its output `tensor` is quantized: the
    /// operator writes a float twin, and a QUANTIZE writes `tensor` from it.
    QuantizeOutput {
        subgraph: usize,
        op: usize,
        tensor: usize,
    },
}

/// An operator that runs in float for want of a quantized kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloatOp {
    pub subgraph: usize,
    pub op: usize,
    /// The operator's name (`RELU`).
    pub operator: String,
    /// `RELU #5 (subgraph 0)`, for reports.
    pub what: String,
}

/// A bias moved off a layer into an ADD after it (`--target onert`: onert
/// refuses a bias on a FULLY_CONNECTED with GGML weights). The layer is
/// found by its weight when the model is edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BiasMove {
    pub subgraph: usize,
    /// The layer, in the model as read.
    pub op: usize,
    pub weight: usize,
    pub bias: usize,
}

/// What the analysis hands to `apply`.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub writes: Vec<TensorWrite>,
    pub conversions: Vec<Conversion>,
    /// Keep float graph inputs and outputs (`--float-io`).
    pub float_io: bool,
    /// Operators that run in float because the target has no quantized
    /// kernel for them (`--fallback float`); their conversions are among
    /// `conversions`.
    pub float_ops: Vec<FloatOp>,
    /// Biases moved to an ADD after their layer, for the target.
    pub bias_moves: Vec<BiasMove>,
    /// Every finding's code and severity, in analysis order.
    gate: Vec<(&'static str, Severity)>,
}

/// Why the plan may not be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The codes that refuse it, each with how many findings have it.
    pub codes: Vec<(&'static str, usize)>,
    pub errors: usize,
    pub warnings: usize,
}

impl Plan {
    pub fn new(
        writes: Vec<TensorWrite>,
        conversions: Vec<Conversion>,
        float_io: bool,
        findings: &[Diagnostic],
    ) -> Plan {
        Plan {
            writes,
            conversions,
            float_io,
            float_ops: Vec::new(),
            bias_moves: Vec::new(),
            gate: findings.iter().map(|d| (d.code(), d.severity)).collect(),
        }
    }

    /// Whether the plan may be written. Every error refuses it, whatever a
    /// report hides; a warning refuses it only with `deny_warnings`, and
    /// only if `waived` (what the user filtered out of the report) does not
    /// take it back.
    pub fn gate(&self, deny_warnings: bool, waived: impl Fn(&str) -> bool) -> Result<(), Refusal> {
        let mut refusal = Refusal {
            codes: Vec::new(),
            errors: 0,
            warnings: 0,
        };
        for &(code, severity) in &self.gate {
            let refuses = match severity {
                Severity::Error => true,
                Severity::Warning => deny_warnings && !waived(code),
            };
            if !refuses {
                continue;
            }
            match severity {
                Severity::Error => refusal.errors += 1,
                Severity::Warning => refusal.warnings += 1,
            }
            match refusal.codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => refusal.codes.push((code, 1)),
            }
        }
        refusal.codes.sort();
        if refusal.codes.is_empty() {
            Ok(())
        } else {
            Err(refusal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Rule;

    static E: Rule = Rule {
        code: "Q900",
        name: "e",
        severity: Severity::Error,
        summary: "",
        docs: "",
    };
    static W: Rule = Rule {
        code: "Q901",
        name: "w",
        severity: Severity::Warning,
        summary: "",
        docs: "",
    };

    #[test]
    fn errors_always_refuse_and_warnings_only_when_denied_and_shown() {
        let findings = [Diagnostic::new(&W, "w")];
        let plan = Plan::new(Vec::new(), Vec::new(), false, &findings);
        assert!(plan.gate(false, |_| false).is_ok());
        assert!(plan.gate(true, |_| false).is_err());
        assert!(plan.gate(true, |c| c == "Q901").is_ok());
        let findings = [Diagnostic::new(&E, "e"), Diagnostic::new(&E, "e")];
        let plan = Plan::new(Vec::new(), Vec::new(), false, &findings);
        let refusal = plan.gate(false, |_| true).unwrap_err();
        assert_eq!(refusal.codes, vec![("Q900", 2)]);
    }
}
