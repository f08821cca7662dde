//! `extract` as users run it: a set `check` accepts, from our models and
//! from a model laid out the way ONE's quantizer writes one; the output
//! directory written whole or not at all; bad inputs refused with exit 2.

mod common;

use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::Stdio;
#[cfg(unix)]
use std::time::{Duration, Instant};

use common::{fixture, q_implant, snapshot, stderr_of, stdout_of, ModelBuilder};
use q_implant::model::{self, fb, Layout, ModelParts, Payload};

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// `apply` of a fixture set to its model, into `dir/q.circle`.
fn quantized(dir: &Path, model: &str, set: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join("q.circle");
    q_implant()
        .args([
            "apply",
            &s(&fixture(model)),
            &s(&fixture(set)),
            "-o",
            &s(&out),
        ])
        .args(["--isolated", "-q"])
        .args(extra)
        .assert()
        .success();
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn an_extracted_set_is_one_check_accepts_in_the_format_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantized(
        dir.path(),
        "convnet.circle",
        "convnet.qparam/qparam.json",
        &[],
    );
    let out = dir.path().join("set");
    let run = q_implant()
        .args(["extract", &s(&q), "-o", &s(&out)])
        .assert()
        .success();
    assert!(stderr_of(&run).contains("wrote"), "{}", stderr_of(&run));
    q_implant()
        .args(["check", &s(&fixture("convnet.circle"))])
        .arg(out.join("qparam.json"))
        .arg("--isolated")
        .assert()
        .success();
    let doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("qparam.json")).unwrap()).unwrap();
    let original: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("convnet.qparam/qparam.json")).unwrap())
            .unwrap();
    let mut keys: Vec<&String> = doc.keys().collect();
    let mut want: Vec<&String> = original.keys().collect();
    keys.sort();
    want.sort();
    assert_eq!(keys, want, "keyed by the circle tensor names");
    for (key, e) in &doc {
        let header = |field: &str| {
            let path = out.join(e[field].as_str().unwrap());
            q_implant::qparam::npy::parse_header(&std::fs::read(path).unwrap()).unwrap()
        };
        let (scale, zerop) = (header("scale"), header("zerop"));
        assert_eq!(
            (scale.dtype.name(), scale.shape.len()),
            ("float32", 1),
            "{key}"
        );
        assert_eq!(
            (zerop.dtype.name(), zerop.shape.len()),
            ("int64", 1),
            "{key}"
        );
        assert!(e["quantized_dimension"].is_u64(), "{key}");
        if e.get("value").is_some() {
            assert_eq!(header("value").dtype.name(), e["dtype"].as_str().unwrap());
        }
    }
    // The same set: the diff of the model and the set says so.
    q_implant()
        .args(["diff", &s(&out), &s(&fixture("convnet.qparam"))])
        .assert()
        .code(0);
}

#[test]
fn the_json_record_lists_what_apply_inserted() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantized(
        dir.path(),
        "mlp.circle",
        "mlp.qparam/qparam.json",
        &["--float-io"],
    );
    let out = dir.path().join("set");
    let run = q_implant()
        .args(["extract", &s(&q), "-o", &s(&out), "--format", "json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&run)).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["entries"], 7);
    let inserted = doc["inserted"].as_array().unwrap();
    assert_eq!(inserted.len(), 2, "{inserted:?}");
    let twin = inserted
        .iter()
        .find(|i| i["tensor"] == "tico::x::quantized")
        .unwrap();
    assert_eq!(twin["params_to"], "tico::x");
    assert!(inserted
        .iter()
        .any(|i| i["tensor"].as_str().unwrap().ends_with("::dequantized")));
    let set: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("qparam.json")).unwrap()).unwrap();
    assert!(
        set.contains_key("tico::x"),
        "the input's key carries the twin's parameters"
    );
    assert!(!set
        .keys()
        .any(|k| k.contains("::quantized") || k.contains("::dequantized")));
}

#[test]
fn keys_from_an_export_key_the_set_as_the_export_does() {
    let dir = tempfile::tempdir().unwrap();
    // The PyTorch-keyed export, fixed into a copy, then applied.
    let fixed = dir.path().join("fixed");
    std::fs::create_dir(&fixed).unwrap();
    for e in std::fs::read_dir(fixture("mlp.torch-qparam")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, fixed.join(p.file_name().unwrap())).unwrap();
    }
    q_implant()
        .args(["check", &s(&fixture("mlp.circle"))])
        .arg(fixed.join("qparam.json"))
        .args(["--fix", "--isolated", "-q"])
        .assert()
        .success();
    let q = dir.path().join("q.circle");
    q_implant()
        .args(["apply", &s(&fixture("mlp.circle"))])
        .arg(fixed.join("qparam.json"))
        .args(["-o", &s(&q), "--isolated", "-q"])
        .assert()
        .success();
    let out = dir.path().join("set");
    let export = fixture("mlp.torch-qparam/qparam.json");
    q_implant()
        .args(["extract", &s(&q), "-o", &s(&out)])
        .args(["--keys-from", &s(&export)])
        .args(["--float-model", &s(&fixture("mlp.circle"))])
        .assert()
        .success();
    let expected: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("mlp.torch-qparam/expected.json")).unwrap())
            .unwrap();
    let doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("qparam.json")).unwrap()).unwrap();
    for key in expected.keys() {
        assert!(
            doc.contains_key(key),
            "`{key}` keys the extraction: {:?}",
            doc.keys()
        );
    }
    // Keyed alike, the extraction and the export compare key by key.
    let run = q_implant()
        .args(["diff", &s(&export), &s(&out), "--format", "json"])
        .assert();
    let diff: serde_json::Value = serde_json::from_str(&stdout_of(&run)).unwrap();
    for d in diff["differences"].as_array().unwrap() {
        let kinds = d["kinds"].as_array().unwrap();
        assert!(
            !kinds.iter().any(|k| k == "only_in_a"),
            "every exported key is in the extraction: {d}"
        );
    }
}

/// A conv model as a converter writes it, and the same model quantized
/// the way ONE's quantizer lays parameters out: uint8 activations,
/// per-channel uint8 weights on axis 0, int32 biases with scale = input
/// scale × weight scale and zero point 0. Written with our writer.
fn one_style(dir: &Path) -> (PathBuf, PathBuf) {
    let float = {
        let mut b = ModelBuilder::default();
        let x = b.tensor("ifm", &[1, 4, 4, 2], None);
        let w = b.tensor(
            "ker",
            &[3, 1, 1, 2],
            Some(&[0.5, -0.25, 1.0, 0.75, -1.0, 0.125]),
        );
        let bias = b.tensor("bias", &[3], Some(&[0.1, -0.2, 0.3]));
        let y = b.tensor("ofm", &[1, 4, 4, 3], None);
        b.op(fb::BuiltinOperator::CONV_2D, &[x, w, bias], &[y]);
        b.save(&dir.join("float.circle"), &[x], &[y])
    };
    let file = q_implant::model::CircleFile::open(&float).unwrap();
    let mut parts = ModelParts::from_file(&file).unwrap();
    let quant = |scale: Vec<f32>, zero_point: Vec<i64>| {
        let mut q = fb::QuantizationParametersT::default();
        q.scale = Some(scale);
        q.zero_point = Some(zero_point);
        Some(Box::new(q))
    };
    let (s_in, s_w) = (0.02f32, [0.004f32, 0.006, 0.008]);
    let tensors = parts.model.subgraphs.as_mut().unwrap()[0]
        .tensors
        .as_mut()
        .unwrap();
    let mut payloads: Vec<(u32, Vec<u8>)> = Vec::new();
    for t in tensors.iter_mut() {
        match t.name.as_deref().unwrap() {
            "ifm" => {
                t.type_ = fb::TensorType::UINT8;
                t.quantization = quant(vec![s_in], vec![128]);
            }
            "ofm" => {
                t.type_ = fb::TensorType::UINT8;
                t.quantization = quant(vec![0.05], vec![120]);
            }
            "ker" => {
                t.type_ = fb::TensorType::UINT8;
                t.quantization = quant(s_w.to_vec(), vec![125, 128, 131]);
                payloads.push((t.buffer, vec![250, 63, 255, 200, 6, 143]));
            }
            "bias" => {
                t.type_ = fb::TensorType::INT32;
                t.quantization = quant(s_w.iter().map(|w| w * s_in).collect(), vec![0, 0, 0]);
                let q: Vec<u8> = [1250i32, -1667, 1875]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                payloads.push((t.buffer, q));
            }
            _ => {}
        }
    }
    for (buffer, bytes) in payloads {
        parts.payloads[buffer as usize] = Some(Payload::from(bytes));
    }
    let quantized = dir.join("one.circle");
    model::save(&parts, Layout::Plain, &quantized, false).unwrap();
    (float, quantized)
}

#[test]
fn a_model_another_quantizer_wrote_gives_a_set_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let (float, quantized) = one_style(dir.path());
    let out = dir.path().join("set");
    q_implant()
        .args(["extract", &s(&quantized), "-o", &s(&out)])
        .assert()
        .success();
    let (doc, code) = common::check_json(&float, &out.join("qparam.json"));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["errors"], 0);
    let set: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("qparam.json")).unwrap()).unwrap();
    assert_eq!(set["ker"]["dtype"], "uint8");
    assert_eq!(set["bias"]["dtype"], "int32");
    // Applied, the set gives back the quantized model's parameters.
    let again = dir.path().join("again.circle");
    q_implant()
        .args(["apply", &s(&float)])
        .arg(out.join("qparam.json"))
        .args(["-o", &s(&again), "--isolated", "-q"])
        .assert()
        .success();
    q_implant()
        .args(["diff", &s(&quantized), &s(&again)])
        .assert()
        .code(0);
}

#[test]
fn a_directory_that_holds_something_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantized(dir.path(), "mlp.circle", "mlp.qparam/qparam.json", &[]);
    let out = dir.path().join("set");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let before = snapshot(&out);
    let run = q_implant()
        .args(["extract", &s(&q), "-o", &s(&out)])
        .assert()
        .code(2);
    assert!(
        stderr_of(&run).contains("is not empty"),
        "{}",
        stderr_of(&run)
    );
    assert_eq!(snapshot(&out), before);
    q_implant()
        .args(["extract", &s(&q), "-o", &s(&out), "--force"])
        .assert()
        .success();
    assert!(out.join("qparam.json").is_file());
    assert!(!out.join("notes.txt").exists());
    assert_eq!(
        names(dir.path()),
        ["q.circle", "set"],
        "no temporary directory"
    );
    // An empty directory is taken as it is.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    q_implant()
        .args(["extract", &s(&q), "-o", &s(&empty)])
        .assert()
        .success();
    assert!(empty.join("qparam.json").is_file());
}

#[test]
fn a_directory_holding_an_input_or_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantized(dir.path(), "mlp.circle", "mlp.qparam/qparam.json", &[]);
    let run = q_implant()
        .args(["extract", &s(&q), "-o", &s(dir.path()), "--force"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&run).contains("holds the input"),
        "{}",
        stderr_of(&run)
    );
    assert!(q.is_file());
    let run = q_implant()
        .args(["extract", &s(&q), "-o", &s(&q), "--force"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&run).contains("not a directory"),
        "{}",
        stderr_of(&run)
    );
}

#[test]
fn bad_models_are_refused_with_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("set");
    let refuse = |model: &Path, says: &str| {
        let run = q_implant()
            .args(["extract", &s(model), "-o", &s(&out)])
            .assert()
            .code(2);
        let err = stderr_of(&run);
        assert!(err.contains(says), "{says}: {err}");
        assert!(
            err.contains(&*model.file_name().unwrap().to_string_lossy()),
            "{err}"
        );
        assert!(!out.exists());
        assert!(!err.contains("panicked"), "{err}");
    };
    refuse(&fixture("mlp.circle"), "no quantized tensor");
    let q = quantized(dir.path(), "mlp.circle", "mlp.qparam/qparam.json", &[]);
    let bytes = std::fs::read(&q).unwrap();
    let cut = dir.path().join("cut.circle");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refuse(&cut, "cut.circle");
    let text = dir.path().join("notes.circle");
    std::fs::write(&text, b"not a model at all").unwrap();
    refuse(&text, "not a circle model");
    // Data that disagrees with the tensor's shape and type.
    let file = q_implant::model::CircleFile::open(&q).unwrap();
    let mut parts = ModelParts::from_file(&file).unwrap();
    let w = parts.model.subgraphs.as_ref().unwrap()[0]
        .tensors
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.name.as_deref() == Some("tico::p_fc1_weight"))
        .unwrap()
        .buffer;
    parts.payloads[w as usize] = Some(Payload::from(vec![1u8; 7]));
    let odd = dir.path().join("odd.circle");
    model::save(&parts, Layout::Plain, &odd, false).unwrap();
    refuse(&odd, "tico::p_fc1_weight");
}

#[cfg(unix)]
/// A quantized model with 96 MiB of data to copy: long enough to write
/// that a signal lands while the directory is being filled.
fn slow_model(path: &Path) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let y = b.tensor("y", &[1, 4], None);
    b.op(fb::BuiltinOperator::RELU, &[x], &[y]);
    b.typed(
        "ballast",
        &[96 << 20],
        fb::TensorType::UINT8,
        Some(vec![7; 96 << 20]),
    );
    let float = b.save(&path.with_extension("float.circle"), &[x], &[y]);
    let file = q_implant::model::CircleFile::open(&float).unwrap();
    let mut parts = ModelParts::from_file(&file).unwrap();
    for t in parts.model.subgraphs.as_mut().unwrap()[0]
        .tensors
        .as_mut()
        .unwrap()
    {
        t.type_ = fb::TensorType::UINT8;
        let mut q = fb::QuantizationParametersT::default();
        q.scale = Some(vec![0.1]);
        q.zero_point = Some(vec![3]);
        t.quantization = Some(Box::new(q));
    }
    model::save(&parts, Layout::Plain, path, false).unwrap();
    path.to_path_buf()
}

#[cfg(unix)]
#[test]
fn a_signal_while_the_directory_is_written_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = slow_model(&dir.path().join("slow.circle"));
    let out = dir.path().join("set");
    let temps = || {
        names(dir.path())
            .into_iter()
            .filter(|n| n.starts_with(".set."))
            .collect::<Vec<_>>()
    };
    for attempt in 0..20 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_q-implant"))
            .args(["extract", &s(&model), "-o", &s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut sent = false;
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
            if !temps().is_empty() {
                // SAFETY: signalling our own child, which has not been reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                sent = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = child.wait().unwrap();
        assert!(
            temps().is_empty(),
            "attempt {attempt}: {:?}",
            names(dir.path())
        );
        if out.exists() {
            // The signal came after the rename: the set is whole.
            assert!(out.join("qparam.json").is_file());
            std::fs::remove_dir_all(&out).unwrap();
            continue;
        }
        use std::os::unix::process::ExitStatusExt;
        if sent && status.signal() == Some(libc::SIGTERM) {
            return;
        }
    }
    panic!("SIGTERM never landed while the set was written");
}
