//! `verify`: what quantization costs, tensor by tensor, as a
//! [`VerifyReport`] (the model `apply` would write from a set, or a
//! quantized model against its float original), and with `outputs=True`
//! the graph outputs of both runs as numpy arrays.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use q_implant::commands::{self, Silent, Subject, VerifyError, VerifyRequest};
use q_implant::interpret::session::DEFAULT_MAX_MEMORY;
use q_implant::report::apply as said;
use q_implant::verify::inputs::Source;

use crate::commands::{detached, refused, Given};
use crate::errors::{render, Failure};
use crate::options::Options;
use crate::report::Report;
use crate::samples::{self, Inputs};
use crate::verify_report::VerifyReport;

/// Random samples drawn when no inputs are given: the command line's
/// default (`--samples 4`), enough to show a layout or scale mistake.
const DEFAULT_SAMPLES: i64 = 4;

/// The most random samples the command line draws (`--samples`).
const MAX_SAMPLES: i64 = 100_000;

/// `verify`'s own arguments.
pub struct VerifyArgs<'py> {
    pub model: PathBuf,
    pub qparam: Option<Bound<'py, PyAny>>,
    pub reference: Option<PathBuf>,
    pub inputs: Option<Bound<'py, PyAny>>,
    pub samples: Option<i64>,
    pub seed: Option<u64>,
    pub max_memory: Option<u64>,
    pub outputs: bool,
}

/// Runs the float model and the quantized one (the model `apply` would
/// write from `qparam`, or `model` itself against `reference`) on the same
/// samples and measures what quantization costs each tensor and output.
#[pyfunction]
#[pyo3(signature = (model, qparam=None, *, reference=None, inputs=None, samples=None, seed=None, max_memory=None, outputs=false, target=None, select=None, ignore=None, allow_float=None, propagate=None, float_io=None, config=None, allow_outside_paths=false, fallback=None), text_signature = "(model, qparam=None, *, reference=None, inputs=None, samples=4, seed=0, max_memory=4294967296, outputs=False, target=None, select=None, ignore=None, allow_float=(), propagate=None, float_io=None, config=True, allow_outside_paths=False, fallback=None)")]
#[allow(clippy::too_many_arguments)]
pub fn verify<'py>(
    py: Python<'py>,
    model: PathBuf,
    qparam: Option<Bound<'py, PyAny>>,
    reference: Option<PathBuf>,
    inputs: Option<Bound<'py, PyAny>>,
    samples: Option<i64>,
    seed: Option<u64>,
    max_memory: Option<u64>,
    outputs: bool,
    target: Option<Bound<'py, PyAny>>,
    select: Option<Bound<'py, PyAny>>,
    ignore: Option<Bound<'py, PyAny>>,
    allow_float: Option<Bound<'py, PyAny>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
    config: Option<Bound<'py, PyAny>>,
    allow_outside_paths: bool,
    fallback: Option<Bound<'py, PyAny>>,
) -> PyResult<VerifyReport> {
    let options = Options {
        target,
        select,
        ignore,
        allow_float,
        propagate,
        float_io,
        config,
        allow_outside_paths,
        fallback,
        run: Default::default(),
    };
    let args = VerifyArgs {
        model,
        qparam,
        reference,
        inputs,
        samples,
        seed,
        max_memory,
        outputs,
    };
    run(py, args, options)
}

fn run(py: Python<'_>, args: VerifyArgs<'_>, options: Options<'_>) -> PyResult<VerifyReport> {
    let source = source(&args)?;
    let max_memory = args.max_memory.unwrap_or(DEFAULT_MAX_MEMORY);
    if max_memory == 0 {
        return Err(PyValueError::new_err(
            "max_memory is the most bytes both runs may hold, at least 1 (4 GiB when left out)",
        ));
    }
    let given = match (&args.qparam, &args.reference) {
        (Some(q), None) => Some(Given::from_py(q)?),
        (None, Some(_)) => None,
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "give either a qparam set or reference=, not both: a set verifies the model apply would write from it, reference= a quantized model against its float original",
            ))
        }
        (None, None) => {
            return Err(PyValueError::new_err(
                "verify takes a qparam set (verify(model, qparam)) or the float original of a quantized model (verify(quantized, reference=float_model))",
            ))
        }
    };
    let settings = given
        .as_ref()
        .map(|g| g.settings(&options, &args.model))
        .transpose()?;
    let model = args.model.as_path();
    let subject = match (&given, &settings, &args.reference) {
        (Some(Given::File(qparam)), Some(settings), _) => Subject::Planned {
            model,
            qparam,
            settings,
        },
        (Some(g @ Given::Memory(set)), Some(settings), _) => Subject::PlannedMemory {
            model,
            set,
            name: g.name(),
            settings,
        },
        (_, _, Some(reference)) => Subject::Quantized { model, reference },
        // A set always has settings, and without a set there is a reference.
        _ => return Err(Failure::internal("verify without a subject").into_py(py)),
    };
    let request = VerifyRequest {
        subject,
        inputs: source,
        max_memory,
        save_outputs: None,
        keep_outputs: args.outputs,
    };
    let outcome = detached(py, "verify", || match commands::verify(&request, &Silent) {
        Err(VerifyError::Refused { analysis, refusal }) => Ok(Err((analysis, refusal))),
        other => Ok(Ok(other?)),
    })?;
    let title = match (&given, &args.reference) {
        (_, Some(reference)) => format!("{} against {}", model.display(), reference.display()),
        (Some(g), None) => format!("{} with {}", model.display(), g.name().display()),
        (None, None) => model.display().to_string(),
    };
    match outcome {
        Ok(outcome) => VerifyReport::new(py, outcome, title),
        Err((analysis, refusal)) => {
            let (Some(g), Some(settings)) = (&given, &settings) else {
                return Err(Failure::internal("verify refused without a set").into_py(py));
            };
            let report = Py::new(py, Report::new(py, &analysis.0, settings, model, g.name())?)?;
            let filter = Default::default();
            let mut lines =
                said::refusal_lines(&refusal, &filter, Path::new("the quantized model"));
            lines.push(render(&VerifyError::Refused { analysis, refusal }));
            Err(refused(py, lines.join("\n"), report, "verify::refused"))
        }
    }
}

/// Where the samples come from: `inputs`, or random ones.
fn source(args: &VerifyArgs<'_>) -> PyResult<Source> {
    let inputs = samples::inputs(args.inputs.as_ref())?;
    if !inputs.is_empty() {
        if args.samples.is_some() || args.seed.is_some() {
            return Err(PyValueError::new_err(
                "samples and seed say how random samples are drawn; with inputs none are drawn, so leave them out",
            ));
        }
        return Ok(match inputs {
            Inputs::Paths(paths) => Source::Files(paths),
            Inputs::Arrays(arrays) => Source::Memory(arrays),
        });
    }
    let samples = args.samples.unwrap_or(DEFAULT_SAMPLES);
    if !(1..=MAX_SAMPLES).contains(&samples) {
        return Err(PyValueError::new_err(format!(
            "samples is how many random samples to draw, from 1 to {MAX_SAMPLES}, not {samples}"
        )));
    }
    Ok(Source::Random {
        samples: samples as usize,
        seed: args.seed.unwrap_or(0),
    })
}
