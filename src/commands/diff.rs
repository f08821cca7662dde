//! `q-implant diff A B`: what differs between two parameter sets, each a
//! qparam set or a quantized model. Exit status as `diff(1)`'s: 0 the
//! same, 1 different, 2 trouble.

use std::path::{Path, PathBuf};

use super::{Observer, Status};
use crate::diff::{self, Side, SideError, Tolerance};
pub use crate::diff::{DiffOutcome, SideInfo};
use crate::qparam::LoadOptions;

/// A comparison to run.
pub struct DiffRequest<'a> {
    pub a: &'a Path,
    pub b: &'a Path,
    pub tolerance: Tolerance,
    /// How sets' npy paths are read.
    pub load: LoadOptions,
}

impl DiffOutcome {
    /// 0 when every key is the same, 1 when any differs.
    pub fn status(&self) -> Status {
        if self.comparison.differences.is_empty() {
            Status::Success
        } else {
            Status::Findings
        }
    }
}

/// Why the comparison could not run (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiffError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Side(#[from] SideError),
    #[error("cannot read the data of `{a}` or `{b}`")]
    #[diagnostic(code(diff::io))]
    Read {
        a: PathBuf,
        b: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads both sides and compares them.
pub fn diff(req: &DiffRequest<'_>, observer: &dyn Observer) -> Result<DiffOutcome, DiffError> {
    observer.phase(&format!("reading {}", req.a.display()));
    let a = Side::open(req.a, req.load.clone())?;
    observer.phase(&format!("reading {}", req.b.display()));
    let b = Side::open(req.b, req.load.clone())?;
    compare_sides(&a, &b, req.tolerance, observer)
}

/// Compares two sides already read (a set in memory is one:
/// [`Side::memory`]).
pub fn compare_sides(
    a: &Side,
    b: &Side,
    tolerance: Tolerance,
    observer: &dyn Observer,
) -> Result<DiffOutcome, DiffError> {
    observer.phase("comparing");
    let comparison = diff::compare(a, b, tolerance).map_err(|source| DiffError::Read {
        a: a.path.clone(),
        b: b.path.clone(),
        source,
    })?;
    let info = |s: &Side| SideInfo {
        path: s.path.clone(),
        kind: s.kind,
        keys: s.entries.len(),
    };
    Ok(DiffOutcome {
        a: info(a),
        b: info(b),
        tolerance,
        comparison,
    })
}
