//! The promise of `apply`, on generated cases: for any single mutation of a
//! correct set (a field dropped, a dtype changed, an array resized or
//! retyped, a path pointed elsewhere, an npy file cut short or extended)
//! and any rules the user filters out of the report, `apply` either refuses
//! and writes nothing, or writes a model in which every tensor's data has
//! exactly the size its shape and type call for and every entry's tensors
//! carry exactly the set's parameters and data.

mod common;

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use proptest::prelude::*;
use proptest::sample::Index;
use q_implant::analysis::rules::ALL;
use q_implant::commands::{self, ApplyRequest, Outcome, Overrides, Silent};
use q_implant::graph::{dtype_size, Graph};
use q_implant::model::{fb, CircleFile, Layout};
use serde_json::{json, Value};

use common::{fixture, QSet};

const FIELDS: [&str; 5] = ["dtype", "scale", "zerop", "quantized_dimension", "value"];
const NPY_FIELDS: [&str; 3] = ["scale", "zerop", "value"];
const DESCRS: [&str; 7] = ["<f4", "<f8", "<i8", "<i4", "|u1", "|i1", "<i2"];

#[derive(Clone, Debug)]
enum Mutation {
    None,
    DropField {
        entry: Index,
        field: Index,
    },
    Dtype {
        entry: Index,
        to: &'static str,
    },
    Axis {
        entry: Index,
        to: u32,
    },
    /// The array a field names gets `count` elements along its first axis.
    Resize {
        entry: Index,
        field: Index,
        count: usize,
    },
    /// The array a field names is saved again as another element type.
    Retype {
        entry: Index,
        field: Index,
        descr: &'static str,
    },
    /// A field names another file.
    Point {
        entry: Index,
        field: Index,
        to: Index,
    },
    /// An npy file loses or gains bytes at its end.
    Cut {
        file: Index,
        by: usize,
    },
    Grow {
        file: Index,
        by: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (any::<Index>(), any::<Index>())
            .prop_map(|(entry, field)| Mutation::DropField { entry, field }),
        (
            any::<Index>(),
            prop::sample::select(vec![
                "uint8", "int8", "int16", "int32", "int64", "float32", "UINT8", "q8"
            ])
        )
            .prop_map(|(entry, to)| Mutation::Dtype { entry, to }),
        (any::<Index>(), 0u32..4).prop_map(|(entry, to)| Mutation::Axis { entry, to }),
        (any::<Index>(), any::<Index>(), 0usize..40).prop_map(|(entry, field, count)| {
            Mutation::Resize {
                entry,
                field,
                count,
            }
        }),
        (
            any::<Index>(),
            any::<Index>(),
            prop::sample::select(DESCRS.to_vec())
        )
            .prop_map(|(entry, field, descr)| Mutation::Retype {
                entry,
                field,
                descr
            }),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(entry, field, to)| Mutation::Point { entry, field, to }),
        (any::<Index>(), 1usize..20).prop_map(|(file, by)| Mutation::Cut { file, by }),
        (any::<Index>(), 1usize..20).prop_map(|(file, by)| Mutation::Grow { file, by }),
    ]
}

/// The npy file `field` of `key` names, if it names one in the set.
fn npy_of(set: &QSet, key: &str, field: &str) -> Option<PathBuf> {
    let rel = set.json[key].get(field)?.as_str()?;
    let path = set.dir.path().join(rel);
    path.is_file().then_some(path)
}

/// The npy files of the set, by name.
fn npy_files(set: &QSet) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(set.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    files.sort();
    files
}

/// An npy file read by numpy's rules (ndarray-npy, not our reader): its
/// element values as f64 in C order, its shape and its descriptor.
struct Npy {
    values: Vec<f64>,
    shape: Vec<usize>,
    descr: &'static str,
}

fn read_any(path: &Path) -> Option<Npy> {
    fn get<T: ndarray_npy::ReadableElement + Copy + Into<f64>>(
        path: &Path,
        descr: &'static str,
    ) -> Option<Npy> {
        let a: ArrayD<T> = ndarray_npy::read_npy(path).ok()?;
        Some(Npy {
            values: a.iter().map(|&v| v.into()).collect(),
            shape: a.shape().to_vec(),
            descr,
        })
    }
    get::<f32>(path, "<f4")
        .or_else(|| get::<f64>(path, "<f8"))
        .or_else(|| get::<u8>(path, "|u1"))
        .or_else(|| get::<i8>(path, "|i1"))
        .or_else(|| get::<i16>(path, "<i2"))
        .or_else(|| get::<i32>(path, "<i4"))
        .or_else(|| {
            let a: ArrayD<i64> = ndarray_npy::read_npy(path).ok()?;
            Some(Npy {
                values: a.iter().map(|&v| v as f64).collect(),
                shape: a.shape().to_vec(),
                descr: "<i8",
            })
        })
}

/// Saves `values` as an npy of `descr` and `shape` (values converted).
fn save_as(path: &Path, descr: &str, shape: &[usize], values: &[f64]) {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|&v| match descr {
            "<f4" => (v as f32).to_le_bytes().to_vec(),
            "<f8" => v.to_le_bytes().to_vec(),
            "<i8" => (v as i64).to_le_bytes().to_vec(),
            "<i4" => (v as i32).to_le_bytes().to_vec(),
            "<i2" => (v as i16).to_le_bytes().to_vec(),
            "|u1" => vec![v as u8],
            "|i1" => vec![(v as i8) as u8],
            _ => unreachable!(),
        })
        .collect();
    std::fs::write(
        path,
        q_implant::qparam::npy::encode(descr, false, shape, &bytes),
    )
    .unwrap();
}

/// Applies `m` to the set (and its files); `false` if it does not apply
/// to this set (a field it lacks): the case is then the correct set.
fn mutate(set: &mut QSet, m: &Mutation) {
    let keys: Vec<String> = set.json.keys().cloned().collect();
    let key = |i: &Index| keys[i.index(keys.len())].clone();
    match m {
        Mutation::None => {}
        Mutation::DropField { entry, field } => {
            let k = key(entry);
            set.entry(&k).remove(FIELDS[field.index(FIELDS.len())]);
        }
        Mutation::Dtype { entry, to } => {
            let k = key(entry);
            set.entry(&k).insert("dtype".into(), json!(to));
        }
        Mutation::Axis { entry, to } => {
            let k = key(entry);
            set.entry(&k)
                .insert("quantized_dimension".into(), json!(to));
        }
        Mutation::Resize {
            entry,
            field,
            count,
        } => {
            let k = key(entry);
            let Some(path) = npy_of(set, &k, NPY_FIELDS[field.index(3)]) else {
                return;
            };
            let npy = read_any(&path).unwrap();
            let mut shape = npy.shape.clone();
            if shape.is_empty() {
                shape.push(1);
            }
            let inner: usize = shape[1..].iter().product();
            shape[0] = *count;
            let values: Vec<f64> = (0..count * inner)
                .map(|i| {
                    npy.values
                        .get(i % npy.values.len().max(1))
                        .copied()
                        .unwrap_or(1.0)
                })
                .collect();
            // A fresh file: other entries may name the same one.
            let name = format!("resized-{}", path.file_name().unwrap().to_string_lossy());
            save_as(&set.dir.path().join(&name), npy.descr, &shape, &values);
            set.entry(&k)
                .insert(NPY_FIELDS[field.index(3)].into(), json!(name));
        }
        Mutation::Retype {
            entry,
            field,
            descr,
        } => {
            let k = key(entry);
            let Some(path) = npy_of(set, &k, NPY_FIELDS[field.index(3)]) else {
                return;
            };
            let npy = read_any(&path).unwrap();
            let name = format!("retyped-{}", path.file_name().unwrap().to_string_lossy());
            save_as(&set.dir.path().join(&name), descr, &npy.shape, &npy.values);
            set.entry(&k)
                .insert(NPY_FIELDS[field.index(3)].into(), json!(name));
        }
        Mutation::Point { entry, field, to } => {
            let k = key(entry);
            let mut targets: Vec<String> = npy_files(set)
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            targets.extend([
                "missing.npy".into(),
                "../0.npy".into(),
                "".into(),
                ".".into(),
            ]);
            let to = targets[to.index(targets.len())].clone();
            set.entry(&k)
                .insert(NPY_FIELDS[field.index(3)].into(), json!(to));
        }
        Mutation::Cut { file, by } | Mutation::Grow { file, by } => {
            let files = npy_files(set);
            let path = &files[file.index(files.len())];
            let mut bytes = std::fs::read(path).unwrap();
            if matches!(m, Mutation::Cut { .. }) {
                bytes.truncate(bytes.len().saturating_sub(*by));
            } else {
                bytes.extend(std::iter::repeat_n(0x41, *by));
            }
            std::fs::write(path, bytes).unwrap();
        }
    }
}

fn tensor_type(dtype: &str) -> Option<fb::TensorType> {
    Some(match dtype.to_ascii_lowercase().as_str() {
        "uint8" => fb::TensorType::UINT8,
        "int8" => fb::TensorType::INT8,
        "int16" => fb::TensorType::INT16,
        "int32" => fb::TensorType::INT32,
        "int64" => fb::TensorType::INT64,
        _ => return None,
    })
}

/// The written model agrees with itself and with the set, read
/// independently of q-implant's reader.
fn check_written(out: &Path, set: &QSet) -> Result<(), TestCaseError> {
    let file = CircleFile::open(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let g = Graph::new(&file);
    for t in g.tensors() {
        if let Some(data) = t.data {
            let expected = t
                .element_count()
                .zip(dtype_size(t.dtype))
                .map(|(n, s)| n * s as u64);
            prop_assert_eq!(
                Some(data.len),
                expected,
                "`{}` ({}, {:?})",
                t.name,
                t.dtype_name(),
                t.shape
            );
        }
    }
    let text = std::fs::read(set.path()).unwrap();
    let doc: serde_json::Map<String, Value> = serde_json::from_slice(&text).unwrap();
    for (key, entry) in &doc {
        let field = |f: &str| entry.get(f);
        let npy = |f: &str| -> Result<Npy, TestCaseError> {
            let rel = field(f).and_then(Value::as_str).ok_or_else(|| {
                TestCaseError::fail(format!("written, but `{key}`.{f} is no path"))
            })?;
            read_any(&set.dir.path().join(rel)).ok_or_else(|| {
                TestCaseError::fail(format!(
                    "written, but `{key}`.{f} is no npy file numpy reads"
                ))
            })
        };
        let dtype = field("dtype")
            .and_then(Value::as_str)
            .and_then(tensor_type)
            .ok_or_else(|| {
                TestCaseError::fail(format!("written, but `{key}` has no usable dtype"))
            })?;
        let (scale, zerop) = (npy("scale")?, npy("zerop")?);
        prop_assert_eq!(
            (scale.descr, scale.shape.len()),
            ("<f4", 1),
            "`{}`.scale",
            key
        );
        prop_assert_eq!(
            (zerop.descr, zerop.shape.len()),
            ("<i8", 1),
            "`{}`.zerop",
            key
        );
        let axis = field("quantized_dimension").and_then(Value::as_u64);
        prop_assert!(axis.is_some(), "written, but `{}` has no axis", key);
        let value = match field("value") {
            Some(_) => Some(npy("value")?),
            None => None,
        };
        let tensors: Vec<_> = g.tensors().filter(|t| t.name == key).collect();
        prop_assert!(
            !tensors.is_empty(),
            "written, but `{}` names no tensor",
            key
        );
        for t in tensors {
            prop_assert_eq!(t.dtype, dtype, "`{}`", key);
            let q = t.quantization.as_ref().unwrap();
            let scales: Vec<f32> = scale.values.iter().map(|&v| v as f32).collect();
            let zps: Vec<i64> = zerop.values.iter().map(|&v| v as i64).collect();
            prop_assert_eq!(&q.scale, &scales, "`{}` scale", key);
            prop_assert_eq!(&q.zero_point, &zps, "`{}` zero points", key);
            prop_assert_eq!(Some(q.quantized_dimension as u64), axis, "`{}` axis", key);
            match (&value, t.data) {
                (Some(v), Some(data)) => {
                    let want: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
                    prop_assert_eq!(&v.shape, &want, "`{}` value shape", key);
                    let bytes = file.read_payload(data).unwrap();
                    let size = dtype_size(dtype).unwrap();
                    let got: Vec<f64> = bytes
                        .chunks_exact(size)
                        .map(|b| match dtype {
                            fb::TensorType::UINT8 => f64::from(b[0]),
                            fb::TensorType::INT8 => f64::from(b[0] as i8),
                            fb::TensorType::INT16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
                            fb::TensorType::INT32 => {
                                f64::from(i32::from_le_bytes(b.try_into().unwrap()))
                            }
                            _ => i64::from_le_bytes(b.try_into().unwrap()) as f64,
                        })
                        .collect();
                    prop_assert_eq!(&got, &v.values, "`{}` data", key);
                }
                (None, None) => {}
                (v, d) => prop_assert!(
                    false,
                    "`{}`: value {} but data {}",
                    key,
                    v.is_some(),
                    d.is_some()
                ),
            }
        }
    }
    Ok(())
}

fn no_output(dir: &Path) -> Result<(), TestCaseError> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    prop_assert!(names.is_empty(), "refused, but {:?} remain", names);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn apply_refuses_or_writes_exactly_the_set(
        m in mutation(),
        ignored in prop::sample::subsequence(ALL.iter().map(|r| r.code).collect::<Vec<_>>(), 0..8),
        prefix in prop::option::of(prop::sample::select(vec!["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q"])),
        deny_warnings in any::<bool>(),
        propagate in any::<bool>(),
        multi in any::<bool>(),
    ) {
        let mut set = QSet::copy_of("mlp");
        mutate(&mut set, &m);
        set.save();
        let mut ignore: Vec<String> = ignored.iter().map(|c| c.to_string()).collect();
        ignore.extend(prefix.map(String::from));
        let out_dir = tempfile::tempdir().unwrap();
        let out = out_dir.path().join("out.circle");
        let model = fixture(if multi { "multi.circle" } else { "mlp.circle" });
        let overrides = Overrides {
            ignore,
            propagate: Some(propagate),
            config: commands::ConfigSource::Isolated,
            ..Default::default()
        };
        let settings = overrides.resolve(&model, &set.path()).unwrap();
        let request = ApplyRequest {
            model: &model,
            qparam: &set.path(),
            output: &out,
            settings: &settings,
            layout: Layout::Auto,
            force: false,
            dry_run: false,
            deny_warnings,
        };
        match commands::apply(&request, &Silent) {
            Ok(Outcome::Written { .. }) => check_written(&out, &set)?,
            Ok(Outcome::Refused { .. }) | Err(_) => no_output(out_dir.path())?,
            Ok(Outcome::DryRun { .. }) => prop_assert!(false, "not a dry run"),
        }
        if matches!(m, Mutation::None) && !deny_warnings {
            prop_assert!(out.exists(), "the correct set must be written");
        }
    }
}
