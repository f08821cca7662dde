//! `check --fix` completing a set: entries it adds are determined, and a
//! second run on its output changes nothing.

mod common;

use std::path::Path;

use common::{empty_set, q_implant, stderr_of, ModelBuilder, QSet};
use q_implant::model::fb;

/// Two FullyConnected layers sharing one bias tensor: x -> y1 -> y2.
fn shared_bias_model(path: &Path) -> std::path::PathBuf {
    let mut m = ModelBuilder::default();
    let x = m.tensor("x", &[1, 2], None);
    let w1 = m.tensor("w1", &[2, 2], Some(&[0.5, -0.5, 0.25, 1.0]));
    let bias = m.tensor("bias", &[2], Some(&[0.5, -0.25]));
    let y1 = m.tensor("y1", &[1, 2], None);
    let w2 = m.tensor("w2", &[2, 2], Some(&[1.0, -1.0, 0.5, 2.0]));
    let y2 = m.tensor("y2", &[1, 2], None);
    m.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w1, bias], &[y1]);
    m.op(fb::BuiltinOperator::FULLY_CONNECTED, &[y1, w2, bias], &[y2]);
    m.save(path, &[x], &[y2])
}

/// The set for the shared-bias model without the bias; `y1_scale` decides
/// whether both layers ask the same bias scale (input scale × weight
/// scale: 0.02 × 0.01 for the first, `y1_scale` × 0.02 for the second).
fn shared_bias_set(y1_scale: f32) -> QSet {
    let mut set = empty_set();
    set.add("x", "uint8", 0.02, 128, None);
    set.add(
        "w1",
        "uint8",
        0.01,
        128,
        Some(("|u1", &[2, 2], &[178, 78, 153, 228])),
    );
    set.add("y1", "uint8", y1_scale, 128, None);
    set.add(
        "w2",
        "uint8",
        0.02,
        128,
        Some(("|u1", &[2, 2], &[178, 78, 153, 228])),
    );
    set.add("y2", "uint8", 0.5, 128, None);
    set.save();
    set
}

fn fix(model: &Path, set: &QSet) -> assert_cmd::assert::Assert {
    q_implant()
        .arg("check")
        .arg(model)
        .arg(set.path())
        .arg("--fix")
        .assert()
}

fn npy_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "npy")
        })
        .count()
}

#[test]
fn a_bias_shared_by_layers_that_disagree_is_not_added() {
    let dir = tempfile::tempdir().unwrap();
    let model = shared_bias_model(&dir.path().join("m.circle"));
    let set = shared_bias_set(0.1);
    let files = npy_files(set.dir.path());
    let run = fix(&model, &set);
    let stderr = stderr_of(&run);
    assert!(!stderr.contains("fixed `bias`"), "{stderr}");
    assert_eq!(npy_files(set.dir.path()), files, "no new npy file");
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        stdout.contains("FULLY_CONNECTED #0 and FULLY_CONNECTED #1"),
        "{stdout}"
    );
}

#[test]
fn a_bias_shared_by_layers_that_agree_is_added_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = shared_bias_model(&dir.path().join("m.circle"));
    // 0.02 × 0.01 = 0.01 × 0.02
    let set = shared_bias_set(0.01);
    let run = fix(&model, &set).success();
    let stderr = stderr_of(&run);
    assert_eq!(stderr.matches("fixed `bias`").count(), 1, "{stderr}");
    let run = fix(&model, &set).success();
    assert!(
        stderr_of(&run).contains("nothing to fix"),
        "a second run changes nothing: {}",
        stderr_of(&run)
    );
}

/// A weight whose scale array is empty gives its bias no scale to add:
/// the check reports the scale and goes on, as for any other bad scale.
#[test]
fn a_weight_with_an_empty_scale_array_is_reported_not_a_crash() {
    let mut scene = common::Scene::mlp();
    let key = scene.set.key("fc1_weight");
    scene.set.set_npy(&key, "scale", "<f4", &[0], &[]);
    let out = scene.check(&["--format", "json"]).code(1);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == key.as_str() && d["field"] == "scale"),
        "{doc:#}"
    );
}
