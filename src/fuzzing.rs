//! The bodies of the fuzz targets, shared with the regression tests that
//! replay what the fuzzers once found and with the stable-toolchain driver
//! (`examples/fuzz.rs`). Not part of the supported API.

use std::path::Path;

use crate::analysis::{self, CheckOptions};
use crate::commands::inspect::Report;
use crate::diff::{self, Side, Tolerance};
use crate::extract;
use crate::files::AtomicDir;
use crate::fix;
use crate::graph::{dtype_size, Graph};
use crate::implant;
use crate::model::{writer, CircleFile, Layout, ModelParts};
use crate::packed::Packing;
use crate::qparam::{self, json, npy, LoadOptions};
use crate::report::{self, Filter, Format, Sources, View};

/// Any bytes as a model: an error or a model that can be viewed, inspected
/// and written again in both layouts, and read back.
pub fn read_model(data: &[u8]) {
    let Ok(file) = CircleFile::from_bytes("fuzz.circle", data.to_vec()) else {
        return;
    };
    let _ = Graph::new(&file);
    let report = Report::new(&file);
    let _ = report.to_json();
    let _ = report.to_table();
    let Ok(parts) = ModelParts::from_file(&file) else {
        return;
    };
    for layout in [Layout::Plain, Layout::Large] {
        let mut out = Vec::new();
        if writer::write(&parts, layout, &mut out).is_ok() {
            CircleFile::from_bytes("again.circle", out).expect("a written model reads back");
        }
    }
}

/// Any bytes as qparam.json text and as an npy file.
pub fn parse_qparam(data: &[u8]) {
    let _ = json::parse(&String::from_utf8_lossy(data));
    if let Ok(header) = npy::parse_header(data) {
        let _ = npy::floats(&header.dtype, &data[header.data_offset..]);
    }
}

/// The models [`check_set`] checks parameter sets against, chosen by bits
/// 0, 1 and 5 of its first byte ([`set_model`]); the decoder brings
/// block-wise and int4 weights (its rows are whole blocks of 32).
pub const SET_MODELS: [&str; 5] = ["mlp", "convnet", "story", "multi", "decoder"];

/// The model of [`SET_MODELS`] the first byte `options` chooses: bits 0
/// and 1, and bit 5 as the third bit of the index (indices past the end
/// wrap around).
pub fn set_model(options: u8) -> &'static str {
    let index = usize::from(options & 3) | usize::from(options & 32) >> 3;
    SET_MODELS[index % SET_MODELS.len()]
}

/// The first byte that chooses `model` with every option off.
pub fn set_model_options(model: &str) -> Option<u8> {
    let index = SET_MODELS.iter().position(|m| *m == model)? as u8;
    Some(index & 3 | (index & 4) << 3)
}

/// Separates the parts of a [`check_set`] input.
pub const SET_SEPARATOR: &[u8] = b"\x00\x01npy\x01\x00";

/// At most this many npy files are written for one input.
pub const SET_MAX_FILES: usize = 64;

/// A whole run of `check` and what follows it, on one input: the first
/// byte chooses a fixture model (see [`SET_MODELS`]) and options; the rest
/// is a qparam.json text and then npy files (`0.npy`, `1.npy`, ...), parted
/// by [`SET_SEPARATOR`]. The files are written to a temporary directory;
/// the set is checked, reported in every format, fixed (in memory), and
/// implanted into a model kept in memory.
///
/// Beyond "no panic", it holds the analysis to its word: a plan its gate
/// lets through implants without error, into a model that reads back and
/// whose tensors' data fit their shapes; a fixed text of a JSON file is
/// JSON; the JSON report is JSON.
pub fn check_set(data: &[u8]) {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let name = set_model(options);
    let Some(bytes) = fixture_model(name) else {
        return;
    };
    let file = CircleFile::from_bytes(format!("{name}.circle"), bytes)
        .expect("the fixture models are valid");
    let graph = Graph::new(&file);
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let mut parts = split(rest, SET_SEPARATOR);
    let text = parts.next().unwrap_or_default();
    let qparam = dir.path().join("qparam.json");
    if std::fs::write(&qparam, text).is_err() {
        return;
    }
    for (i, npy) in parts.take(SET_MAX_FILES).enumerate() {
        if std::fs::write(dir.path().join(format!("{i}.npy")), npy).is_err() {
            return;
        }
    }
    let allow_float = if options & 16 != 0 {
        // Every third tensor may stay float: mixed precision.
        graph
            .tensors()
            .step_by(3)
            .map(|t| t.name.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let check_options = CheckOptions {
        propagate: options & 4 != 0,
        float_io: options & 8 != 0,
        allow_float,
        ..Default::default()
    };
    let Ok(analysis) = analysis::check(&graph, &qparam, &check_options) else {
        return;
    };

    let filter = Filter::default();
    let view = View::new(&analysis, &filter);
    let sources = Sources {
        model: Path::new(name),
        qparam: &qparam,
    };
    let style = report::Style::default();
    for format in [
        Format::Human,
        Format::Concise,
        Format::Full,
        Format::Sarif,
        Format::Github,
    ] {
        let _ = report::render(&view, &sources, format, &style);
    }
    let _ = report::render_statistics(&view, &sources, &style);
    let json_report = report::render(&view, &sources, Format::Json, &report::Style::default());
    serde_json::from_str::<serde_json::Value>(&json_report).expect("the JSON report is JSON");

    let Ok(plan) = fix::plan(&graph, &analysis, &check_options) else {
        return;
    };
    let fixed = plan.text.clone();
    if analysis.qparam.is_utf8 && json::parse(&analysis.qparam.text).is_ok() {
        json::parse(&fixed).expect("a fixed JSON text is JSON");
    }

    let passes = analysis.plan.gate(false, |_| false).is_ok();
    match implant::implant(&file, &graph, &analysis.plan) {
        Ok(implanted) if passes => {
            for layout in [Layout::Plain, Layout::Large] {
                let mut out = Vec::new();
                writer::write(&implanted.parts, layout, &mut out)
                    .unwrap_or_else(|e| panic!("a clean plan could not be written: {e:?}"));
                let again = CircleFile::from_bytes("implanted.circle", out)
                    .expect("an implanted model reads back");
                for t in Graph::new(&again).tensors() {
                    if let Some(data) = t.data {
                        let expected = t.element_count().and_then(|n| match Packing::of(t.dtype) {
                            Some(packing) => packing.stored_len(n),
                            None => dtype_size(t.dtype).map(|s| n * s as u64),
                        });
                        assert_eq!(
                            Some(data.len),
                            expected,
                            "`{}` holds data of the wrong size",
                            t.name
                        );
                    }
                }
            }
        }
        Ok(_) => {}
        Err(e) => assert!(
            !passes,
            "the gate passed a plan the implant refuses: {e}; findings: {:?}",
            analysis
                .findings
                .iter()
                .map(|d| d.code())
                .collect::<Vec<_>>()
        ),
    }
}

/// Any bytes as a quantized model, verified against itself run as a float
/// model and as the model it is: the interpreter runs it or says why not,
/// under a small memory budget, and every figure of the report is a number
/// or undefined (never a panic).
pub fn verify_model(data: &[u8]) {
    use crate::interpret::Options;
    use crate::verify::{compare, inputs};
    let Ok(file) = CircleFile::from_bytes("fuzz.circle", data.to_vec()) else {
        return;
    };
    let graph = Graph::new(&file);
    let Some(sg) = graph.subgraphs.first() else {
        return;
    };
    if inputs::check_random_shapes(sg).is_err() {
        return;
    }
    let source = inputs::Source::Random {
        samples: 2,
        seed: u64::from(data.len() as u32),
    };
    let Ok(samples) = inputs::make(&source, &graph, &graph) else {
        return;
    };
    // Small enough that a hostile shape is refused quickly.
    let options = Options {
        max_memory: 64 << 20,
        ..Default::default()
    };
    let Ok((report, _)) = compare::compare(&graph, &graph, samples.values, &options, true) else {
        return;
    };
    let _ = crate::verify::human::render(&report, crate::report::Paint(false), true);
    let _ = crate::verify::html::render(&report, "fuzz");
    let json = report.to_json();
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "the JSON report parses: {json}"
    );
}

/// Any bytes as a sample file (`.npy` or `.npz`, by the first byte) for
/// one of a few kinds of model inputs: read or refused with an error that
/// renders, never a panic; a sample read holds exactly each input's shape.
pub fn read_samples(data: &[u8]) {
    use crate::samples::{self, ArrayData, InputKind, InputSpec, IntegerType};
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let spec = |name: &str, shape: &[usize], kind| InputSpec {
        name: name.to_string(),
        shape: shape.to_vec(),
        kind,
    };
    let real = InputKind::Real { integer: None };
    let inputs = match choice % 4 {
        0 => vec![spec("x", &[1, 4], real)],
        1 => vec![spec("ids", &[1, 8], InputKind::Integer(IntegerType::I64))],
        2 => vec![
            spec("a", &[2, 3], real),
            spec("b", &[3], InputKind::Integer(IntegerType::I32)),
        ],
        _ => vec![spec(
            "q",
            &[1, 2, 2, 1],
            InputKind::Real {
                integer: Some(IntegerType::U8),
            },
        )],
    };
    let path = Path::new(if choice & 4 == 0 {
        "fuzz.npy"
    } else {
        "fuzz.npz"
    });
    match samples::sample_from_bytes(path, bytes, &inputs, &mut Vec::new()) {
        Ok(sample) => {
            assert_eq!(sample.len(), inputs.len());
            for (array, spec) in sample.iter().zip(&inputs) {
                let count: usize = spec.shape.iter().product();
                let len = match &array.data {
                    ArrayData::F32(v) => v.len(),
                    ArrayData::I32(v) => v.len(),
                    ArrayData::I64(v) => v.len(),
                    ArrayData::U8(v) => v.len(),
                    ArrayData::I8(v) => v.len(),
                    ArrayData::I16(v) => v.len(),
                    ArrayData::Bool(v) => v.len(),
                };
                assert_eq!(
                    (array.shape.as_slice(), len),
                    (spec.shape.as_slice(), count)
                );
            }
        }
        Err(e) => {
            let _ = format!("{:?}", miette::Report::new(e));
        }
    }
}

/// Any bytes as a quantized model: `extract` reads it or says why not; a
/// set it reads is written, reads back without a problem, and `diff` of
/// the model and that set finds them the same.
pub fn extract_model(data: &[u8]) {
    let Ok(file) = CircleFile::from_bytes("fuzz.circle", data.to_vec()) else {
        return;
    };
    let graph = Graph::new(&file);
    let Ok(extracted) = extract::read(&graph) else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let model = dir.path().join("model.circle");
    let out = dir.path().join("set");
    if std::fs::write(&model, data).is_err() {
        return;
    }
    let Ok(mut atomic) = AtomicDir::create(&out) else {
        return;
    };
    if extract::write(&extracted, &file, &mut atomic).is_err() || atomic.commit(false).is_err() {
        return;
    }
    let (set, problems) = qparam::load(&out.join("qparam.json"), LoadOptions::default())
        .expect("the written set reads back");
    assert!(
        problems.is_empty(),
        "the written set has problems: {problems:?}"
    );
    assert_eq!(set.entries.len(), extracted.entries.len());
    let a = Side::open(&model, LoadOptions::default()).expect("the model reads as a side");
    let b = Side::open(&out, LoadOptions::default()).expect("the set reads as a side");
    let same = diff::compare(&a, &b, Tolerance::default()).expect("both sides read");
    assert!(
        same.differences.is_empty(),
        "a model and the set extracted from it differ: {:?}",
        same.differences
    );
}

/// A parameter set (as [`check_set`] takes it) compared with itself and
/// with the fixture model's correct set: no panic, and a set that reads is
/// the same as itself.
pub fn diff_sets(data: &[u8]) {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let name = set_model(options);
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let mut parts = split(rest, SET_SEPARATOR);
    let qparam = dir.path().join("qparam.json");
    if std::fs::write(&qparam, parts.next().unwrap_or_default()).is_err() {
        return;
    }
    for (i, npy) in parts.take(SET_MAX_FILES).enumerate() {
        if std::fs::write(dir.path().join(format!("{i}.npy")), npy).is_err() {
            return;
        }
    }
    let Ok(side) = Side::open(&qparam, LoadOptions::default()) else {
        return;
    };
    let same =
        diff::compare(&side, &side, Tolerance::default()).expect("a set read once reads again");
    assert!(
        same.differences.is_empty(),
        "a set differs from itself: {:?}",
        same.differences
    );
    let set = if name == "multi" { "mlp" } else { name };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{set}.qparam"));
    if let Ok(other) = Side::open(&fixture, LoadOptions::default()) {
        let _ = diff::compare(
            &side,
            &other,
            Tolerance {
                rtol: f64::from(options >> 4) / 16.0,
            },
        );
    }
}

/// A fixture model with a fixture set implanted, in memory: the seeds of
/// [`extract_model`].
pub fn quantized_fixture(model: &str, set: &str) -> Option<Vec<u8>> {
    let file = CircleFile::from_bytes(format!("{model}.circle"), fixture_model(model)?).ok()?;
    let graph = Graph::new(&file);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(set);
    let options = CheckOptions {
        float_io: model == "mlp",
        ..Default::default()
    };
    let analysis = analysis::check(&graph, &dir.join("qparam.json"), &options).ok()?;
    analysis.plan.gate(false, |_| false).ok()?;
    let implanted = implant::implant(&file, &graph, &analysis.plan).ok()?;
    let mut out = Vec::new();
    writer::write(&implanted.parts, Layout::Plain, &mut out).ok()?;
    Some(out)
}

/// The bytes of a fixture model, read once.
fn fixture_model(name: &str) -> Option<Vec<u8>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static MODELS: OnceLock<Mutex<HashMap<String, Option<Vec<u8>>>>> = OnceLock::new();
    let models = MODELS.get_or_init(Default::default);
    let mut models = models.lock().unwrap_or_else(|e| e.into_inner());
    models
        .entry(name.to_string())
        .or_insert_with(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
            std::fs::read(dir.join(format!("{name}.circle"))).ok()
        })
        .clone()
}

/// `data` cut at every occurrence of `separator`.
fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(separator.len()).position(|w| w == separator) {
            Some(at) => {
                rest = Some(&r[at + separator.len()..]);
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}
