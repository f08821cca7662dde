//! `check --fix --calibrate`: every fixture's set with its activation
//! entries removed goes through it to a clean check, and the model it
//! quantizes is as accurate as the one the full set quantizes (within
//! 3 dB of SQNR against the float model, measured with the interpreter's
//! integer kernels, as onert computes); the encoder's raw export goes through it and
//! `apply`; the report names the samples and warns about too few or random
//! ones.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{fixture, q_implant, FAMILIES};
use q_implant::analysis::{self, CheckOptions};
use q_implant::graph::Graph;
use q_implant::interpret::{Data, Options, Params, Session, Tensor};
use q_implant::model::CircleFile;
use q_implant::qparam::npy;
use q_implant::samples::Rng;

/// The older real networks calibrated beside the families.
const OTHER_SETS: [&str; 4] = ["resnet18", "encoder", "encoder_qkv", "convnet"];

/// How far below the full set's SQNR the calibrated set may be.
const SQNR_SLACK_DB: f64 = 3.0;

/// Calibration samples written as npy files: standard normal, as the
/// fixtures' exporter calibrated.
const CALIBRATION_SAMPLES: usize = 16;

/// `count` standard normal samples for `model` in a new directory.
fn sample_dir(model: &Path, count: usize, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_samples(model, dir.path(), count, seed);
    dir
}

/// A copy of a fixture's set; with `strip`, without its activation
/// entries (every entry without a value).
fn copy_set(name: &str, strip: bool) -> (tempfile::TempDir, PathBuf) {
    let src = fixture(&format!("{name}.torch-qparam"));
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "npy") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let text = std::fs::read_to_string(src.join("qparam.json")).unwrap();
    let mut set: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    if strip {
        set.retain(|_, e| e.get("value").is_some());
    }
    let path = dir.path().join("qparam.json");
    std::fs::write(&path, serde_json::to_string_pretty(&set).unwrap()).unwrap();
    (dir, path)
}

/// `check --fix --calibrate SAMPLES` on the set at `path`; the stderr.
fn fix_calibrated(model: &Path, path: &Path, samples: &Path) -> String {
    let out = q_implant()
        .args(["check", "--isolated"])
        .arg(model)
        .arg(path)
        .arg("--fix")
        .arg(format!("--calibrate={}", samples.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Removes the keys that name no tensor from the set at `path`.
fn drop_unresolved(model: &Path, path: &Path) {
    let (doc, _) = common::check_json(model, path);
    let unresolved: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501")
        .filter_map(|d| d["key"].as_str().map(String::from))
        .collect();
    let text = std::fs::read_to_string(path).unwrap();
    let mut set: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    set.retain(|k, _| !unresolved.contains(k));
    std::fs::write(path, serde_json::to_string_pretty(&set).unwrap()).unwrap();
}

/// The errors `check` finds in the set at `path`.
fn errors(model: &Path, path: &Path) -> Vec<String> {
    let (doc, _) = common::check_json(model, path);
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| format!("{} {}", d["code"], d["message"]))
        .collect()
}

/// The parameters the set at `path` gives each tensor of subgraph 0, as
/// the interpreter applies them.
fn planned(graph: &Graph<'_>, path: &Path) -> HashMap<usize, Params> {
    let analysis = analysis::check(graph, path, &CheckOptions::default()).unwrap();
    analysis
        .plan
        .writes
        .iter()
        .filter(|w| w.tensor.subgraph == 0)
        .map(|w| {
            let (qmin, qmax) = w.params.dtype.range();
            let params = Params {
                scale: w.params.scale.to_vec(),
                zero_point: w.params.zero_point.to_vec(),
                axis: w.params.quantized_dimension as usize,
                qmin,
                qmax,
            };
            (w.tensor.index, params)
        })
        .collect()
}

/// Runs subgraph 0 on `inputs`, fake-quantized with `params` (float
/// without); every graph output of every sample, flattened.
fn outputs(
    graph: &Graph<'_>,
    inputs: &[Tensor],
    params: Option<&HashMap<usize, Params>>,
) -> Vec<f32> {
    let mut session = Session::new(graph, 0, Options::default()).unwrap();
    if let Some(p) = params {
        session = session.with_params(|t| p.get(&t).cloned());
    }
    session
        .feed(inputs.iter().map(|x| vec![x.clone()]).collect())
        .unwrap();
    let outs = session.run_all(&mut |_, _| {}).unwrap();
    let mut flat = Vec::new();
    for out in outs {
        for t in out.expect("every output is evaluated") {
            match t.data {
                Data::F32(v) => flat.extend(v),
                other => panic!("a float output, not {:?}", other.kind()),
            }
        }
    }
    flat
}

/// SQNR in dB of `q` against `f`.
fn sqnr(f: &[f32], q: &[f32]) -> f64 {
    let signal: f64 = f.iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = f
        .iter()
        .zip(q)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    10.0 * (signal / noise.max(f64::MIN_POSITIVE)).log10()
}

/// Evaluation inputs: the fixture's reference input (when it has one) and
/// standard normal samples of another seed than the calibration's.
fn evaluation_inputs(name: &str, model: &Path) -> Vec<Tensor> {
    let shape = common::input_shape(model);
    let mut rng = Rng::new(0xe7a1);
    let mut inputs: Vec<Tensor> = (0..3)
        .map(|_| Tensor::f32(shape.clone(), common::normal(&shape, &mut rng)).unwrap())
        .collect();
    let reference = fixture(&format!("{name}.reference")).join("input_0.npy");
    if let Ok(bytes) = std::fs::read(&reference) {
        let header = npy::parse_header(&bytes).unwrap();
        let data: Vec<f32> = bytes[header.data_offset..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        inputs.push(Tensor::f32(shape, data).unwrap());
    }
    inputs
}

/// The SQNR of the model the set at `path` quantizes.
fn sqnr_of(model: &Path, path: &Path, inputs: &[Tensor]) -> f64 {
    let file = CircleFile::open(model).unwrap();
    let graph = Graph::new(&file);
    let float = outputs(&graph, inputs, None);
    let params = planned(&graph, path);
    let quantized = outputs(&graph, inputs, Some(&params));
    sqnr(&float, &quantized)
}

#[test]
fn sets_without_activation_entries_calibrate_clean_and_as_accurate_as_the_full_set() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for name in FAMILIES.iter().chain(&OTHER_SETS) {
        let model = fixture(&format!("{name}.circle"));
        let samples = sample_dir(&model, CALIBRATION_SAMPLES, 0xca1);
        let (_full_dir, full) = copy_set(name, false);
        fix_calibrated(&model, &full, samples.path());
        // Keys the matcher left unresolved keep their tensors from being
        // calibrated (the user may still rename them): without them, the
        // full set quantizes every tensor too.
        drop_unresolved(&model, &full);
        fix_calibrated(&model, &full, samples.path());
        let (_stripped_dir, stripped) = copy_set(name, true);
        let said = fix_calibrated(&model, &stripped, samples.path());
        assert!(
            said.contains(&format!("from {CALIBRATION_SAMPLES} samples")),
            "{name}: the report names the samples: {said}"
        );
        let left = errors(&model, &stripped);
        assert!(left.is_empty(), "{name}: not clean: {left:#?}");
        let inputs = evaluation_inputs(name, &model);
        let (full_db, calibrated_db) = (
            sqnr_of(&model, &full, &inputs),
            sqnr_of(&model, &stripped, &inputs),
        );
        report.push(format!(
            "{name}: full {full_db:.1} dB, calibrated {calibrated_db:.1} dB"
        ));
        if calibrated_db < full_db - SQNR_SLACK_DB {
            failures.push(name);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:?}:\n{}", report.join("\n"));
}

#[test]
fn too_few_and_random_samples_are_warned_about() {
    let model = fixture("convnet.circle");
    let (_dir, path) = copy_set("convnet", true);
    let few = sample_dir(&model, 3, 1);
    let said = fix_calibrated(&model, &path, few.path());
    assert!(
        said.contains("warning: calibrated from 3 samples"),
        "{said}"
    );
    let (_dir, path) = copy_set("convnet", true);
    let out = q_implant()
        .args(["check", "--isolated"])
        .arg(&model)
        .arg(&path)
        .args(["--fix", "--calibrate"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("random samples, not from data"), "{said}");
    assert!(errors(&model, &path).is_empty());
}

/// The encoder's raw export (PyTorch names, outputs the exporter never
/// saw, a LayerNorm folded into a Linear) goes through `check --fix
/// --calibrate` and `apply`; the model it writes is within 3 dB of the one
/// a set calibrated for every tensor (by the numpy reference interpreter)
/// writes.
#[test]
fn the_encoders_raw_export_calibrates_and_applies() {
    let model = fixture("encoder.circle");
    let samples = sample_dir(&model, CALIBRATION_SAMPLES, 0xca1);
    let (dir, path) = copy_set("encoder", false);
    fix_calibrated(&model, &path, samples.path());
    let left = errors(&model, &path);
    assert!(left.is_empty(), "{left:#?}");
    let out = dir.path().join("encoder.q.circle");
    q_implant()
        .args(["apply", "--isolated"])
        .arg(&model)
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let inputs = evaluation_inputs("encoder", &model);
    let raw_db = quantized_model_sqnr(&model, &out, &inputs);
    // The hand-calibrated set, its constants completed by --fix.
    let hand = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("encoder.qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, hand.path().join(p.file_name().unwrap())).unwrap();
    }
    let hand_set = hand.path().join("qparam.json");
    q_implant()
        .args(["check", "--isolated"])
        .arg(&model)
        .arg(&hand_set)
        .arg("--fix")
        .assert()
        .success();
    let hand_db = sqnr_of(&model, &hand_set, &inputs);
    assert!(
        raw_db >= hand_db - SQNR_SLACK_DB,
        "raw export calibrated: {raw_db:.1} dB, hand-calibrated set: {hand_db:.1} dB"
    );
}

/// The SQNR of a quantized model (run as an integer runtime would, in the
/// interpreter) against the float `model`.
fn quantized_model_sqnr(model: &Path, quantized: &Path, inputs: &[Tensor]) -> f64 {
    let file = CircleFile::open(model).unwrap();
    let graph = Graph::new(&file);
    let float = outputs(&graph, inputs, None);
    let qfile = CircleFile::open(quantized).unwrap();
    let qgraph = Graph::new(&qfile);
    let got = outputs(&qgraph, inputs, None);
    sqnr(&float, &got)
}

/// A model of two subgraphs sharing every tensor name: a key names the
/// tensors of its name in both, so each calibrated or derived entry is
/// added once, and the fixed set checks clean (the export's weights only,
/// and the full set less its input's entry).
#[test]
fn two_subgraphs_sharing_names_get_one_entry_per_name() {
    let model = fixture("multi.circle");
    let samples = sample_dir(&model, 8, 0x5b);
    let (_weights_dir, weights) = copy_set("mlp", true);
    let full_dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("mlp.qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, full_dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let full = full_dir.path().join("qparam.json");
    let text = std::fs::read_to_string(&full).unwrap();
    let mut set: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    set.remove("tico::x").unwrap();
    std::fs::write(&full, serde_json::to_string_pretty(&set).unwrap()).unwrap();
    for path in [weights, full] {
        let said = fix_calibrated(&model, &path, samples.path());
        assert!(!said.contains("fix::broken"), "{said}");
        let text = std::fs::read_to_string(&path).unwrap();
        let set: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert!(set.contains_key("tico::x"), "{said}\n{text}");
        let left = errors(&model, &path);
        assert!(left.is_empty(), "{left:#?}\n{said}");
    }
}

/// `values` for every element of `model`'s input, as an npy file at `path`.
fn constant_sample(model: &Path, path: &Path, value: f32) {
    let shape = common::input_shape(model);
    let count: usize = shape.iter().product();
    let bytes: Vec<u8> = std::iter::repeat_n(value, count)
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(path, npy::encode("<f4", false, &shape, &bytes)).unwrap();
}

/// A sample holding no finite value is refused, naming the file; a tensor
/// that takes one value over every sample is warned about by name.
#[test]
fn degenerate_samples_are_refused_or_warned_about() {
    let model = fixture("mlp.circle");
    let samples = sample_dir(&model, 8, 0x6a);
    let nan = samples.path().join("zz-nan.npy");
    constant_sample(&model, &nan, f32::NAN);
    let (_dir, path) = copy_set("mlp", true);
    let out = q_implant()
        .args(["check", "--isolated"])
        .arg(&model)
        .arg(&path)
        .arg("--fix")
        .arg(format!("--calibrate={}", samples.path().display()))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("zz-nan.npy") && said.contains("no finite value"),
        "{said}"
    );
    let zeros = tempfile::tempdir().unwrap();
    constant_sample(&model, &zeros.path().join("zero.npy"), 0.0);
    let said = fix_calibrated(&model, &path, zeros.path());
    assert!(
        said.contains("warning: `tico::x` took the single value 0 on every sample"),
        "{said}"
    );
}

/// A directory's subdirectories are not searched for samples, and the
/// report says so.
#[test]
fn subdirectories_of_a_samples_directory_are_named_as_not_read() {
    let model = fixture("mlp.circle");
    let samples = sample_dir(&model, 8, 0x7b);
    let nested = samples.path().join("more");
    std::fs::create_dir(&nested).unwrap();
    common::write_samples(&model, &nested, 2, 0x7c);
    let (_dir, path) = copy_set("mlp", true);
    let said = fix_calibrated(&model, &path, samples.path());
    assert!(said.contains("from 8 samples"), "{said}");
    assert!(
        said.contains("more`") && said.contains("not read"),
        "{said}"
    );
}

/// `--calibrate` takes every path after it: when it took MODEL and
/// QPARAM, a note says so and how to write it.
#[test]
fn calibrate_taking_model_and_set_is_explained() {
    let model = fixture("mlp.circle");
    let samples = sample_dir(&model, 8, 0x8c);
    let (_dir, path) = copy_set("mlp", true);
    let out = q_implant()
        .args(["check", "--isolated", "--fix", "--calibrate"])
        .arg(samples.path())
        .arg(&model)
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("note: `--calibrate` takes every path after it")
            && said.contains("mlp.circle")
            && said.contains("--calibrate=PATH"),
        "{said}"
    );
}
