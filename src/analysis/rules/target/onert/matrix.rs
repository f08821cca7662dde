//! onert's measured matrix, compiled in from `matrix.json` (written by
//! `tests/interop/onert_matrix.py --all`, trimmed of its logs): the cells
//! the support table cites, and what docs/targets.md tabulates.

use serde::Deserialize;

/// The names `tests/interop/onert_matrix.py` gives the hypotheses a wrong
/// output is checked against (a cell's `matches` lists those it equals).
pub const FIRST_CHANNEL: &str = "channel 0's scale and zero point used for every channel";
pub const BYTES_COPIED: &str = "the input's bytes copied, the output's parameters ignored";
pub const UINT8_CLAMP: &str = "clamped to [0, 255] (the uint8 range), then stored into int8";
/// A GATHER's output right for its first group of indices only.
#[cfg(test)]
pub const FIRST_GROUP_ONLY: &str =
    "only the first group of indices gathered; the rest of the output is not the table's rows";
pub const NOT_ROUNDED: &str = "the input used as it is, not rounded to Q8_0 blocks";

const MATRIX: &str = include_str!("matrix.json");

/// The whole measurement.
#[derive(Debug, Deserialize)]
pub struct Matrix {
    pub environment: Environment,
    /// How long the measurement took.
    pub seconds: f64,
    /// Each scheme, and how its tensors were quantized.
    pub schemes: Vec<(String, String)>,
    /// Each weight granularity, and what it means.
    pub granularities: Vec<(String, String)>,
    pub tolerance: Tolerance,
    /// The matrix's rows, in order.
    pub operators: Vec<String>,
    pub cells: Vec<Cell>,
    /// The fixture models with per-channel weights.
    pub models: Vec<ModelRun>,
}

#[derive(Debug, Deserialize)]
pub struct Environment {
    pub onert_version: String,
    pub backend: String,
    pub python_version: String,
    pub platform: String,
    pub date: String,
    /// Package and version, onert first.
    pub packages: Vec<(String, String)>,
}

/// The largest difference, in steps of the output, a cell may have and
/// still compute correctly.
#[derive(Debug, Deserialize)]
pub struct Tolerance {
    pub exact: f64,
    /// For the operators onert computes with fixed-point approximations.
    pub approx: f64,
    pub approx_ops: Vec<String>,
}

/// One cell: one operator, one scheme, one configuration, run on onert.
#[derive(Debug, Deserialize)]
pub struct Cell {
    pub id: String,
    /// `matrix`, `special`, `fc-per-channel` or `conv-sweep`.
    pub group: String,
    pub op: String,
    pub scheme: String,
    pub granularity: String,
    pub description: String,
    /// `ok`, `wrong`, `rejected at <stage>`, `crash` or `timeout`.
    pub verdict: String,
    /// Where it failed.
    pub stage: Option<String>,
    /// What onert printed, line by line, exactly.
    #[serde(default)]
    pub messages: Vec<String>,
    /// For a failure onert printed nothing about: the error seen.
    #[serde(default)]
    pub error: Option<String>,
    pub max_steps: Option<f64>,
    pub mean_steps: Option<f64>,
    /// The hypotheses a wrong output equals.
    #[serde(default)]
    pub matches: Vec<String>,
    /// An output of another type or shape than expected.
    #[serde(default)]
    pub output_mismatch: Option<String>,
    /// The fastest run (the timed sweep only).
    #[serde(default)]
    pub run_seconds: Option<f64>,
}

impl Cell {
    /// The last part of the id: the configuration (`other-out-params`).
    pub fn tag(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or(&self.id)
    }

    /// Whether onert printed a message containing `says` (runs of spaces
    /// collapsed on both sides).
    pub fn says(&self, says: &str) -> bool {
        let says = collapse(says);
        self.messages.iter().any(|m| collapse(m).contains(&says))
    }

    /// What onert said, shortened: its messages without the API's
    /// prefixes, or the error seen.
    pub fn reason(&self) -> String {
        if self.messages.is_empty() {
            return self.error.clone().unwrap_or_default();
        }
        self.messages
            .iter()
            .map(|m| short(m))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A fixture model run with some weights per channel.
#[derive(Debug, Deserialize)]
pub struct ModelRun {
    pub model: Option<String>,
    /// `per-tensor`, or which weights are per channel.
    pub variant: Option<String>,
    /// `ok`, `wrong`, or how it failed.
    pub verdict: Option<String>,
    /// onert's output against the float model's, in steps of the output:
    /// mean and largest.
    pub onert_steps: Option<(f64, f64)>,
    /// The numpy simulation's: what the quantization alone explains.
    pub simulated_steps: Option<(f64, f64)>,
    /// The fastest run of one input, quantized and float.
    pub run_ms: Option<(f64, f64)>,
    /// How it failed, when it did.
    pub error: Option<String>,
    /// Why the model was not run at all.
    pub skipped: Option<String>,
}

/// The measurement compiled in.
pub fn matrix() -> Matrix {
    // Compiled in, not read from the user: `matrix_json_parses` below
    // keeps it valid.
    serde_json::from_str(MATRIX).expect("matrix.json is the matrix")
}

/// `text` with every run of whitespace one space.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An onert message without the API's prefix: `Error during model
/// prepare : Mean: ...` reads `Mean: ...`, `Error during
/// nnfw_session::input_tensorinfo : Error: ...` reads `input_tensorinfo:
/// ...`.
pub fn short(message: &str) -> String {
    for prefix in [
        "Error during nnfw_session::run : ",
        "Error during nnfw_session::prepare : ",
        "Error during model prepare : ",
        "Fail to load model: ",
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    let call = message
        .strip_prefix("Error during nnfw_session::")
        .and_then(|rest| rest.split_once(" : "))
        .filter(|(call, _)| {
            !call.is_empty() && call.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
    match call {
        Some((call, rest)) => format!("{call}: {}", rest.strip_prefix("Error: ").unwrap_or(rest)),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_json_parses() {
        let m = matrix();
        assert!(m.cells.len() > 100);
        assert!(m.cells.iter().any(|c| c.group == "matrix"));
    }

    #[test]
    fn messages_lose_the_api_prefix() {
        assert_eq!(
            short("Error during model prepare : Mean: unsupported data type"),
            "Mean: unsupported data type"
        );
        assert_eq!(
            short("Error during nnfw_session::input_tensorinfo : Error: Model has type"),
            "input_tensorinfo: Model has type"
        );
        assert_eq!(short("Error during nnfw_session::run : Conv: x"), "Conv: x");
        assert_eq!(
            short("Fail to load model: OperationValidator"),
            "OperationValidator"
        );
        assert_eq!(short("something else"), "something else");
    }
}
