//! `q-implant apply`: check, then implant, then write atomically. Any error
//! finding refuses the write; a failure at any point leaves no output file
//! and the inputs untouched.

use std::path::{Path, PathBuf};

use crate::analysis::{self, Analysis, CheckOptions, Context};
use crate::graph::Graph;
use crate::implant::{self, Change, ImplantOptions};
use crate::model::{self, CircleFile, Layout, ModelError, Written};
use crate::paths::{self, PathError};
use crate::qparam::QParamReadError;

pub struct ApplyRequest<'a> {
    pub model: &'a Path,
    pub qparam: &'a Path,
    pub output: &'a Path,
    pub check: CheckOptions,
    pub implant: ImplantOptions,
    pub layout: Layout,
    /// Replace an existing output, even the input model itself.
    pub force: bool,
    pub dry_run: bool,
    /// Refuse on warnings too.
    pub deny_warnings: bool,
}

/// How a run ended, short of a failure.
pub enum Outcome {
    /// Findings forbid the write; nothing was written.
    Refused(Analysis),
    /// `--dry-run`: what would change; nothing was written.
    DryRun {
        analysis: Analysis,
        changes: Vec<Change>,
        inserted: Vec<String>,
    },
    Written {
        analysis: Analysis,
        changes: Vec<Change>,
        inserted: Vec<String>,
        written: Written,
    },
}

/// Why the run could not happen at all (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    QParam(#[from] QParamReadError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Path(#[from] PathError),
    #[error("the output `{0}` exists")]
    #[diagnostic(
        code(apply::output_exists),
        help("pass --force to replace it, or choose another path")
    )]
    OutputExists(PathBuf),
}

pub fn run(req: &ApplyRequest<'_>) -> Result<Outcome, ApplyError> {
    if !req.force {
        paths::refuse_same_file(req.model, req.output)?;
        if !req.dry_run && req.output.exists() {
            return Err(ApplyError::OutputExists(req.output.to_path_buf()));
        }
    }
    let file = CircleFile::open(req.model)?;
    let graph = Graph::new(&file);
    let mut check = req.check.clone();
    check.propagate |= req.implant.propagate;
    let analysis = analysis::check(&graph, req.qparam, &check)?;
    if analysis.failing(req.deny_warnings) > 0 {
        return Ok(Outcome::Refused(analysis));
    }
    let (changes, inserted, written) = {
        let ctx = Context::new(&graph, &analysis.qparam, &check);
        let implanted = implant::implant(&file, &ctx, &req.implant);
        let written = if req.dry_run {
            None
        } else {
            Some(model::save(
                &implanted.parts,
                req.layout,
                req.output,
                req.force,
            )?)
        };
        (implanted.changes, implanted.inserted, written)
    };
    Ok(match written {
        None => Outcome::DryRun {
            analysis,
            changes,
            inserted,
        },
        Some(written) => Outcome::Written {
            analysis,
            changes,
            inserted,
            written,
        },
    })
}
