//! `q-implant apply`: check, then implant the plan, then write atomically.
//! The plan's gate decides whether anything is written (a report filter
//! never does); a failure at any point leaves no output file and the inputs
//! untouched; the output is never one of the inputs, whatever the flags.

use std::path::{Path, PathBuf};

use super::set::SetSource;
use super::settings::{Settings, SettingsError};
use super::Observer;
use crate::analysis::{Analysis, Target};
use crate::files::{self, OutputIsInput};
use crate::graph::Graph;
use crate::implant::{self, Change, ImplantError};
use crate::model::{self, CircleFile, Layout, ModelError, Written};
use crate::plan::Refusal;
use crate::qparam::{MemorySet, QParamReadError};

pub struct ApplyRequest<'a> {
    pub model: &'a Path,
    pub qparam: &'a Path,
    pub output: &'a Path,
    pub settings: &'a Settings,
    pub layout: Layout,
    /// Replace an existing output (never an input).
    pub force: bool,
    pub dry_run: bool,
    /// Refuse on warnings too.
    pub deny_warnings: bool,
}

/// How a run ended, short of a failure.
pub enum Outcome {
    /// Findings forbid the write; nothing was written.
    Refused {
        analysis: Analysis,
        refusal: Refusal,
    },
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
    OutputIsInput(#[from] OutputIsInput),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Implant(#[from] ImplantError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(#[from] SettingsError),
    #[error("onert 0.1.0 crashes loading a model in the large-model layout, so `--target onert` writes the plain layout only")]
    #[diagnostic(
        code(apply::target_layout),
        help("leave out --layout large (auto writes the plain layout, which holds models up to 2 GiB)")
    )]
    TargetLayout,
    #[error("the output `{0}` exists")]
    #[diagnostic(
        code(apply::output_exists),
        help("pass --force to replace it, or choose another path")
    )]
    OutputExists(PathBuf),
    #[error("cannot write `{path}`")]
    #[diagnostic(code(apply::output))]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks and, if the plan's gate allows, writes. Warning codes the
/// settings' filter hides do not refuse the write under `--deny warnings`;
/// errors always do, whatever the filter.
pub fn apply(req: &ApplyRequest<'_>, observer: &dyn Observer) -> Result<Outcome, ApplyError> {
    run(req, SetSource::File(req.qparam), observer)
}

/// [`apply`] with a set held in memory; `req.qparam` only names it in
/// messages. The output is the same bytes as from the same set on disk.
pub fn apply_memory(
    req: &ApplyRequest<'_>,
    set: &MemorySet,
    observer: &dyn Observer,
) -> Result<Outcome, ApplyError> {
    let source = SetSource::Memory {
        set,
        name: req.qparam,
        // Nothing is fixed, so nothing is written where a fix would write.
        dir: Path::new("."),
    };
    run(req, source, observer)
}

fn run(
    req: &ApplyRequest<'_>,
    source: SetSource<'_>,
    observer: &dyn Observer,
) -> Result<Outcome, ApplyError> {
    let options = &req.settings.options;
    files::refuse_inputs(
        req.output,
        [Some(req.model), source.path()].into_iter().flatten(),
    )?;
    files::output::refuse_special(req.output).map_err(|source| ApplyError::Output {
        path: req.output.to_path_buf(),
        source,
    })?;
    if !req.force && !req.dry_run && req.output.exists() {
        return Err(ApplyError::OutputExists(req.output.to_path_buf()));
    }
    // onert's loader crashes on the large-model layout (docs/targets.md):
    // for it, the plain layout or nothing (a model over 2 GiB fails to save).
    let layout = match (options.target, req.layout) {
        (Some(Target::Onert), Layout::Large) => return Err(ApplyError::TargetLayout),
        (Some(Target::Onert), Layout::Auto) => Layout::Plain,
        (_, layout) => layout,
    };
    observer.phase(&format!(
        "checking {} and writing {}",
        source.name().display(),
        req.output.display()
    ));
    let file = CircleFile::open(req.model)?;
    let graph = Graph::new(&file);
    req.settings.check_allow_float(&graph)?;
    let analysis = source.check(&graph, options)?;
    files::refuse_inputs(req.output, analysis.qparam.npy_paths())?;
    let waived = |code: &str| !req.settings.filter.shows_code(code);
    if let Err(refusal) = analysis.plan.gate(req.deny_warnings, waived) {
        return Ok(Outcome::Refused { analysis, refusal });
    }
    let implanted = implant::implant(&file, &graph, &analysis.plan)?;
    if req.dry_run {
        return Ok(Outcome::DryRun {
            analysis,
            changes: implanted.changes,
            inserted: implanted.inserted,
        });
    }
    let written = model::save(&implanted.parts, layout, req.output, req.force)?;
    Ok(Outcome::Written {
        analysis,
        changes: implanted.changes,
        inserted: implanted.inserted,
        written,
    })
}
