//! The name matcher on the thirteen architecture families (torchvision's
//! and timm's module names, converted by tico): the top suggestion is the
//! answer key's for every parameter and for at least 98% of the module
//! outputs of each family, and no rename `check --fix` makes on any
//! fixture set is wrong.

mod common;

use std::path::{Path, PathBuf};

use common::{check_json, fixture, q_implant};
use serde_json::{Map, Value};

const FAMILIES: [&str; 13] = [
    "mobilenetv2",
    "mobilenetv3",
    "efficientnet",
    "vgg",
    "squeezenet",
    "unet",
    "shufflenetv2",
    "convnext",
    "vit",
    "espcn",
    "m5",
    "mixer",
    "densenet",
];

/// Every set with an answer key: (model, set directory, qparam file).
fn answered_sets() -> Vec<(String, String, String)> {
    let mut sets: Vec<(String, String, String)> = FAMILIES
        .iter()
        .chain(&[
            "resnet18",
            "encoder",
            "encoder_qkv",
            "convnet",
            "mlp",
            "story_onnxtf",
        ])
        .map(|n| {
            (
                n.to_string(),
                format!("{n}.torch-qparam"),
                "qparam.json".into(),
            )
        })
        .collect();
    sets.push((
        "resnet18q".into(),
        "resnet18q.extractor-qparam".into(),
        "not_mapped_qparam.json".into(),
    ));
    sets
}

fn read_json(path: &Path) -> Map<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first suggestion of each key's Q501 finding.
fn tops(doc: &Value) -> Map<String, Value> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501")
        .filter_map(|d| {
            let key = d["key"].as_str()?.to_string();
            Some((key, d["suggestions"][0]["name"].clone()))
        })
        .collect()
}

#[test]
fn every_family_maps_its_parameters_and_module_outputs() {
    let mut failures = Vec::new();
    for name in FAMILIES {
        let dir = fixture(&format!("{name}.torch-qparam"));
        let expected = read_json(&dir.join("expected.json"));
        let entries = read_json(&dir.join("qparam.json"));
        let (doc, _) = check_json(
            &fixture(&format!("{name}.circle")),
            &dir.join("qparam.json"),
        );
        let top = tops(&doc);
        let (mut params, mut outputs) = ((0, 0), (0, 0));
        let mut wrong = Vec::new();
        for (key, tensor) in &expected {
            if key == "unmappable" || key == "equivalents" {
                continue;
            }
            let tally = if entries[key].get("value").is_some() {
                &mut params
            } else {
                &mut outputs
            };
            tally.1 += 1;
            if top.get(key) == Some(tensor) {
                tally.0 += 1;
            } else {
                wrong.push(format!("{key}: {:?} (expected {tensor})", top.get(key)));
            }
        }
        if params.0 != params.1 || outputs.0 * 100 < outputs.1 * 98 {
            failures.push(format!(
                "{name}: parameters {}/{}, outputs {}/{}: {wrong:#?}",
                params.0, params.1, outputs.0, outputs.1
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Whether renaming `key` to `tensor` is right by the answer key: its
/// answer, or, for a key whose value is in no tensor because the
/// activation after it was fused into its operator, that operator's
/// output (the key's parameters, narrowed to the activation, are what that
/// tensor needs; docs/name-mapping.md).
fn right_rename(expected: &Map<String, Value>, key: &str, tensor: &str) -> bool {
    match (expected.get(key), expected["unmappable"].get(key)) {
        (Some(answer), _) => answer == tensor,
        (None, Some(why)) => {
            let why = why.as_str().unwrap_or("");
            why.contains("fused") && why.contains(&format!("`{tensor}`"))
        }
        (None, None) => false,
    }
}

#[test]
fn fix_never_renames_a_key_wrongly() {
    let mut wrong = Vec::new();
    for (model, set, file) in answered_sets() {
        let src = fixture(&set);
        let expected = {
            let mut e = read_json(&src.join("expected.json"));
            e.entry("unmappable").or_insert(Value::Object(Map::new()));
            e
        };
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
        let path: PathBuf = dir.path().join(&file);
        let out = q_implant()
            .args(["check", "--isolated"])
            .arg(fixture(&format!("{model}.circle")))
            .arg(&path)
            .arg("--fix")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        let mut renamed = 0;
        for line in said.lines() {
            let Some(rest) = line.strip_prefix("fixed `") else {
                continue;
            };
            let Some((key, what)) = rest.split_once("`: renamed to `") else {
                continue;
            };
            let tensor = what.split('`').next().unwrap_or_default();
            renamed += 1;
            if !right_rename(&expected, key, tensor) {
                wrong.push(format!("{set}: `{key}` renamed to `{tensor}`"));
            }
        }
        assert!(renamed > 0, "{set}: --fix renamed nothing: {said}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
