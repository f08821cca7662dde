//! `check` (and `check --fix`): every finding of a qparam set against a
//! model, and with a fix, the set fixed in a new file (or in place, keeping
//! a backup) and checked again. A set held in memory is checked the same
//! way, and fixed into a new set in memory.

use std::path::{Path, PathBuf};

use super::set::SetSource;
use super::settings::{Settings, SettingsError};
use super::{Observer, Status};
use crate::analysis::{self, Analysis, CheckOptions};
use crate::calibrate::{ModelRuns, RunRequest};
use crate::fix::{self, FixError, FixWritten, Fixed};
use crate::graph::Graph;
use crate::model::{CircleFile, ModelError};
use crate::qparam::{npy, MemoryFiles, MemorySet, QParamReadError};
use crate::report::View;

/// A check to run.
pub struct CheckRequest<'a> {
    pub model: &'a Path,
    pub qparam: &'a Path,
    pub settings: &'a Settings,
    /// `--fix`: fix what is certain first; `Some(path)` writes the fixed set
    /// there instead of over the qparam file.
    pub fix: Option<Option<&'a Path>>,
    /// `--fix --diff`: work out the fixes and say what they would change,
    /// writing nothing at all (not even transiently).
    pub preview: bool,
    /// Running the float model: to map keys by value, to calibrate.
    pub run: RunRequest,
}

/// What a check found.
pub struct CheckOutcome {
    /// The findings (of the fixed set, after a fix that wrote one).
    pub analysis: Analysis,
    /// The qparam file the findings are about.
    pub reported: PathBuf,
    /// What `--fix` did, when asked.
    pub fix: Option<FixOutcome>,
}

/// What `--fix` did.
pub struct FixOutcome {
    pub fixed: Vec<Fixed>,
    /// Keys left as they are, with the reason.
    pub left: Vec<Fixed>,
    /// Where the fixed set went; `None` when there was nothing to fix, or
    /// for a preview.
    pub written: Option<FixWritten>,
    /// For a preview: what the fixes would change.
    pub preview: Option<FixPreview>,
    /// What `--calibrate` did, when it ran.
    pub calibration: Option<fix::Calibration>,
}

/// What `--fix` would change, unwritten.
pub struct FixPreview {
    /// A unified diff of the qparam file (empty when the text would stay).
    pub diff: String,
    /// The npy files it would add beside the set.
    pub new_files: Vec<NewFile>,
}

/// An npy file `--fix` would add.
pub struct NewFile {
    pub path: PathBuf,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub bytes: usize,
}

impl FixPreview {
    /// Whether the fixes would change anything.
    pub fn is_empty(&self) -> bool {
        self.diff.is_empty() && self.new_files.is_empty()
    }
}

/// Why a check could not run (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    QParam(#[from] QParamReadError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fix(#[from] FixError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Samples(#[from] crate::samples::SampleError),
}

impl CheckOutcome {
    /// `check`'s exit status: findings the report shows that fail it
    /// (errors, and warnings when denied) make it 1.
    pub fn status(&self, settings: &Settings, deny_warnings: bool) -> Status {
        let view = View::new(&self.analysis, &settings.filter);
        if view.failing(deny_warnings) > 0 {
            Status::Findings
        } else {
            Status::Success
        }
    }
}

/// Reads the model and checks the settings' `allow-float` names against it.
fn open_model(
    model: &Path,
    settings: &Settings,
    observer: &dyn Observer,
) -> Result<CircleFile, CheckError> {
    observer.phase(&format!("reading {}", model.display()));
    let file = CircleFile::open(model)?;
    settings.check_allow_float(&Graph::new(&file))?;
    Ok(file)
}

/// Checks a set held in memory (`name` stands for it in messages).
pub fn check_memory(
    model: &Path,
    set: &MemorySet,
    name: &Path,
    settings: &Settings,
    run: &RunRequest,
    observer: &dyn Observer,
) -> Result<CheckOutcome, CheckError> {
    let file = open_model(model, settings, observer)?;
    let graph = Graph::new(&file);
    let mut options = settings.options.clone();
    options.model_runs = ModelRuns::for_check(&graph, run)?;
    let options = &options;
    observer.phase("checking the set");
    // Nothing is fixed, so nothing is written where a fix would write.
    let source = SetSource::Memory {
        set,
        name,
        dir: Path::new("."),
    };
    let mut analysis = source.check(&graph, options)?;
    fix::mark_fixable(&graph, &mut analysis, options);
    Ok(CheckOutcome {
        analysis,
        reported: name.to_path_buf(),
        fix: None,
    })
}

/// Fixes a set held in memory: what `check --fix` would change, as a new
/// set in memory (`None` when there was nothing to fix), and the findings
/// of that set. The caller's set is not changed, and nothing is left on
/// disk (a fix's new arrays pass through a temporary directory).
pub fn fix_memory(
    model: &Path,
    set: &MemorySet,
    name: &Path,
    settings: &Settings,
    run: &RunRequest,
    observer: &dyn Observer,
) -> Result<(CheckOutcome, Option<MemorySet>), CheckError> {
    let file = open_model(model, settings, observer)?;
    let graph = Graph::new(&file);
    let mut options = settings.options.clone();
    options.model_runs = ModelRuns::for_check(&graph, run)?;
    let options = &options;
    let scratch = tempfile::tempdir().map_err(|source| FixError::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    let write_err = |source| FixError::Write {
        path: scratch.path().to_path_buf(),
        source,
    };
    observer.phase("checking the set");
    let source = SetSource::Memory {
        set,
        name,
        dir: scratch.path(),
    };
    let mut analysis = source.check(&graph, options)?;
    observer.phase("working out the fixes");
    let plan = fix::plan(&graph, &analysis, options)?;
    let (fixed, left) = (plan.fixed.clone(), plan.left.clone());
    let calibration = plan.calibration.clone();
    let new_set = if plan.is_empty() {
        None
    } else {
        let (edited, _) = analysis
            .qparam
            .reparse(plan.text.into_bytes(), options.load.clone());
        let new_set = edited.to_memory().map_err(write_err)?;
        observer.phase("checking the fixed set");
        let fixed_source = SetSource::Memory {
            set: &new_set,
            name,
            dir: scratch.path(),
        };
        analysis = fixed_source.check(&graph, options)?;
        Some(new_set)
    };
    fix::mark_fixable(&graph, &mut analysis, options);
    let outcome = CheckOutcome {
        analysis,
        reported: name.to_path_buf(),
        fix: Some(FixOutcome {
            fixed,
            left,
            written: None,
            preview: None,
            calibration,
        }),
    };
    Ok((outcome, new_set))
}

/// Checks the set, fixing it first when asked.
pub fn check(req: &CheckRequest<'_>, observer: &dyn Observer) -> Result<CheckOutcome, CheckError> {
    let file = open_model(req.model, req.settings, observer)?;
    let graph = Graph::new(&file);
    let mut options = req.settings.options.clone();
    options.model_runs = ModelRuns::for_check(&graph, &req.run)?;
    let options = &options;
    observer.phase(&format!("checking {}", req.qparam.display()));
    let mut analysis = analysis::check(&graph, req.qparam, options)?;
    let mut reported = req.qparam.to_path_buf();
    let fix = match req.fix {
        Some(_) if req.preview => {
            observer.phase("working out the fixes");
            Some(preview(&graph, &analysis, options)?)
        }
        Some(output) => {
            observer.phase("working out the fixes");
            let outcome = fix_set(req.model, &graph, &analysis, options, output)?;
            if let Some(written) = &outcome.written {
                observer.phase(&format!("checking {}", written.path.display()));
                analysis = analysis::check(&graph, &written.path, options)?;
                reported = written.path.clone();
            }
            Some(outcome)
        }
        None => None,
    };
    fix::mark_fixable(&graph, &mut analysis, options);
    Ok(CheckOutcome {
        analysis,
        reported,
        fix,
    })
}

/// Works out the fixes and writes the fixed set (never over an input).
fn fix_set(
    model: &Path,
    graph: &Graph<'_>,
    analysis: &Analysis,
    options: &CheckOptions,
    output: Option<&Path>,
) -> Result<FixOutcome, CheckError> {
    let plan = fix::plan(graph, analysis, options)?;
    if plan.is_empty() {
        return Ok(FixOutcome {
            fixed: Vec::new(),
            left: plan.left,
            written: None,
            preview: None,
            calibration: plan.calibration,
        });
    }
    let new_files = plan.new_files();
    let mut inputs: Vec<&Path> = vec![model];
    inputs.extend(analysis.qparam.npy_paths());
    inputs.extend(new_files.iter().map(PathBuf::as_path));
    let written = fix::write(&analysis.qparam, &plan.text, output, &inputs)?;
    let (fixed, left) = (plan.fixed.clone(), plan.left.clone());
    let calibration = plan.calibration.clone();
    plan.keep_arrays();
    Ok(FixOutcome {
        fixed,
        left,
        written: Some(written),
        preview: None,
        calibration,
    })
}

/// Works out the fixes with every new array held in memory, and says what
/// they would change.
fn preview(
    graph: &Graph<'_>,
    analysis: &Analysis,
    options: &CheckOptions,
) -> Result<FixOutcome, CheckError> {
    let memory = MemoryFiles::default();
    let mut options = options.clone();
    options.load.in_memory = Some(memory.clone());
    let plan = fix::plan(graph, analysis, &options)?;
    let q = &analysis.qparam;
    let label = q.path.display().to_string();
    let diff = if plan.text == q.text {
        String::new()
    } else {
        similar::TextDiff::from_lines(&q.text, &plan.text)
            .unified_diff()
            .context_radius(3)
            .header(&label, &label)
            .to_string()
    };
    let new_files = plan
        .new_files()
        .into_iter()
        .filter_map(|path| memory.get(&path).map(|bytes| (path, bytes)))
        .map(|(path, bytes)| {
            let header = npy::parse_header(&bytes).ok();
            NewFile {
                path,
                dtype: header
                    .as_ref()
                    .map_or("?".into(), |h| h.dtype.name().to_string()),
                shape: header.map(|h| h.shape).unwrap_or_default(),
                bytes: bytes.len(),
            }
        })
        .collect();
    Ok(FixOutcome {
        fixed: plan.fixed.clone(),
        left: plan.left.clone(),
        written: None,
        preview: Some(FixPreview { diff, new_files }),
        calibration: plan.calibration.clone(),
    })
}
