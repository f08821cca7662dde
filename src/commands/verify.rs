//! `verify`: what quantization costs, tensor by tensor. Either the model
//! as `apply` would write it from a set (written to a temporary file, never
//! beside the user's files), or any quantized model against its float
//! original; both run in the interpreter on the same samples.

use std::path::{Path, PathBuf};

use super::apply::{apply, apply_memory, ApplyError, ApplyRequest, Outcome};
use super::settings::Settings;
use super::{Observer, Status};
use crate::analysis::Analysis;
use crate::graph::Graph;
use crate::interpret::{InterpretError, Options, Params, Site};
use crate::model::fb::TensorType;
use crate::model::{CircleFile, Layout, ModelError};
use crate::plan::Refusal;
use crate::qparam::MemorySet;
use crate::samples::SampleError;
use crate::verify::compare::OutputValues;
use crate::verify::inputs::{self, Source};
use crate::verify::report::Report;
use crate::verify::{compare, save};

/// What is verified.
pub enum Subject<'a> {
    /// `verify MODEL QPARAM`: the model as `apply` would write it.
    Planned {
        model: &'a Path,
        qparam: &'a Path,
        settings: &'a Settings,
    },
    /// The model as `apply` would write it from a set held in memory
    /// (`name` stands for it in messages).
    PlannedMemory {
        model: &'a Path,
        set: &'a MemorySet,
        name: &'a Path,
        settings: &'a Settings,
    },
    /// `verify QUANTIZED --reference FLOAT`.
    Quantized {
        model: &'a Path,
        reference: &'a Path,
    },
}

pub struct VerifyRequest<'a> {
    pub subject: Subject<'a>,
    pub inputs: Source,
    /// The most bytes of tensors both runs may hold at once.
    pub max_memory: u64,
    /// `--save-outputs DIR`, and whether an existing directory may be
    /// replaced.
    pub save_outputs: Option<(&'a Path, bool)>,
    /// Return each graph output's values from both runs (the Python
    /// module's `outputs=True`).
    pub keep_outputs: bool,
}

pub struct VerifyOutcome {
    pub report: Report,
    /// Where the outputs were saved, when asked.
    pub saved: Option<PathBuf>,
    /// The outputs' values, when asked (`keep_outputs`).
    pub outputs: Option<OutputValues>,
}

impl VerifyOutcome {
    /// 1 when `fail_under` is given and an output's SQNR is below it.
    pub fn status(&self, fail_under: Option<f64>) -> Status {
        match fail_under {
            Some(db) if !self.report.outputs_under(db).is_empty() => Status::Findings,
            _ => Status::Success,
        }
    }
}

/// Why the verification could not run (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum VerifyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Apply(#[from] ApplyError),
    #[error("the set has {} that `apply` refuses, so there is no quantized model to verify", count(.refusal))]
    #[diagnostic(
        code(verify::refused),
        help("fix the findings listed above (`q-implant check --fix` fixes what it can), then verify again")
    )]
    Refused {
        analysis: RefusedSet,
        refusal: Refusal,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Samples(#[from] SampleError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interpret(#[from] InterpretError),
    #[error("the float model `{}` takes {reference} and the quantized model `{}` {quantized}: they are not the same network", reference_path.display(), quantized_path.display())]
    #[diagnostic(
        code(verify::inputs),
        help("verify a quantized model against the float model it was made from")
    )]
    Mismatch {
        reference_path: PathBuf,
        quantized_path: PathBuf,
        reference: String,
        quantized: String,
    },
    #[error("the sample {sample} cannot be run: {site} refuses its values: {reason}")]
    #[diagnostic(
        code(verify::sample_values),
        help("the sample holds values the model does not take (token ids past the table's rows, say); fix or drop that sample")
    )]
    SampleValues {
        sample: String,
        site: Site,
        reason: String,
    },
    #[error("the reference `{}` is a quantized model (its tensor `{tensor}` is {dtype} with quantization parameters): the reference must be the float model", path.display())]
    #[diagnostic(
        code(verify::quantized_reference),
        help("`verify QUANTIZED --reference FLOAT`: give the float model the quantized one was made from after --reference")
    )]
    QuantizedReference {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },
    #[error("the float model `{}` has outputs of shapes {reference} and the quantized model `{}` {quantized}: they are not the same network", reference_path.display(), quantized_path.display())]
    #[diagnostic(
        code(verify::outputs),
        help("verify a quantized model against the float model it was made from")
    )]
    OutputsDiffer {
        reference_path: PathBuf,
        quantized_path: PathBuf,
        reference: String,
        quantized: String,
    },
    #[error("the model `{}` has no subgraph to run", .0.display())]
    #[diagnostic(code(verify::empty))]
    Empty(PathBuf),
    #[error("cannot make a temporary file for the model `apply` would write")]
    #[diagnostic(
        code(verify::temp),
        help("set TMPDIR to a directory with room for the quantized model")
    )]
    Temp(#[source] std::io::Error),
    #[error("cannot write the outputs to `{}`", path.display())]
    #[diagnostic(
        code(verify::save),
        help("--save-outputs writes a new directory; pass --force to replace an existing one")
    )]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The analysis of a set `apply` refused, for the report of why.
pub struct RefusedSet(pub Box<Analysis>);

impl std::fmt::Debug for RefusedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefusedSet({} findings)", self.0.findings.len())
    }
}

fn count(r: &Refusal) -> String {
    let n = r.errors + r.warnings;
    format!("{n} finding{}", if n == 1 { "" } else { "s" })
}

/// Runs the verification.
pub fn verify(
    req: &VerifyRequest<'_>,
    observer: &dyn Observer,
) -> Result<VerifyOutcome, VerifyError> {
    let planned;
    let (reference, quantized) = match req.subject {
        Subject::Quantized { model, reference } => (reference, model),
        Subject::Planned {
            model,
            qparam,
            settings,
        } => {
            planned = plan(model, (qparam, None), settings, observer)?;
            (model, planned.path())
        }
        Subject::PlannedMemory {
            model,
            set,
            name,
            settings,
        } => {
            planned = plan(model, (name, Some(set)), settings, observer)?;
            (model, planned.path())
        }
    };
    observer.phase(&format!("reading {}", reference.display()));
    let (rf, qf) = (CircleFile::open(reference)?, CircleFile::open(quantized)?);
    let (rg, qg) = (Graph::new(&rf), Graph::new(&qf));
    for (g, path) in [(&rg, reference), (&qg, quantized)] {
        if g.subgraphs.is_empty() {
            return Err(VerifyError::Empty(path.to_path_buf()));
        }
    }
    if let Subject::Quantized { .. } = req.subject {
        refuse_quantized(&rg, reference)?;
    }
    same_network(&rg, &qg, reference, &req.subject)?;
    if matches!(req.inputs, Source::Random { .. }) {
        inputs::check_random_shapes(&rg.subgraphs[0])?;
    }
    // The budget before the samples: they are part of what it bounds, and
    // reading or drawing more than it allows is the harm it prevents.
    let (source, count) = inputs::resolve(&req.inputs)?;
    compare::budget(&rg, &qg, count, req.max_memory)?;
    let samples = inputs::make(&source, &rg, &qg)?;
    let count = samples.values.len();
    observer.phase(&format!("running both models on {count} samples"));
    let options = Options {
        max_memory: req.max_memory,
        ..Options::default()
    };
    let names = samples.names;
    let (report, values) = compare::compare(&rg, &qg, samples.values, &options, samples.random)
        .map_err(|e| match e {
            InterpretError::SampleValues {
                site,
                sample,
                reason,
            } => VerifyError::SampleValues {
                sample: names
                    .get(sample)
                    .cloned()
                    .unwrap_or_else(|| format!("{sample}")),
                site,
                reason,
            },
            e => e.into(),
        })?;
    let saved = match req.save_outputs {
        Some((dir, force)) => {
            observer.phase(&format!("saving the outputs to {}", dir.display()));
            save::save(dir, &values, count, force).map_err(|source| VerifyError::Save {
                path: dir.to_path_buf(),
                source,
            })?;
            Some(dir.to_path_buf())
        }
        None => None,
    };
    Ok(VerifyOutcome {
        report,
        saved,
        outputs: req.keep_outputs.then_some(values),
    })
}

/// Refuses a reference with a quantized activation: it cannot be the float
/// model (a float model's activations have no parameters).
fn refuse_quantized(g: &Graph<'_>, path: &Path) -> Result<(), VerifyError> {
    let sg = &g.subgraphs[0];
    let quantized = sg
        .tensors
        .iter()
        .find(|t| !t.is_constant() && t.dtype != TensorType::FLOAT32 && Params::of(t).is_some());
    match quantized {
        Some(t) => Err(VerifyError::QuantizedReference {
            path: path.to_path_buf(),
            tensor: t.name.to_string(),
            dtype: t.dtype_name().to_lowercase(),
        }),
        None => Ok(()),
    }
}

/// Refuses models that do not take the same inputs or give outputs of the
/// same shapes: their tensors cannot be compared.
fn same_network(
    rg: &Graph<'_>,
    qg: &Graph<'_>,
    reference: &Path,
    subject: &Subject<'_>,
) -> Result<(), VerifyError> {
    let quantized_path = match subject {
        Subject::Quantized { model, .. }
        | Subject::Planned { model, .. }
        | Subject::PlannedMemory { model, .. } => model.to_path_buf(),
    };
    let (ri, qi) = (shapes(rg, true), shapes(qg, true));
    if ri != qi {
        return Err(VerifyError::Mismatch {
            reference_path: reference.to_path_buf(),
            quantized_path,
            reference: describe(&ri),
            quantized: describe(&qi),
        });
    }
    let (ro, qo) = (shapes(rg, false), shapes(qg, false));
    if ro != qo {
        return Err(VerifyError::OutputsDiffer {
            reference_path: reference.to_path_buf(),
            quantized_path,
            reference: list(&ro),
            quantized: list(&qo),
        });
    }
    Ok(())
}

/// The shapes of subgraph 0's inputs, or of its outputs.
fn shapes(g: &Graph<'_>, inputs: bool) -> Vec<Vec<i32>> {
    let sg = &g.subgraphs[0];
    let list = if inputs { &sg.inputs } else { &sg.outputs };
    list.iter().map(|&t| sg.tensors[t].shape.clone()).collect()
}

fn list(shapes: &[Vec<i32>]) -> String {
    shapes
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(shapes: &[Vec<i32>]) -> String {
    match shapes.len() {
        1 => format!("one input of shape {:?}", shapes[0]),
        n => format!(
            "{n} inputs of shapes {}",
            shapes
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The model `apply` would write, in a temporary directory removed when
/// the value is dropped.
struct Planned {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Planned {
    fn path(&self) -> &Path {
        &self.path
    }
}

/// `qparam` names the set; the set is that file, or the one in memory.
fn plan(
    model: &Path,
    (qparam, memory): (&Path, Option<&MemorySet>),
    settings: &Settings,
    observer: &dyn Observer,
) -> Result<Planned, VerifyError> {
    let dir = tempfile::Builder::new()
        .prefix("q-implant-verify-")
        .tempdir()
        .map_err(VerifyError::Temp)?;
    let path = dir.path().join("planned.circle");
    let request = ApplyRequest {
        model,
        qparam,
        output: &path,
        settings,
        layout: Layout::Auto,
        force: false,
        dry_run: false,
        deny_warnings: false,
    };
    let outcome = match memory {
        None => apply(&request, observer)?,
        Some(set) => apply_memory(&request, set, observer)?,
    };
    match outcome {
        Outcome::Refused { analysis, refusal } => Err(VerifyError::Refused {
            analysis: RefusedSet(Box::new(analysis)),
            refusal,
        }),
        // Not a dry run: the model is written.
        Outcome::Written { .. } | Outcome::DryRun { .. } => Ok(Planned { _dir: dir, path }),
    }
}
