//! Running the float model to learn the ranges its tensors take: for
//! `check --fix --calibrate` (parameters for what the exporter never
//! calibrated) and for the name matcher (keys mapped by the values they
//! carry).
//!
//! - [`inputs`]: the samples a run is fed (files, or random draws);
//! - [`observe`]: the run, recording each tensor's range per sample;
//! - [`reduce`]: per-sample ranges reduced to one, as record-minmax does.
//!
//! [`ModelRuns`] is what a check may run: the samples it was given, the
//! calibration asked for, and the runs made so far, shared by every
//! analysis of one check (so `--fix`'s rounds run the model once).

pub mod inputs;
pub mod observe;
pub mod reduce;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use observe::{observe, ObserveError, Observed};
pub use reduce::Method;

use crate::graph::Graph;
use crate::interpret::session::DEFAULT_MAX_MEMORY;
use crate::interpret::Tensor;
use crate::samples::{MemorySample, SampleError};
use inputs::Draw;

/// Random samples the name matcher runs when given none: enough for
/// every tensor's range to settle to within a few percent (each sample
/// already holds thousands of values), and cheap.
pub const MATCHING_SAMPLES: usize = 8;

/// Random samples `--calibrate` draws when given no files: record-minmax's
/// batch, so every method has one batch at least.
pub const CALIBRATION_SAMPLES: usize = 16;

/// The seed of random samples: runs repeat exactly.
pub const SEED: u64 = 0x05ee_d0fc_a11b;

/// Fewer samples than this make a calibration a guess: record-minmax's
/// percentiles discard the extreme samples, and a handful cannot show a
/// tensor's spread.
pub const FEW_SAMPLES: usize = 8;

/// What a check may run the model for, and the runs made so far.
#[derive(Clone)]
pub struct ModelRuns {
    /// Map keys by the values they carry (`check --no-run` turns it off;
    /// `apply` never runs the model).
    pub map_by_value: bool,
    /// Samples read from files (`--input`, or those of `--calibrate`),
    /// each a tensor per graph input; random samples when `None`.
    pub samples: Option<Arc<Vec<Vec<Tensor>>>>,
    /// The file each of `samples` was read from.
    pub files: Option<Arc<Vec<PathBuf>>>,
    /// What reading the samples left out (subdirectories, npz arrays no
    /// input takes), for the report.
    pub notes: Vec<String>,
    /// `--calibrate`: how per-sample ranges are reduced.
    pub calibrate: Option<Method>,
    /// The interpreter's memory budget.
    pub max_memory: u64,
    cache: Arc<Mutex<Vec<(String, Run)>>>,
}

/// A run made: what it observed, or why it could not run.
pub type Run = Arc<Result<Observed, String>>;

impl Default for ModelRuns {
    fn default() -> Self {
        ModelRuns {
            map_by_value: true,
            samples: None,
            files: None,
            notes: Vec::new(),
            calibrate: None,
            max_memory: DEFAULT_MAX_MEMORY,
            cache: Arc::default(),
        }
    }
}

impl fmt::Debug for ModelRuns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelRuns")
            .field("map_by_value", &self.map_by_value)
            .field("samples", &self.samples.as_ref().map(|s| s.len()))
            .field("calibrate", &self.calibrate)
            .finish()
    }
}

impl ModelRuns {
    /// No run at all (`apply`, `--no-run`).
    pub fn none() -> Self {
        ModelRuns {
            map_by_value: false,
            ..ModelRuns::default()
        }
    }

    /// Subgraph `subgraph` of `graph` run on the samples given, or on
    /// `count` random ones drawn as `draws()` says (one per graph input);
    /// made once per check and shared. `Err` says why it could not run.
    pub fn observe(
        &self,
        graph: &Graph<'_>,
        subgraph: usize,
        count: usize,
        draws: &dyn Fn() -> Vec<Draw>,
    ) -> Run {
        let random = self.samples.is_none();
        let drawn = random.then(draws);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let key = run_key(graph, subgraph, random.then_some(count), &drawn);
        if let Some((_, hit)) = cache.iter().find(|(k, _)| *k == key) {
            return hit.clone();
        }
        let result = self
            .run(graph, subgraph, count, drawn)
            .map_err(|e| self.say(e));
        let result = Arc::new(result);
        cache.push((key, result.clone()));
        result
    }

    /// What went wrong, the failing sample named by its file.
    fn say(&self, e: ObserveError) -> String {
        match (&e, &self.files) {
            (ObserveError::Sample { sample, skipped }, Some(files)) => match files.get(*sample) {
                Some(file) => format!("`{}` makes {skipped}", file.display()),
                None => e.to_string(),
            },
            _ => e.to_string(),
        }
    }

    fn run(
        &self,
        graph: &Graph<'_>,
        subgraph: usize,
        count: usize,
        drawn: Option<Vec<Draw>>,
    ) -> Result<Observed, ObserveError> {
        let sg = graph
            .subgraphs
            .get(subgraph)
            .ok_or(ObserveError::Interpret(
                crate::interpret::InterpretError::NoSubgraph {
                    index: subgraph,
                    count: graph.subgraphs.len(),
                },
            ))?;
        let random;
        let samples: &[Vec<Tensor>] = match (&self.samples, drawn) {
            (Some(samples), _) => samples,
            (None, drawn) => {
                let specs = inputs::input_specs(sg).map_err(ObserveError::Samples)?;
                let draws = drawn
                    .filter(|d| d.len() == specs.len())
                    .unwrap_or_else(|| specs.iter().map(inputs::default_draw).collect());
                random = inputs::random(&specs, &draws, count, SEED);
                &random
            }
        };
        let mut observed = observe(graph, subgraph, samples, self.max_memory)?;
        observed.random = self.samples.is_none();
        Ok(observed)
    }
}

/// What `check` was asked to run the model for.
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    /// `--no-run`: never run the model (no mapping by value).
    pub no_run: bool,
    /// `--input`: samples for mapping keys by value.
    pub inputs: Vec<PathBuf>,
    /// Samples held in memory (the Python module's arrays), taken as
    /// `--input`'s are when no paths are given.
    pub arrays: Vec<MemorySample>,
    /// `--calibrate`: calibrate what the set leaves uncovered.
    pub calibrate: Option<CalibrateRequest>,
}

/// `check --fix --calibrate PATH...`.
#[derive(Clone, Debug, Default)]
pub struct CalibrateRequest {
    /// Sample files or directories; none: `--input`'s, or random samples.
    pub samples: Vec<PathBuf>,
    pub method: Method,
}

impl ModelRuns {
    /// What a check may run, with the samples it names read (and checked
    /// against the model's inputs) up front: `--calibrate`'s samples, else
    /// `--input`'s, else those held in memory, serve both the calibration
    /// and the mapping by value.
    pub fn for_check(graph: &Graph<'_>, req: &RunRequest) -> Result<ModelRuns, SampleError> {
        let paths = match &req.calibrate {
            Some(c) if !c.samples.is_empty() => &c.samples,
            _ => &req.inputs,
        };
        let mut notes = Vec::new();
        let (samples, files) = match graph.subgraphs.first() {
            Some(sg) if !paths.is_empty() => {
                let specs = inputs::input_specs(sg)?;
                let files = crate::samples::sample_files_noting(paths, &mut notes)?;
                let samples = inputs::read_files(&files, &specs, &mut notes)?;
                (Some(Arc::new(samples)), Some(Arc::new(files)))
            }
            Some(sg) if !req.arrays.is_empty() => {
                let specs = inputs::input_specs(sg)?;
                (
                    Some(Arc::new(inputs::read_memory(&req.arrays, &specs)?)),
                    None,
                )
            }
            _ => (None, None),
        };
        let runs = ModelRuns {
            map_by_value: !req.no_run,
            samples,
            files,
            notes,
            calibrate: req.calibrate.as_ref().map(|c| c.method),
            ..ModelRuns::default()
        };
        runs.run_given(graph)?;
        Ok(runs)
    }

    /// The samples given run once, up front (the run is kept for the
    /// check): a sample that makes a kernel fail where the others do not
    /// is an error naming its file, whether it was given for calibrating
    /// or for mapping by value.
    fn run_given(&self, graph: &Graph<'_>) -> Result<(), SampleError> {
        let (Some(_), Some(files)) = (&self.samples, &self.files) else {
            return Ok(());
        };
        let result = self.run(graph, 0, 0, None);
        if let Err(ObserveError::Sample { sample, skipped }) = &result {
            if let Some(path) = files.get(*sample) {
                let reason = match &skipped.reason {
                    crate::interpret::SkipReason::Kernel(e) => e.to_string(),
                    _ => skipped.to_string(),
                };
                return Err(SampleError::Kernel {
                    path: path.clone(),
                    operator: skipped.site.to_string(),
                    reason,
                });
            }
        }
        let result = Arc::new(result.map_err(|e| self.say(e)));
        let key = run_key(graph, 0, None, &None);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.push((key, result));
        Ok(())
    }
}

/// What identifies a run: the subgraph (in a model of this shape) and,
/// for random samples, how many and how drawn.
fn run_key(
    graph: &Graph<'_>,
    subgraph: usize,
    count: Option<usize>,
    drawn: &Option<Vec<Draw>>,
) -> String {
    format!(
        "{subgraph}/{}/{}/{count:?}/{drawn:?}",
        graph.subgraphs.len(),
        graph.subgraphs.get(subgraph).map_or(0, |s| s.tensors.len()),
    )
}
