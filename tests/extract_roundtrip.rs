//! The round trip as a property: `apply(F, extract(apply(F, Q)))` is byte
//! for byte `apply(F, Q)`, for every fixture set (the PyTorch-keyed ones
//! after `check --fix` into a copy), with `--propagate`, `--float-io` and
//! mixed precision (`--allow-float`), in both layouts, and for generated
//! valid sets.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use q_implant::commands::{
    self, ApplyRequest, CheckRequest, ConfigSource, ExtractRequest, Outcome, Overrides, Silent,
};
use q_implant::model::Layout;
use q_implant::qparam::{self, npy, LoadOptions, QDType};
use serde_json::json;

use common::fixture;

#[derive(Clone, Debug, Default)]
struct Options {
    propagate: bool,
    float_io: bool,
    allow_float: Vec<String>,
    large: bool,
}

/// `apply` in the library; the model's bytes. Panics with the refusing
/// codes if the set is refused.
fn apply(model: &Path, set: &Path, out: &Path, o: &Options) -> Vec<u8> {
    let overrides = Overrides {
        propagate: Some(o.propagate),
        float_io: Some(o.float_io),
        allow_float: o.allow_float.clone(),
        config: ConfigSource::Isolated,
        ..Default::default()
    };
    let settings = overrides.resolve(model, set).unwrap();
    let request = ApplyRequest {
        model,
        qparam: set,
        output: out,
        settings: &settings,
        layout: if o.large {
            Layout::Large
        } else {
            Layout::Plain
        },
        force: true,
        dry_run: false,
        deny_warnings: false,
    };
    match commands::apply(&request, &Silent) {
        Ok(Outcome::Written { .. }) => std::fs::read(out).unwrap(),
        Ok(Outcome::Refused { analysis, .. }) => panic!(
            "{} refused: {:?}",
            set.display(),
            analysis
                .findings
                .iter()
                .filter(|d| d.severity == q_implant::diagnostic::Severity::Error)
                .map(|d| format!("{} {}", d.code(), d.message))
                .collect::<Vec<_>>()
        ),
        Ok(Outcome::DryRun { .. }) => unreachable!("not a dry run"),
        Err(e) => panic!("{}: {e}", set.display()),
    }
}

/// The round trip of `set` on `model`; returns what extract listed as
/// inserted.
fn round_trip(model: &Path, set: &Path, o: &Options) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.circle");
    let applied = apply(model, set, &first, o);
    let extracted = dir.path().join("extracted");
    let outcome = commands::extract(
        &ExtractRequest {
            model: &first,
            output: &extracted,
            force: false,
            keys_from: None,
        },
        &Silent,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", set.display()));
    let again = apply(
        model,
        &extracted.join("qparam.json"),
        &dir.path().join("again.circle"),
        o,
    );
    assert!(
        applied == again,
        "{} on {} with {o:?}: the model from the extracted set differs",
        set.display(),
        model.display()
    );
    assert!(
        outcome.extracted.left.is_empty(),
        "{:?}",
        outcome.extracted.left
    );
    outcome
        .extracted
        .inserted
        .iter()
        .map(|i| i.tensor.clone())
        .collect()
}

/// A copy of a fixture set in a temporary directory.
fn copy_of(set: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture(set)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let json = dir.path().join("qparam.json");
    (dir, json)
}

/// A PyTorch-keyed fixture set after `check --fix`, in a copy.
fn fixed(set: &str, model: &Path) -> (tempfile::TempDir, PathBuf) {
    let (dir, json) = copy_of(set);
    let settings = Overrides {
        config: ConfigSource::Isolated,
        ..Default::default()
    }
    .resolve(model, &json)
    .unwrap();
    let request = CheckRequest {
        model,
        qparam: &json,
        settings: &settings,
        fix: Some(None),
        preview: false,
        run: Default::default(),
    };
    commands::check(&request, &Silent).unwrap();
    (dir, json)
}

fn option_sets() -> Vec<Options> {
    vec![
        Options::default(),
        Options {
            propagate: true,
            ..Default::default()
        },
        Options {
            float_io: true,
            ..Default::default()
        },
        Options {
            float_io: true,
            propagate: true,
            large: true,
            ..Default::default()
        },
    ]
}

#[test]
fn every_fixture_set_round_trips_byte_for_byte() {
    let mut cases: Vec<(PathBuf, PathBuf, Option<tempfile::TempDir>)> = Vec::new();
    for name in ["mlp", "convnet", "story"] {
        cases.push((
            fixture(&format!("{name}.circle")),
            fixture(&format!("{name}.qparam/qparam.json")),
            None,
        ));
    }
    cases.push((
        fixture("multi.circle"),
        fixture("mlp.qparam/qparam.json"),
        None,
    ));
    for name in ["mlp", "convnet", "story", "resnet18"] {
        let model = fixture(&format!("{name}.circle"));
        let (dir, json) = fixed(&format!("{name}.torch-qparam"), &model);
        cases.push((model, json, Some(dir)));
    }
    for (model, set, _) in &cases {
        for o in option_sets() {
            let inserted = round_trip(model, set, &o);
            if o.float_io {
                assert!(
                    inserted.iter().any(|t| t.ends_with("::quantized")),
                    "{}: {inserted:?}",
                    set.display()
                );
            } else {
                assert!(inserted.is_empty(), "{}: {inserted:?}", set.display());
            }
        }
    }
}

/// The mlp with its first layer kept float: a DEQUANTIZE before it and a
/// QUANTIZE after it, whose twins extract lists and never keys.
#[test]
fn mixed_precision_round_trips_and_its_twins_are_listed() {
    let (_dir, json) = copy_of("mlp.qparam");
    let mut doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let float: Vec<String> = doc.keys().filter(|k| k.contains("fc1")).cloned().collect();
    assert_eq!(float.len(), 2);
    for k in &float {
        doc.remove(k);
    }
    std::fs::write(&json, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    for float_io in [false, true] {
        let o = Options {
            float_io,
            allow_float: float.clone(),
            ..Default::default()
        };
        let inserted = round_trip(&fixture("mlp.circle"), &json, &o);
        // The QUANTIZE's float input always; the DEQUANTIZE's output only
        // when the model input is quantized (with --float-io the float
        // layer reads it as it is).
        let twins = inserted.iter().filter(|t| t.contains("::float")).count();
        assert_eq!(twins, if float_io { 1 } else { 2 }, "{inserted:?}");
    }
}

/// What a generated set varies for one entry of a fixture set.
#[derive(Clone, Debug)]
struct EntryChoice {
    /// Index into [uint8, int8, int16] (biases stay int32).
    dtype: usize,
    /// Seeds for the scales, zero points and data.
    seed: u64,
}

/// A small deterministic generator, so one seed gives one entry.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Writes a valid set with the shape of `fixture_set` (its keys, channel
/// counts and data shapes) and random parameters and data.
fn generated(fixture_set: &str, choices: &[EntryChoice], dir: &Path) -> PathBuf {
    let (set, problems) = qparam::load(
        &fixture(&format!("{fixture_set}/qparam.json")),
        LoadOptions::default(),
    )
    .unwrap();
    assert!(problems.is_empty());
    let mut doc = serde_json::Map::new();
    for (i, e) in set.entries.iter().enumerate() {
        let choice = &choices[i % choices.len()];
        let mut rng = Lcg(choice.seed ^ i as u64);
        let dtype = match e.dtype.as_ref().unwrap().value {
            QDType::I32 => QDType::I32,
            _ => [QDType::U8, QDType::I8, QDType::I16][choice.dtype],
        };
        let channels = e.scales().unwrap().len();
        let scales: Vec<u8> = (0..channels)
            .flat_map(|_| {
                let s = 10f32.powf(rng.range(-4000, 1000) as f32 / 1000.0);
                s.to_le_bytes()
            })
            .collect();
        let (lo, hi) = match dtype {
            QDType::I32 => (0, 0),
            d => d.range(),
        };
        let zps: Vec<u8> = (0..channels)
            .flat_map(|_| rng.range(lo, hi).to_le_bytes())
            .collect();
        let file = |name: String, descr: &str, shape: &[usize], data: &[u8]| {
            std::fs::write(dir.join(&name), npy::encode(descr, false, shape, data)).unwrap();
            name
        };
        let mut entry = json!({
            "dtype": dtype.name(),
            "scale": file(format!("{i}-s.npy"), "<f4", &[channels], &scales),
            "zerop": file(format!("{i}-z.npy"), "<i8", &[channels], &zps),
            "quantized_dimension": e.quantized_dimension.as_ref().unwrap().value,
        });
        if let Some(v) = &e.value {
            let shape = v.value.header.shape.clone();
            let n: usize = shape.iter().product();
            let (vlo, vhi) = dtype.range();
            let (vlo, vhi) = (vlo.max(-100_000), vhi.min(100_000));
            let data: Vec<u8> = (0..n)
                .flat_map(|_| {
                    let x = rng.range(vlo, vhi);
                    x.to_le_bytes()[..dtype.size()].to_vec()
                })
                .collect();
            let descr = dtype.npy_type().descr().to_string();
            entry["value"] = json!(file(format!("{i}-v.npy"), &descr, &shape, &data));
        }
        doc.insert(e.key.clone(), entry);
    }
    let path = dir.join("qparam.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn generated_valid_sets_round_trip_byte_for_byte(
        model in prop::sample::select(vec!["mlp", "convnet", "story"]),
        choices in prop::collection::vec(
            (0usize..3, any::<u64>()).prop_map(|(dtype, seed)| EntryChoice { dtype, seed }),
            1..16,
        ),
        propagate in any::<bool>(),
        float_io in any::<bool>(),
        large in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let set = generated(&format!("{model}.qparam"), &choices, dir.path());
        let o = Options { propagate, float_io, large, ..Default::default() };
        round_trip(&fixture(&format!("{model}.circle")), &set, &o);
    }
}
