//! `diff`: two parameter sets compared key by key, where each side is a
//! qparam set or a quantized model ([`side`]), and what differs per key,
//! worst first ([`compare`]).

pub mod compare;
pub mod side;

pub use compare::{compare, Comparison, Difference, Kind, Pair, Tolerance};
pub use side::{Side, SideError, SideKind};

use std::path::PathBuf;

/// One side, as an outcome names it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SideInfo {
    pub path: PathBuf,
    pub kind: SideKind,
    pub keys: usize,
}

/// What a comparison found.
pub struct DiffOutcome {
    pub a: SideInfo,
    pub b: SideInfo,
    pub tolerance: Tolerance,
    pub comparison: Comparison,
}
