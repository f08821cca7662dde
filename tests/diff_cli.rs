//! `diff` as users run it: five planted changes named with their kinds, a
//! set against itself and a model against its set the same (exit 0),
//! golden outputs for people and for tools, and bad sides refused with
//! exit 2.
//!
//! Golden files live in tests/golden; after an intended change, regenerate
//! them with `UPDATE_GOLDEN=1 cargo test --test diff_cli` and review.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fixture, q_implant, stderr_of, stdout_of, QSet};

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} differs from the golden file; rerun with UPDATE_GOLDEN=1 to accept:\n{actual}"
    );
}

/// `a/`: the mlp set; `b/`: the same with five changes planted.
fn planted() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let a = root.path().join("a");
    let b = root.path().join("b");
    for dir in [&a, &b] {
        std::fs::create_dir(dir).unwrap();
        for e in std::fs::read_dir(fixture("mlp.qparam")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut set = QSet {
        dir: tempfile::tempdir_in(root.path()).unwrap(),
        json: serde_json::from_slice(&std::fs::read(b.join("qparam.json")).unwrap()).unwrap(),
    };
    let read = |name: &str| {
        let bytes = std::fs::read(b.join(name)).unwrap();
        let h = q_implant::qparam::npy::parse_header(&bytes).unwrap();
        (h.shape.clone(), bytes[h.data_offset..].to_vec())
    };
    let field = |set: &QSet, key: &str, f: &str| set.json[key][f].as_str().unwrap().to_string();
    // A scale doubled.
    let (shape, data) = read(&field(&set, "tico::x", "scale"));
    let s = f32::from_le_bytes(data[..4].try_into().unwrap()) * 2.0;
    set.set_npy("tico::x", "scale", "<f4", &shape, &s.to_le_bytes());
    // A zero point moved.
    let relu = "__main__.modules.<locals>.MLP::relu";
    let (shape, data) = read(&field(&set, relu, "zerop"));
    let z = i64::from_le_bytes(data[..8].try_into().unwrap()) + 5;
    set.set_npy(relu, "zerop", "<i8", &shape, &z.to_le_bytes());
    // A dtype changed.
    set.entry("torch.nn.modules.linear.Linear::linear_1")
        .insert("dtype".into(), "int8".into());
    // One value element changed.
    let (shape, mut data) = read(&field(&set, "tico::p_fc1_weight", "value"));
    data[17] = data[17].wrapping_add(3);
    set.set_npy("tico::p_fc1_weight", "value", "|u1", &shape, &data);
    // One key removed.
    set.json.remove("tico::p_fc2_bias");
    // The planted files went to the set's own directory: move them into b.
    for e in std::fs::read_dir(set.dir.path()).unwrap() {
        let p = e.unwrap().path();
        std::fs::rename(&p, b.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        b.join("qparam.json"),
        serde_json::to_string_pretty(&set.json).unwrap(),
    )
    .unwrap();
    root
}

fn diff_in(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = q_implant()
        .current_dir(dir)
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn five_planted_changes_are_named_with_their_kinds() {
    let root = planted();
    let (out, err, code) = diff_in(root.path(), &["a", "b/qparam.json", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    let found: BTreeMap<String, Vec<String>> = doc["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let kinds = d["kinds"].as_array().unwrap();
            (
                d["key"].as_str().unwrap().to_string(),
                kinds
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let want: BTreeMap<String, Vec<String>> = [
        ("tico::x", "scale"),
        ("__main__.modules.<locals>.MLP::relu", "zero_point"),
        ("torch.nn.modules.linear.Linear::linear_1", "dtype"),
        ("tico::p_fc1_weight", "values"),
        ("tico::p_fc2_bias", "only_in_a"),
    ]
    .iter()
    .map(|(k, kind)| (k.to_string(), vec![kind.to_string()]))
    .collect();
    assert_eq!(found, want);
    assert_eq!(doc["same"], 2);
    let by_key = |k: &str| {
        doc["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(by_key("tico::x")["scale"]["max_ratio"], 2.0);
    assert_eq!(
        by_key("__main__.modules.<locals>.MLP::relu")["zero_point"]["max_shift"],
        5
    );
    let values = by_key("tico::p_fc1_weight")["values"].clone();
    assert_eq!(
        (&values["changed"], &values["at"], &values["elements"]),
        (&1.into(), &17.into(), &512.into())
    );
    assert!(values["max_steps"].as_f64().unwrap() > 0.0);
    golden("mlp.diff.json", &out);
    let (human, _, code) = diff_in(root.path(), &["a", "b", "--color", "never"]);
    assert_eq!(code, 1);
    golden("mlp.diff.txt", &human);
    let (stat, _, code) = diff_in(root.path(), &["a", "b", "--stat"]);
    assert_eq!(code, 1);
    golden("mlp.diff.stat", &stat);
}

#[test]
fn the_worst_differences_come_first() {
    let root = planted();
    let (out, _, _) = diff_in(root.path(), &["a", "b", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = doc["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys[0], "tico::p_fc2_bias", "a missing key first");
    assert_eq!(keys[1], "torch.nn.modules.linear.Linear::linear_1");
    // The other way round, the key is only in B.
    let (out, _, _) = diff_in(root.path(), &["b", "a", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["differences"][0]["kinds"][0], "only_in_b");
}

#[test]
fn a_set_against_itself_and_a_model_against_its_set_are_the_same() {
    let set = fixture("mlp.qparam");
    let run = q_implant()
        .args(["diff"])
        .arg(&set)
        .arg(set.join("qparam.json"))
        .assert()
        .code(0);
    assert!(
        stdout_of(&run).starts_with("same: 7 keys match"),
        "{}",
        stdout_of(&run)
    );
    let dir = tempfile::tempdir().unwrap();
    for (model, set) in [("mlp", "mlp.qparam"), ("story", "story.qparam")] {
        let q = dir.path().join(format!("{model}.q.circle"));
        q_implant()
            .args(["apply"])
            .arg(fixture(&format!("{model}.circle")))
            .arg(fixture(&format!("{set}/qparam.json")))
            .arg("-o")
            .arg(&q)
            .args(["--isolated", "-q", "--layout", "large"])
            .assert()
            .success();
        q_implant()
            .arg("diff")
            .arg(&q)
            .arg(fixture(set))
            .assert()
            .code(0);
    }
}

#[test]
fn rtol_decides_when_scales_are_equal() {
    let root = planted();
    let b = root.path().join("b");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("qparam.json")).unwrap()).unwrap();
    // Only the scale differs now, by a factor of two.
    doc["tico::p_fc2_bias"] = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(root.path().join("a/qparam.json")).unwrap(),
    )
    .unwrap()["tico::p_fc2_bias"]
        .clone();
    std::fs::write(b.join("qparam.json"), doc.to_string()).unwrap();
    let (out, _, code) = diff_in(root.path(), &["a", "b", "--stat", "--rtol", "0.5"]);
    assert_eq!(code, 1);
    assert!(!out.contains("scale"), "a ratio of 2 is within 50%:\n{out}");
    let (out, _, _) = diff_in(root.path(), &["a", "b", "--stat", "--rtol", "0.4"]);
    assert!(out.contains("scale"), "{out}");
    let (_, err, code) = diff_in(root.path(), &["a", "b", "--rtol", "-1"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_side_that_is_neither_or_broken_is_trouble() {
    let dir = tempfile::tempdir().unwrap();
    let set = fixture("mlp.qparam");
    let trouble = |side: &Path, says: &str| {
        let run = q_implant().arg("diff").arg(&set).arg(side).assert().code(2);
        let err = stderr_of(&run);
        assert!(err.contains(says), "{says}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello").unwrap();
    trouble(&text, "neither a qparam set nor a circle model");
    trouble(dir.path(), "a directory without a qparam.json");
    trouble(&fixture("mlp.circle"), "no quantized tensor");
    let bytes = std::fs::read(fixture("mlp.circle")).unwrap();
    let cut = dir.path().join("cut.circle");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    trouble(&cut, "cut.circle");
    trouble(&dir.path().join("missing.json"), "missing.json");
    // A set whose npy disagrees with its header: named, with the file.
    let mut broken = QSet::copy_of("mlp");
    let weight = broken.json["tico::p_fc1_weight"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let path = broken.dir.path().join(&weight);
    let mut npy = std::fs::read(&path).unwrap();
    npy.truncate(npy.len() - 10);
    std::fs::write(&path, npy).unwrap();
    trouble(&broken.save(), &weight);
    // A scale array and a zero-point array of different lengths.
    let x = broken.json["tico::x"]["scale"]
        .as_str()
        .unwrap()
        .to_string();
    broken.set_npy("tico::x", "zerop", "<i8", &[2], &[0; 16]);
    let _ = x;
    let mut npy = std::fs::read(&path).unwrap();
    npy.extend([0; 10]);
    std::fs::write(&path, npy).unwrap();
    trouble(&broken.save(), "tico::x");
}

#[test]
fn stat_and_json_do_not_mix() {
    let set = fixture("mlp.qparam");
    let run = q_implant()
        .arg("diff")
        .arg(&set)
        .arg(&set)
        .args(["--stat", "--format", "json"])
        .assert()
        .code(2);
    assert!(stderr_of(&run).contains("--stat"), "{}", stderr_of(&run));
}
