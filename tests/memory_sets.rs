//! A qparam set held in memory is checked exactly as the same set on disk:
//! the same findings (codes, severities, keys, fields, tensors, messages,
//! what is fixable) and the same plan (every tensor write, with the same
//! data), for every fixture set and for sets with faults of every family
//! the reader types. Only places differ: a set in memory has no lines.

mod common;

use std::path::{Path, PathBuf};

use q_implant::analysis::{self, Analysis, CheckOptions, Target};
use q_implant::graph::Graph;
use q_implant::model::CircleFile;
use q_implant::qparam::{self, npy, MemoryEntry, MemorySet, MemoryValue};
use serde_json::Value;

use common::{fixture, QSet};

const ARRAY_FIELDS: [&str; 3] = ["scale", "zerop", "value"];

/// The set at `qparam` as a caller would give it in memory: each npy file
/// it names read into an array, every other value as itself.
fn in_memory(qparam: &Path) -> MemorySet {
    let dir = qparam.parent().unwrap();
    let json: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(qparam).unwrap()).unwrap();
    let entries = json
        .iter()
        .map(|(key, v)| {
            let entry = match v {
                Value::Object(fields) => MemoryEntry::Fields(
                    fields
                        .iter()
                        .map(|(name, f)| (name.clone(), value(dir, name, f)))
                        .collect(),
                ),
                other => MemoryEntry::Value(value(dir, "", other)),
            };
            (key.clone(), entry)
        })
        .collect();
    MemorySet { entries }
}

fn value(dir: &Path, field: &str, v: &Value) -> MemoryValue {
    match v {
        Value::String(rel) if ARRAY_FIELDS.contains(&field) => {
            let bytes = std::fs::read(dir.join(rel)).unwrap();
            let h = npy::parse_header(&bytes).unwrap();
            MemoryValue::Array {
                descr: h.dtype.descr().to_string(),
                fortran_order: h.fortran_order,
                shape: h.shape.clone(),
                bytes: bytes[h.data_offset..].to_vec().into(),
            }
        }
        Value::String(s) => MemoryValue::Text(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => MemoryValue::Integer(n.to_string()),
        Value::Number(_) => other("a float"),
        Value::Bool(_) => other("a bool"),
        Value::Null => other("None"),
        Value::Array(_) => other("a list"),
        Value::Object(_) => other("a dict"),
    }
}

fn other(kind: &str) -> MemoryValue {
    MemoryValue::Other {
        kind: kind.into(),
        given: std::sync::Arc::new(()),
    }
}

/// Everything a finding says but its place.
type Said = (
    &'static str,
    String,
    Option<String>,
    Option<&'static str>,
    Option<String>,
    String,
    bool,
    Vec<String>,
);

fn said(a: &Analysis) -> Vec<Said> {
    a.findings
        .iter()
        .map(|d| {
            (
                d.code(),
                d.severity.name().to_string(),
                d.key.clone(),
                d.field,
                d.tensor.clone(),
                d.message.clone(),
                d.fixable,
                d.suggestions.iter().map(|s| s.name.clone()).collect(),
            )
        })
        .collect()
}

/// Each write: the tensor, its parameters and its data's bytes.
fn planned(a: &Analysis) -> Vec<String> {
    a.plan
        .writes
        .iter()
        .map(|w| {
            let data = w.value.as_ref().map(|v| v.read().unwrap().into_owned());
            format!("{} {:?} {:?} {:?}", w.name, w.params, w.source, data)
        })
        .collect()
}

fn both_ways(model: &Path, qparam: &Path, options: &CheckOptions) -> (Analysis, Analysis) {
    let file = CircleFile::open(model).unwrap();
    let graph = Graph::new(&file);
    let on_disk = analysis::check(&graph, qparam, options).unwrap();
    let (set, problems) = qparam::from_memory(
        &in_memory(qparam),
        Path::new("<memory>"),
        PathBuf::from("."),
        options.load.clone(),
    );
    assert!(set.is_in_memory());
    let from_memory = analysis::analyse(&graph, set, &problems, options);
    (on_disk, from_memory)
}

fn assert_same(model: &Path, qparam: &Path, options: &CheckOptions) -> usize {
    let (disk, memory) = both_ways(model, qparam, options);
    assert_eq!(said(&disk), said(&memory), "{}", qparam.display());
    assert_eq!(planned(&disk), planned(&memory), "{}", qparam.display());
    // Findings in memory have no line; on disk, every placed one has.
    let placed = |a: &Analysis| {
        a.findings
            .iter()
            .filter_map(|d| d.span.as_ref())
            .filter(|s| a.qparam.place(s.start).is_some())
            .count()
    };
    assert_eq!(placed(&memory), 0);
    assert_eq!(
        placed(&disk),
        disk.findings.iter().filter(|d| d.span.is_some()).count()
    );
    disk.findings.len()
}

/// Every fixture set with the model it belongs to.
fn fixture_sets() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let qparam = path.join("qparam.json");
        if !name.contains("qparam") || !qparam.exists() {
            continue;
        }
        let model = fixture(&format!("{}.circle", name.split('.').next().unwrap()));
        out.push((model, qparam));
    }
    out.sort();
    out
}

#[test]
fn every_fixture_set_is_checked_alike_from_memory() {
    let sets = fixture_sets();
    assert!(sets.len() >= 10, "{sets:?}");
    let mut findings = 0;
    for (model, qparam) in &sets {
        findings += assert_same(model, qparam, &CheckOptions::default());
        let options = CheckOptions {
            propagate: true,
            target: Some(Target::Onert),
            ..CheckOptions::default()
        };
        findings += assert_same(model, qparam, &options);
    }
    // The comparison compares something.
    assert!(findings > 100, "{findings}");
}

/// A change that breaks a set.
type Fault<'a> = Box<dyn Fn(&mut QSet) + 'a>;

#[test]
fn faults_of_every_kind_are_found_alike_in_memory() {
    use serde_json::json;
    let npy_file = |set: &QSet, name: &str, descr: &str, shape: &[usize], data: &[u8]| {
        std::fs::write(
            set.dir.path().join(name),
            npy::encode(descr, false, shape, data),
        )
        .unwrap();
        Value::String(name.into())
    };
    let faults: Vec<(&str, Fault)> = vec![
        (
            "0-d float64 scale",
            Box::new(|s| {
                let v = npy_file(s, "f1.npy", "<f8", &[], &0.02f64.to_le_bytes());
                s.json["tico::x"]["scale"] = v;
            }),
        ),
        (
            "int32 zero point, 2-D",
            Box::new(|s| {
                let v = npy_file(s, "f2.npy", "<i4", &[1, 1], &3i32.to_le_bytes());
                s.json["tico::x"]["zerop"] = v;
            }),
        ),
        (
            "an unknown dtype",
            Box::new(|s| s.json["tico::x"]["dtype"] = json!("uint9")),
        ),
        (
            "a dtype that is not a string",
            Box::new(|s| s.json["tico::x"]["dtype"] = json!(8)),
        ),
        (
            "no axis, an unknown field",
            Box::new(|s| {
                let e = s.json["tico::x"].as_object_mut().unwrap();
                e.remove("quantized_dimension");
                e.insert("zero_point".into(), json!(1));
            }),
        ),
        (
            "a negative axis",
            Box::new(|s| s.json["tico::x"]["quantized_dimension"] = json!(-1)),
        ),
        (
            "a number where an array belongs",
            Box::new(|s| s.json["tico::x"]["scale"] = json!(0.5)),
        ),
        (
            "an entry that is not an object",
            Box::new(|s| {
                s.json.insert("extra".into(), json!([1, 2]));
            }),
        ),
        (
            "an object array",
            Box::new(|s| {
                let v = npy_file(s, "f3.npy", "|O", &[1], &[]);
                s.json["tico::x"]["zerop"] = v;
            }),
        ),
        (
            "a big-endian scale",
            Box::new(|s| {
                let v = npy_file(s, "f4.npy", ">f4", &[1], &0.5f32.to_be_bytes());
                s.json["tico::x"]["scale"] = v;
            }),
        ),
    ];
    let model = fixture("convnet.circle");
    for (what, fault) in faults {
        let mut set = QSet::copy_of("convnet");
        fault(&mut set);
        set.save();
        let (disk, memory) = both_ways(&model, &set.path(), &CheckOptions::default());
        let codes = |a: &Analysis| {
            a.findings
                .iter()
                .map(|d| (d.code(), d.key.clone(), d.field))
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(&disk), codes(&memory), "{what}");
        assert!(
            disk.count(q_implant::diagnostic::Severity::Error) > 0,
            "{what}"
        );
        assert_eq!(planned(&disk), planned(&memory), "{what}");
    }
}

#[test]
fn apply_writes_the_same_bytes_from_memory() {
    use q_implant::commands::{self, ApplyRequest, Outcome, Overrides, Silent};
    use q_implant::model::Layout;
    let out = tempfile::tempdir().unwrap();
    for name in ["convnet", "mlp", "story"] {
        let model = fixture(&format!("{name}.circle"));
        let qparam = fixture(&format!("{name}.qparam/qparam.json"));
        let settings = Overrides::default().resolve(&model, &qparam).unwrap();
        let written = |output: &Path, memory: Option<&MemorySet>| {
            let req = ApplyRequest {
                model: &model,
                qparam: &qparam,
                output,
                settings: &settings,
                layout: Layout::Auto,
                force: false,
                dry_run: false,
                deny_warnings: false,
            };
            let outcome = match memory {
                Some(set) => commands::apply_memory(&req, set, &Silent),
                None => commands::apply(&req, &Silent),
            };
            assert!(matches!(outcome, Ok(Outcome::Written { .. })), "{name}");
            std::fs::read(output).unwrap()
        };
        let from_disk = written(&out.path().join(format!("{name}.disk.circle")), None);
        let set = in_memory(&qparam);
        let from_memory = written(&out.path().join(format!("{name}.mem.circle")), Some(&set));
        assert!(from_disk == from_memory, "{name}: the outputs differ");
    }
}

#[test]
fn a_set_in_memory_is_fixed_as_on_disk() {
    use q_implant::commands::{self, CheckRequest, Overrides, Silent};
    let model = fixture("story.circle");
    let torch = fixture("story.torch-qparam/qparam.json");
    let memory = in_memory(&torch);
    let settings = Overrides::default().resolve(&model, &torch).unwrap();
    let (outcome, fixed) = commands::fix_memory(
        &model,
        &memory,
        Path::new("<memory>"),
        &settings,
        &Default::default(),
        &Silent,
    )
    .unwrap();
    let fixed = fixed.expect("the story set has fixes");
    // On disk: the same set, fixed into a new file.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(torch.parent().unwrap()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let copy = dir.path().join("qparam.json");
    let out = dir.path().join("qparam.fixed.json");
    let disk = commands::check(
        &CheckRequest {
            model: &model,
            qparam: &copy,
            settings: &settings,
            fix: Some(Some(&out)),
            preview: false,
            run: Default::default(),
        },
        &Silent,
    )
    .unwrap();
    let keys = |f: &commands::FixOutcome| f.fixed.iter().map(|x| x.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(outcome.fix.as_ref().unwrap()),
        keys(disk.fix.as_ref().unwrap())
    );
    let codes = |a: &Analysis| {
        a.findings
            .iter()
            .map(|d| (d.code(), d.key.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&outcome.analysis), codes(&disk.analysis));
    // The fixed set in memory holds the fixed file's keys, in its order.
    let on_disk = in_memory(&out);
    let names = |s: &MemorySet| s.entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fixed), names(&on_disk));
}
