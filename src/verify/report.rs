//! The verify report: what quantization costs each tensor and each graph
//! output, and what could not be evaluated. `--format json` is a versioned
//! contract (docs/verify-json.md); the human and HTML forms read the same
//! value.

use serde::Serialize;

/// The version of the JSON document; a field removed or changed in meaning
/// raises it, a field added does not.
pub const VERSION: u32 = 1;

/// Values outside the represented range beyond this share point at a range
/// that is too small: calibrating at the 1st and 99th percentiles (ONE's
/// record-minmax default) clips up to 2% by design.
pub const CLIPPED_SHARE: f64 = 0.02;

/// An SQNR this much lower than the best of a tensor's inputs means the
/// error grows here, not upstream: 10 dB is ten times the error power
/// added in one step, where a layer quantized right adds a few dB.
pub const DROP_DB: f64 = 10.0;

/// A tensor at this SQNR or better is fine, whatever its steps or clipped
/// share say: its error is at most 1% of its signal, about what 8-bit
/// quantization of real data gives at best (a uniform signal ideally
/// reaches 50 dB). A 16-bit tensor's steps are so fine that a few dozen of
/// them are still far above it (70 dB and more).
pub const FINE_DB: f64 = 40.0;

/// An error beyond this many steps of the tensor's own scale is more than
/// rounding carried through a layer (a correct uint8 network stays within a
/// few steps at its outputs).
pub const LARGE_STEPS: f64 = 4.0;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub samples: usize,
    pub random_inputs: bool,
    pub tensors: Vec<TensorRow>,
    pub outputs: Vec<OutputRow>,
    pub unsupported: Vec<Unsupported>,
    pub pairing: PairingCount,
}

/// How many of the quantized model's activations found a float partner.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PairingCount {
    /// Those with a float partner of the same name and shape.
    pub paired: usize,
    /// Every activation (non-constant tensor) of the quantized model.
    pub activations: usize,
}

/// A model made from the reference pairs nearly every activation (`apply`
/// keeps every name and adds only the QUANTIZE and DEQUANTIZE it inserts);
/// fewer than this share paired means the reference is another network.
pub const MIN_PAIRED_SHARE: f64 = 0.5;

impl PairingCount {
    /// Few tensors in common: the reference is probably not the model the
    /// quantized one was made from.
    pub fn is_poor(&self) -> bool {
        (self.paired as f64) < MIN_PAIRED_SHARE * self.activations as f64
    }

    pub fn warning(&self) -> String {
        format!(
            "only {} of the quantized model's {} activations have a partner of the same name and shape in the float model: is the reference the model this one was made from? The figures compare unrelated tensors otherwise",
            self.paired, self.activations
        )
    }
}

/// One tensor, in the graph's order.
#[derive(Clone, Debug, Serialize)]
pub struct TensorRow {
    pub name: String,
    pub subgraph: usize,
    pub index: usize,
    /// The quantized model's type for it (`uint8`, `float32`, ...).
    pub dtype: String,
    pub sqnr_db: Option<f64>,
    pub max_error_steps: Option<f64>,
    pub clipped: Option<f64>,
    pub mpeir: Option<f64>,
    /// False when an operator it depends on could not be run.
    pub evaluated: bool,
    /// What probably makes this tensor bad, when something does.
    pub cause: Option<Cause>,
}

/// The likely reason a tensor is far from the float model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Many float values fall outside the range the parameters represent.
    Clipping,
    /// A large error that starts here without clipping: a scale too
    /// coarse, a wrong zero point, or a layout mix-up.
    LargeError,
}

impl Cause {
    pub fn explain(self) -> &'static str {
        match self {
            Cause::Clipping => "clipping: the range is too small for the values this tensor takes",
            Cause::LargeError => {
                "large error without clipping: the scale is too coarse, the zero point wrong, or the data in another layout"
            }
        }
    }
}

/// A graph output.
#[derive(Clone, Debug, Serialize)]
pub struct OutputRow {
    pub name: String,
    pub mae: Option<f64>,
    pub max_abs_error: Option<f64>,
    pub psnr_db: Option<f64>,
    pub sqnr_db: Option<f64>,
    pub top1: Option<f64>,
    pub top5: Option<f64>,
    /// False when a run could not compute it (an operator it depends on has
    /// no kernel here): its figures are then null, and it is not exact.
    pub evaluated: bool,
}

impl OutputRow {
    /// Both runs computed it and agree on every value.
    pub fn is_exact(&self) -> bool {
        self.evaluated && self.max_abs_error == Some(0.0)
    }

    /// Why it fails `--fail-under db`, if it does.
    pub fn shortfall(&self, db: f64) -> Option<Shortfall> {
        if !self.evaluated {
            return Some(Shortfall::NotEvaluated);
        }
        match self.sqnr_db {
            Some(s) if s < db => Some(Shortfall::Below(s)),
            Some(_) => None,
            None if self.is_exact() => None,
            None if self.max_abs_error.is_none() => Some(Shortfall::NothingFinite),
            None => Some(Shortfall::NoSignal),
        }
    }
}

/// Why an output fails `--fail-under`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shortfall {
    /// Its SQNR, below the bar.
    Below(f64),
    /// It was never computed, so nothing says it is good.
    NotEvaluated,
    /// The float output is 0 everywhere and the quantized one is not: an
    /// SQNR of minus infinity.
    NoSignal,
    /// Neither run gave a finite value to compare.
    NothingFinite,
}

impl Shortfall {
    pub fn explain(self) -> String {
        match self {
            Shortfall::Below(s) => format!("has an SQNR of {s:.1} dB"),
            Shortfall::NotEvaluated => {
                "was not evaluated (an operator it depends on could not run here), so nothing says it is good".to_string()
            }
            Shortfall::NoSignal => {
                "is 0 everywhere in the float run but not in the quantized run".to_string()
            }
            Shortfall::NothingFinite => "has no finite value to compare".to_string(),
        }
    }
}

/// An operator the interpreter has no kernel for.
#[derive(Clone, Debug, Serialize)]
pub struct Unsupported {
    pub operator: String,
    pub index: usize,
    pub subgraph: usize,
}

/// What makes `row` bad (nothing when its SQNR is [`FINE_DB`] or better),
/// given the best SQNR among the tensors it is
/// computed from (`None` for a graph input or when none is measured).
pub fn cause(row: &TensorRow, inputs_sqnr: Option<f64>) -> Option<Cause> {
    if row.sqnr_db.is_some_and(|s| s >= FINE_DB) {
        return None;
    }
    if row.clipped.is_some_and(|c| c > CLIPPED_SHARE) {
        return Some(Cause::Clipping);
    }
    let large = row.max_error_steps.is_some_and(|s| s > LARGE_STEPS);
    let drops = match (row.sqnr_db, inputs_sqnr) {
        (Some(here), Some(before)) => before - here >= DROP_DB,
        // Exact inputs, an error here.
        (Some(_), None) => true,
        (None, _) => false,
    };
    (large && drops).then_some(Cause::LargeError)
}

impl Report {
    /// The JSON document (docs/verify-json.md).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Evaluated tensors, worst first: the lowest SQNR first, exact ones
    /// (no SQNR) last, ties in the graph's order.
    pub fn worst_first(&self) -> Vec<&TensorRow> {
        let mut rows: Vec<&TensorRow> = self.tensors.iter().filter(|t| t.evaluated).collect();
        rows.sort_by(|a, b| {
            let key = |t: &TensorRow| t.sqnr_db.unwrap_or(f64::INFINITY);
            key(a)
                .total_cmp(&key(b))
                .then((a.subgraph, a.index).cmp(&(b.subgraph, b.index)))
        });
        rows
    }

    /// The outputs that fail `--fail-under db`, and why: an SQNR below it,
    /// or none that says the output is good (not evaluated, an error on a
    /// float output of zeros, nothing finite). An exact output passes.
    pub fn outputs_under(&self, db: f64) -> Vec<(&OutputRow, Shortfall)> {
        self.outputs
            .iter()
            .filter_map(|o| Some((o, o.shortfall(db)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sqnr: Option<f64>, steps: Option<f64>, clipped: Option<f64>) -> TensorRow {
        TensorRow {
            name: "t".into(),
            subgraph: 0,
            index: 0,
            dtype: "uint8".into(),
            sqnr_db: sqnr,
            max_error_steps: steps,
            clipped,
            mpeir: None,
            evaluated: true,
            cause: None,
        }
    }

    #[test]
    fn causes() {
        assert_eq!(
            cause(&row(Some(20.0), Some(1.0), Some(0.1)), Some(40.0)),
            Some(Cause::Clipping)
        );
        assert_eq!(
            cause(&row(Some(20.0), Some(9.0), Some(0.0)), Some(40.0)),
            Some(Cause::LargeError)
        );
        // The error came from upstream: no drop here.
        assert_eq!(
            cause(&row(Some(20.0), Some(9.0), Some(0.0)), Some(25.0)),
            None
        );
        assert_eq!(
            cause(&row(Some(35.0), Some(0.5), Some(0.0)), Some(40.0)),
            None
        );
    }

    #[test]
    fn a_tensor_that_is_fine_gets_no_cause() {
        // An int16 tensor: many fine steps off, 15 dB below its input, and
        // still at 70 dB.
        let mut int16 = row(Some(70.0), Some(40.0), Some(0.0));
        int16.dtype = "int16".into();
        assert_eq!(cause(&int16, Some(85.0)), None);
        assert_eq!(cause(&int16, None), None);
        // A little clipping at 45 dB costs nothing worth a hint.
        assert_eq!(cause(&row(Some(45.0), Some(1.0), Some(0.03)), None), None);
        // Below the level, the same figures still point at a cause.
        assert_eq!(
            cause(&row(Some(25.0), Some(40.0), Some(0.0)), Some(40.0)),
            Some(Cause::LargeError)
        );
    }
}
