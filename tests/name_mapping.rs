//! Mapping PyTorch names onto the tensors a converter named: accuracy on
//! real converted models, content telling identical shapes apart, honest
//! ambiguity, and `check --fix`.

mod common;

use std::path::PathBuf;

use common::{check_json, f32s, fixture, i64s, q_implant, snapshot, ModelBuilder, QSet};
use predicates::prelude::*;
use q_implant::model::fb;
use serde_json::{json, Value};

fn q501(doc: &Value, key: &str) -> Value {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "Q501" && d["key"] == key)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn the_top_suggestion_is_right_for_pytorch_keyed_sets() {
    for name in ["convnet", "mlp"] {
        let set = fixture(&format!("{name}.torch-qparam"));
        let expected: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(set.join("expected.json")).unwrap())
                .unwrap();
        let (doc, _) = check_json(
            &fixture(&format!("{name}.circle")),
            &set.join("qparam.json"),
        );
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(key, tensor)| q501(&doc, key)["suggestions"][0]["name"] != **tensor)
            .map(|(key, tensor)| {
                format!(
                    "{key} -> {} (expected {tensor})",
                    q501(&doc, key)["suggestions"][0]["name"]
                )
            })
            .collect();
        let right = expected.len() - wrong.len();
        assert!(
            right * 100 >= expected.len() * 95,
            "{name}: {right}/{} right; wrong: {wrong:?}",
            expected.len()
        );
    }
}

/// Both story exports, the tico path's (raw float biases with the
/// activation's parameters) and the ONNX->TF path's (biases saved as
/// `b / s_out + zp_out`, float32, unrounded): every key's first suggestion
/// is the tensor expected.json names, confidently, so `check --fix` renames
/// them all. A matcher change that loses one of them fails here.
#[test]
fn every_key_of_both_story_exports_is_suggested_its_tensor() {
    for (model, set) in [
        ("story.circle", "story.torch-qparam"),
        ("story_onnxtf.circle", "story_onnxtf.torch-qparam"),
    ] {
        let dir = fixture(set);
        let expected: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let keys: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("qparam.json")).unwrap())
                .unwrap();
        assert_eq!(
            expected.keys().collect::<Vec<_>>(),
            keys.keys().collect::<Vec<_>>(),
            "{set}: the answer key covers every key"
        );
        let (doc, _) = check_json(&fixture(model), &dir.join("qparam.json"));
        let wrong: Vec<String> = expected
            .iter()
            .filter_map(|(key, tensor)| {
                let first = &q501(&doc, key)["suggestions"][0];
                let confident = first["confidence"].as_f64().unwrap_or(0.0) >= 0.8;
                (first["name"] != *tensor || !confident)
                    .then(|| format!("{key}: {first} (expected {tensor})"))
            })
            .collect();
        assert!(wrong.is_empty(), "{set}:\n{}", wrong.join("\n"));
    }
}

/// Real networks converted by tico, with exports shaped like a hook-based
/// PyTorch exporter's and like ONE's reference exporter's: the top
/// suggestion is right for at least 95% of the keys that have a tensor, and
/// for at least 90% of parameters and of module outputs each; a key whose
/// value exists in no tensor is never confidently given a wrong one (only,
/// at most, the fused output its value became).
#[test]
fn real_networks_map_parameters_and_module_outputs() {
    for (model, set, file) in [
        ("resnet18", "resnet18.torch-qparam", "qparam.json"),
        (
            "resnet18q",
            "resnet18q.extractor-qparam",
            "not_mapped_qparam.json",
        ),
        ("encoder", "encoder.torch-qparam", "qparam.json"),
        ("encoder_qkv", "encoder_qkv.torch-qparam", "qparam.json"),
    ] {
        let dir = fixture(set);
        let mut expected: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let unmappable = expected
            .remove("unmappable")
            .and_then(|u| u.as_object().cloned())
            .unwrap_or_default();
        let entries: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let (doc, _) = check_json(&fixture(&format!("{model}.circle")), &dir.join(file));
        let top = |key: &str| q501(&doc, key)["suggestions"][0]["name"].clone();
        let (mut params, mut outputs) = ((0, 0), (0, 0));
        let mut wrong = Vec::new();
        for (key, tensor) in &expected {
            let right = top(key) == *tensor;
            let tally = if entries[key].get("value").is_some() {
                &mut params
            } else {
                &mut outputs
            };
            tally.1 += 1;
            if right {
                tally.0 += 1;
            } else {
                wrong.push(format!("{key}: {} (expected {tensor})", top(key)));
            }
        }
        let right = params.0 + outputs.0;
        let all = params.1 + outputs.1;
        assert!(
            right * 100 >= all * 95,
            "{model}: {right}/{all}; wrong: {wrong:#?}"
        );
        assert!(
            params.0 * 100 >= params.1 * 90,
            "{model} parameters: {params:?}"
        );
        assert!(
            outputs.0 * 100 >= outputs.1 * 90,
            "{model} outputs: {outputs:?}"
        );
        for (key, why) in &unmappable {
            let d = q501(&doc, key);
            let matched = d["help"]
                .as_str()
                .unwrap_or("")
                .starts_with("rename the key");
            if matched {
                let name = d["suggestions"][0]["name"].as_str().unwrap();
                assert!(
                    why.as_str().unwrap().contains(name),
                    "{model}: `{key}` has no tensor ({why}) but was confidently given `{name}`"
                );
            }
        }
    }
}

#[test]
fn weights_of_identical_shape_are_told_apart_by_content() {
    let (doc, _) = check_json(
        &fixture("story.circle"),
        &fixture("story.torch-qparam/qparam.json"),
    );
    for (key, tensor) in [
        ("subnet.conv2.weight", "tico::_prop_tensor_constant1"),
        ("subnet.conv3.weight", "tico::_prop_tensor_constant0"),
    ] {
        let d = q501(&doc, key);
        assert_eq!(d["suggestions"][0]["name"], tensor);
        assert!(d["suggestions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("data within"));
        // The other conv weight of the same shape is not offered.
        assert!(
            d["suggestions"].as_array().unwrap().len() == 1
                || d["suggestions"][1]["confidence"].as_f64().unwrap() < 0.5
        );
    }
}

/// Two FullyConnected layers whose weights hold the same data.
fn twin_weights_model(dir: &std::path::Path) -> PathBuf {
    let weights: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) / 10.0).collect();
    let mut b = ModelBuilder::default();
    let x = b.tensor("in", &[1, 4], None);
    let (wa, wb) = (
        b.tensor("weight_a", &[4, 4], Some(&weights)),
        b.tensor("weight_b", &[4, 4], Some(&weights)),
    );
    let (ya, yb) = (
        b.tensor("out_a", &[1, 4], None),
        b.tensor("out_b", &[1, 4], None),
    );
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, wa, -1], &[ya]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, wb, -1], &[yb]);
    b.save(&dir.join("twins.circle"), &[x], &[ya, yb])
}

#[test]
fn a_key_with_two_equally_good_candidates_is_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let model = twin_weights_model(dir.path());
    let mut set = QSet::copy_of("mlp");
    set.json.clear();
    set.json.insert(
        "layer.weight".into(),
        json!({"dtype": "uint8", "quantized_dimension": 0}),
    );
    let scale = 0.1f32;
    let q: Vec<u8> = (0..16).map(|i| (i + 120) as u8).collect(); // (q - 128) * 0.1 = (i - 8) / 10
    set.set_npy("layer.weight", "scale", "<f4", &[1], &f32s(&[scale]));
    set.set_npy("layer.weight", "zerop", "<i8", &[1], &i64s(&[128]));
    set.set_npy("layer.weight", "value", "|u1", &[4, 4], &q);
    let path = set.save();
    let (doc, _) = check_json(&model, &path);
    let d = q501(&doc, "layer.weight");
    let s = d["suggestions"].as_array().unwrap();
    assert_eq!(s[0]["confidence"], s[1]["confidence"]);
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .starts_with("ambiguous: `weight_a` and `weight_b`"),
        "{d:#}"
    );
    let before = std::fs::read(&path).unwrap();
    q_implant()
        .args([
            "check",
            model.to_str().unwrap(),
            path.to_str().unwrap(),
            "--fix",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "left as is `layer.weight`: ambiguous between `weight_a` and `weight_b`",
        ))
        .stderr(predicate::str::contains("nothing to fix"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "an ambiguous key is not guessed"
    );
}

#[test]
fn fix_repairs_the_story_into_new_files_and_keeps_the_original() {
    let set = QSet::copy_of("story");
    let dir = set.dir.path();
    for entry in std::fs::read_dir(fixture("story.torch-qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let qparam = dir.join("qparam.json");
    let original = std::fs::read(&qparam).unwrap();
    let npys = |d: &std::path::Path| {
        snapshot(d)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "npy"))
            .collect::<Vec<_>>()
    };
    let before = npys(dir);
    q_implant()
        .args([
            "check",
            fixture("story.circle").to_str().unwrap(),
            qparam.to_str().unwrap(),
            "--fix",
        ])
        .assert()
        // Only warnings remain (int8 weights beside uint8 activations).
        .code(0)
        .stderr(predicate::str::contains(
            "fixed `subnet.conv2.weight`: renamed to `tico::_prop_tensor_constant1`",
        ))
        .stderr(predicate::str::contains("added \"quantized_dimension\": 0"))
        .stderr(predicate::str::contains("value laid out as OHWI"))
        .stderr(predicate::str::contains(
            "scale saved as a 1-D float32 array",
        ))
        .stderr(predicate::str::contains(
            "replaced the unquantized bias of CONV_2D",
        ));
    assert_eq!(
        std::fs::read(dir.join("qparam.json.bak")).unwrap(),
        original
    );
    // Every original npy file is as it was; the repairs are new files.
    let after = npys(dir);
    for (path, bytes) in &before {
        assert!(
            after.contains(&(path.clone(), bytes.clone())),
            "{} changed",
            path.display()
        );
    }
    assert!(after.len() > before.len());
    let (doc, exit) = check_json(&fixture("story.circle"), &qparam);
    assert_eq!(exit, 0, "{doc:#}");
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.iter().all(|c| *c == "Q706"), "{codes:?}");
}

#[test]
fn fix_output_writes_beside_and_leaves_the_original() {
    let set = QSet::copy_of("mlp");
    let mut renamed = set.json.clone();
    let k = set.key("fc1_weight");
    let e = renamed.remove(&k).unwrap();
    renamed.insert("fc1.weight".into(), e);
    let path = set.path();
    std::fs::write(&path, serde_json::to_string_pretty(&renamed).unwrap()).unwrap();
    let original = std::fs::read(&path).unwrap();
    let out = set.dir.path().join("fixed.json");
    q_implant()
        .args([
            "check",
            fixture("mlp.circle").to_str().unwrap(),
            path.to_str().unwrap(),
            "--fix",
            "--fix-output",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok:"));
    assert_eq!(std::fs::read(&path).unwrap(), original);
    assert!(!set.dir.path().join("qparam.json.bak").exists());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains(&format!("\"{k}\"")));
    let elsewhere = tempfile::tempdir().unwrap();
    q_implant()
        .args([
            "check",
            fixture("mlp.circle").to_str().unwrap(),
            path.to_str().unwrap(),
            "--fix",
            "--fix-output",
        ])
        .arg(elsewhere.path().join("fixed.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be in the directory"));
}

/// A depthwise weight exported as PyTorch keeps it (C1HW), per channel
/// along its axis 0: `--fix` lays the value out as the model's 1HWC and
/// moves the axis with it, to 3.
#[test]
fn fix_moves_a_per_channel_axis_with_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    // Model weight [1, 2, 2, 3] (1HWC): channel c holds (c + 1) * [1, -1, 0.5, -0.5].
    let base = [1.0f32, -1.0, 0.5, -0.5];
    let mut hwc = vec![0f32; 12];
    for c in 0..3 {
        for (hw, b) in base.iter().enumerate() {
            hwc[hw * 3 + c] = b * (c as f32 + 1.0) * (1.0 + 0.1 * hw as f32);
        }
    }
    let mut b = ModelBuilder::default();
    let x = b.tensor("in", &[1, 2, 2, 3], None);
    let w = b.tensor("dw_weight", &[1, 2, 2, 3], Some(&hwc));
    let y = b.tensor("out", &[1, 1, 1, 3], None);
    b.op(fb::BuiltinOperator::DEPTHWISE_CONV_2D, &[x, w, -1], &[y]);
    let model = b.save(&dir.path().join("dw.circle"), &[x], &[y]);
    // The export: C1HW [3, 1, 2, 2], int8, symmetric per channel, axis 0.
    let scales: Vec<f32> = (0..3)
        .map(|c| (0..4).map(|hw| hwc[hw * 3 + c].abs()).fold(0.0, f32::max) / 127.0)
        .collect();
    let mut q = vec![0u8; 12];
    for c in 0..3 {
        for hw in 0..4 {
            q[c * 4 + hw] = ((hwc[hw * 3 + c] / scales[c]).round() as i8) as u8;
        }
    }
    let mut set = QSet::copy_of("mlp");
    set.json.clear();
    for (key, s, z) in [("in", 0.02f32, 128i64), ("out", 0.05, 128)] {
        set.json.insert(
            key.into(),
            json!({"dtype": "uint8", "quantized_dimension": 0}),
        );
        set.set_npy(key, "scale", "<f4", &[1], &f32s(&[s]));
        set.set_npy(key, "zerop", "<i8", &[1], &i64s(&[z]));
    }
    set.json.insert(
        "dw.weight".into(),
        json!({"dtype": "int8", "quantized_dimension": 0}),
    );
    set.set_npy("dw.weight", "scale", "<f4", &[3], &f32s(&scales));
    set.set_npy("dw.weight", "zerop", "<i8", &[3], &i64s(&[0, 0, 0]));
    set.set_npy("dw.weight", "value", "|i1", &[3, 1, 2, 2], &q);
    let path = set.save();
    q_implant()
        .args([
            "check",
            model.to_str().unwrap(),
            path.to_str().unwrap(),
            "--fix",
        ])
        .assert()
        .stderr(predicate::str::contains("laid out as 1HWC"))
        .stderr(predicate::str::contains(
            "\"quantized_dimension\": 3 (was 0)",
        ));
    let fixed: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(fixed["dw_weight"]["quantized_dimension"], 3, "{fixed:#}");
    let (doc, _) = check_json(&model, &path);
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.is_empty(), "{doc:#}");
}

/// A module whose kind the name does not tell (`attn`) between two known
/// layers with two operators it could end on, then a dropout passing its
/// value on: the dropout's place is as uncertain as the module's, so
/// neither is renamed.
#[test]
fn a_key_passing_on_a_guess_is_no_surer_than_the_guess() {
    let dir = tempfile::tempdir().unwrap();
    let w: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) / 10.0).collect();
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let w1 = b.tensor("w1", &[4, 4], Some(&w));
    let a = b.tensor("a", &[1, 4], None);
    let s = b.tensor("s", &[1, 4], None);
    let t = b.tensor("t", &[1, 4], None);
    let w2 = b.tensor("w2", &[4, 4], Some(&w));
    let y = b.tensor("y", &[1, 4], None);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w1, -1], &[a]);
    b.op(fb::BuiltinOperator::LOGISTIC, &[a], &[s]);
    b.op(fb::BuiltinOperator::TANH, &[s], &[t]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[t, w2, -1], &[y]);
    let model = b.save(&dir.path().join("m.circle"), &[x], &[y]);
    let mut set = QSet::copy_of("mlp");
    set.json.clear();
    let q: Vec<u8> = (0..16).map(|i| (i + 120) as u8).collect();
    for key in ["x", "w1", "a", "attn", "dropout", "w2", "y"] {
        set.json.insert(
            key.into(),
            json!({"dtype": "uint8", "quantized_dimension": 0}),
        );
        set.set_npy(key, "scale", "<f4", &[1], &f32s(&[0.1]));
        set.set_npy(key, "zerop", "<i8", &[1], &i64s(&[128]));
        if key.starts_with('w') {
            set.set_npy(key, "value", "|u1", &[4, 4], &q);
        }
    }
    let path = set.save();
    let (doc, _) = check_json(&model, &path);
    for key in ["attn", "dropout"] {
        let d = q501(&doc, key);
        assert!(
            !d["help"].as_str().unwrap().starts_with("rename the key"),
            "{key}: {d:#}"
        );
    }
}

/// Rearranges a set's keys and entries.
type Order = fn(&mut Vec<(String, Value)>);

/// A copy of a fixture set whose keys `order` rearranges.
fn reordered(set: &str, file: &str, order: Order) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(set)).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let entries: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture(set).join(file)).unwrap()).unwrap();
    let mut items: Vec<(String, Value)> = entries.into_iter().collect();
    order(&mut items);
    let path = dir.path().join("qparam.json");
    let map: serde_json::Map<String, Value> = items.into_iter().collect();
    std::fs::write(&path, serde_json::to_string_pretty(&map).unwrap()).unwrap();
    (dir, path)
}

/// The keys of `set` whose top suggestion in `doc` is confident and not
/// the tensor `expected.json` names (a key without a tensor may only be
/// given the fused output its value became).
fn confidently_wrong(set: &str, doc: &Value) -> Vec<String> {
    let mut expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture(set).join("expected.json")).unwrap())
            .unwrap();
    let unmappable = expected
        .remove("unmappable")
        .and_then(|u| u.as_object().cloned())
        .unwrap_or_default();
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501")
        .filter(|d| d["help"].as_str().unwrap().starts_with("rename the key"))
        .filter_map(|d| {
            let key = d["key"].as_str().unwrap();
            let name = d["suggestions"][0]["name"].as_str().unwrap();
            let right = match (expected.get(key), unmappable.get(key)) {
                (Some(t), _) => t == name,
                (None, Some(why)) => why.as_str().unwrap().contains(name),
                (None, None) => true,
            };
            (!right).then(|| format!("{key} -> {name}"))
        })
        .collect()
}

/// An exporter that writes every parameter before every module output
/// maps as one that writes them in hook order.
#[test]
fn parameters_written_first_map_as_in_hook_order() {
    let (_dir, path) = reordered("encoder_qkv.torch-qparam", "qparam.json", |items| {
        items.sort_by_key(|(_, e)| e.get("value").is_none());
    });
    let (doc, _) = check_json(&fixture("encoder_qkv.circle"), &path);
    let wrong = confidently_wrong("encoder_qkv.torch-qparam", &doc);
    assert!(wrong.is_empty(), "{wrong:#?}");
    let renamed = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501" && d["help"].as_str().unwrap().starts_with("rename"))
        .count();
    assert!(renamed >= 50, "{renamed} keys renamed");
}

/// Keys sorted by name (`json.dump(..., sort_keys=True)`) or reversed no
/// longer follow execution order: the order of modules places no key
/// confidently then, so none is renamed to a wrong tensor.
#[test]
fn keys_out_of_execution_order_are_never_confidently_misplaced() {
    let orders: [Order; 2] = [
        |items| items.sort_by(|a, b| a.0.cmp(&b.0)),
        |items| items.reverse(),
    ];
    for order in orders {
        for (model, set, file) in [
            ("resnet18", "resnet18.torch-qparam", "qparam.json"),
            (
                "resnet18q",
                "resnet18q.extractor-qparam",
                "not_mapped_qparam.json",
            ),
            ("encoder", "encoder.torch-qparam", "qparam.json"),
            ("encoder_qkv", "encoder_qkv.torch-qparam", "qparam.json"),
        ] {
            let (_dir, path) = reordered(set, file, order);
            let (doc, _) = check_json(&fixture(&format!("{model}.circle")), &path);
            let wrong = confidently_wrong(set, &doc);
            assert!(wrong.is_empty(), "{model}: {wrong:#?}");
        }
    }
}

/// A weight two layers read (tied weights): its layer's output is not
/// certain from the weight alone, but in order the key after the layer's
/// parameters is that layer's output, not the next layer's.
#[test]
fn the_output_of_a_layer_with_a_tied_weight_is_found_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let tied: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) / 10.0).collect();
    let other: Vec<f32> = (0..16).map(|i| (i as f32 - 4.0) / 10.0).collect();
    let mut b = ModelBuilder::default();
    let x = b.tensor("t0", &[1, 4], None);
    let w = b.tensor("t1", &[4, 4], Some(&tied));
    let b0 = b.tensor("t2", &[4], Some(&[0.1, 0.2, 0.3, 0.4]));
    let a = b.tensor("t3", &[1, 4], None);
    let w2 = b.tensor("t4", &[4, 4], Some(&other));
    let u = b.tensor("t5", &[1, 4], None);
    let t = b.tensor("t6", &[1, 4], None);
    let y = b.tensor("t7", &[1, 4], None);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, b0], &[a]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[a, w2, -1], &[u]);
    b.op(fb::BuiltinOperator::TANH, &[u], &[t]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[t, w, -1], &[y]);
    let model = b.save(&dir.path().join("tied.circle"), &[x], &[y]);
    let mut set = QSet::copy_of("mlp");
    set.json.clear();
    let entry = |set: &mut QSet, key: &str, dtype: &str, scale: f32, zp: i64| {
        set.json.insert(
            key.into(),
            json!({"dtype": dtype, "quantized_dimension": 0}),
        );
        set.set_npy(key, "scale", "<f4", &[1], &f32s(&[scale]));
        set.set_npy(key, "zerop", "<i8", &[1], &i64s(&[zp]));
    };
    let tied_q: Vec<u8> = (0..16).map(|i| (i + 120) as u8).collect();
    let bias: Vec<u8> = [1i32, 2, 3, 4]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    entry(&mut set, "quant", "uint8", 0.02, 128);
    entry(&mut set, "proj.weight", "uint8", 0.1, 128);
    set.set_npy("proj.weight", "value", "|u1", &[4, 4], &tied_q);
    entry(&mut set, "proj.bias", "int32", 0.1, 0);
    set.set_npy("proj.bias", "value", "<i4", &[4], &bias);
    // The module's output, a module whose kind its name does not tell
    // (its parameters not exported), an activation, the tied head.
    for key in ["proj", "attn", "act", "head"] {
        entry(&mut set, key, "uint8", 0.05, 128);
    }
    let path = set.save();
    let (doc, _) = check_json(&model, &path);
    let d = q501(&doc, "proj");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .starts_with("rename the key to `t3`"),
        "{d:#}"
    );
}

/// A set exported from a wrapper (a Lightning module's `model`,
/// DataParallel's `module`): the input stub is still the graph input.
#[test]
fn an_input_stub_under_a_wrapper_is_the_graph_input() {
    let (_dir, path) = reordered("convnet.torch-qparam", "qparam.json", |items| {
        for (key, _) in items.iter_mut() {
            *key = format!("model.{key}");
        }
    });
    let (doc, _) = check_json(&fixture("convnet.circle"), &path);
    let d = q501(&doc, "model.quant");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .starts_with("rename the key to `tico::x`"),
        "{d:#}"
    );
}

/// Two layers with identical weights, one of them named as the key: the
/// name tells them apart where the data cannot.
#[test]
fn identical_weights_are_told_apart_by_an_exact_name() {
    let dir = tempfile::tempdir().unwrap();
    let weights: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) / 10.0).collect();
    let mut b = ModelBuilder::default();
    let x = b.tensor("in", &[1, 4], None);
    let (w1, w2) = (
        b.tensor("tico::p_fc1_weight", &[4, 4], Some(&weights)),
        b.tensor("tico::p_fc2_weight", &[4, 4], Some(&weights)),
    );
    let (y1, y2) = (
        b.tensor("out_1", &[1, 4], None),
        b.tensor("out_2", &[1, 4], None),
    );
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w1, -1], &[y1]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[y1, w2, -1], &[y2]);
    let model = b.save(&dir.path().join("twins.circle"), &[x], &[y2]);
    let mut set = QSet::copy_of("mlp");
    set.json.clear();
    let q: Vec<u8> = (0..16).map(|i| (i + 120) as u8).collect();
    for key in ["fc1.weight", "fc2.weight"] {
        set.json.insert(
            key.into(),
            json!({"dtype": "uint8", "quantized_dimension": 0}),
        );
        set.set_npy(key, "scale", "<f4", &[1], &f32s(&[0.1]));
        set.set_npy(key, "zerop", "<i8", &[1], &i64s(&[128]));
        set.set_npy(key, "value", "|u1", &[4, 4], &q);
    }
    let path = set.save();
    let (doc, _) = check_json(&model, &path);
    for (key, name) in [
        ("fc1.weight", "tico::p_fc1_weight"),
        ("fc2.weight", "tico::p_fc2_weight"),
    ] {
        let d = q501(&doc, key);
        assert!(
            d["help"]
                .as_str()
                .unwrap()
                .starts_with(&format!("rename the key to `{name}`")),
            "{d:#}"
        );
    }
}

/// Converters name operators by type and counter (tico's `linear`,
/// `linear_1`, ...), so a module named `linear` shares its name with the
/// first FULLY_CONNECTED's output. A key `linear` whose range contradicts
/// that tensor's values (here: the range of a TANH's output, a fifth of
/// the first layer's width) is not renamed to it on the name alone; the
/// values are named as the reason.
#[test]
fn a_name_the_values_contradict_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let identity5: Vec<f32> = (0..16)
        .map(|i| if i % 5 == 0 { 5.0 } else { 0.0 })
        .collect();
    let identity: Vec<f32> = identity5.iter().map(|v| v / 5.0).collect();
    let mut b = ModelBuilder::default();
    let x = b.tensor("tico::x", &[1, 4], None);
    let w0 = b.tensor("tico::p_fc_weight", &[4, 4], Some(&identity5));
    let y0 = b.tensor("torch.nn.modules.linear.Linear::linear", &[1, 4], None);
    let t = b.tensor("torch.nn.modules.activation.Tanh::tanh", &[1, 4], None);
    let w1 = b.tensor("tico::p_linear_weight", &[4, 4], Some(&identity));
    let y1 = b.tensor("torch.nn.modules.linear.Linear::linear_1", &[1, 4], None);
    let fully_connected = || fb::BuiltinOptionsT::FullyConnectedOptions(Box::default());
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w0, -1], &[y0]);
    b.options(fully_connected());
    b.op(fb::BuiltinOperator::TANH, &[y0], &[t]);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[t, w1, -1], &[y1]);
    b.options(fully_connected());
    let model = b.save(&dir.path().join("collide.circle"), &[x], &[y1]);
    let mut set = common::empty_set();
    // The input over [-1, 1]; `linear` holds what the module `linear`
    // (the second layer) reads: the TANH's output, [-1, 1] too, while the
    // first layer's output spans [-5, 5].
    set.add("tico::x", "uint8", 2.0 / 255.0, 128, None);
    set.add("linear", "uint8", 2.0 / 255.0, 128, None);
    let path = set.save();
    let (doc, _) = check_json(&model, &path);
    let d = q501(&doc, "linear");
    let suggestions = d["suggestions"].as_array().unwrap();
    let named = suggestions
        .iter()
        .find(|s| s["name"] == "torch.nn.modules.linear.Linear::linear");
    if let Some(s) = named {
        assert!(s["confidence"].as_f64().unwrap() < 0.5, "{d:#}");
        assert!(
            s["reason"]
                .as_str()
                .unwrap()
                .contains("but the key's range"),
            "{d:#}"
        );
    }
    assert!(
        suggestions
            .iter()
            .all(|s| s["name"] != "torch.nn.modules.linear.Linear::linear"
                || s["confidence"].as_f64().unwrap() < 0.8),
        "{d:#}"
    );
    let before = std::fs::read(&path).unwrap();
    q_implant()
        .args([
            "check",
            model.to_str().unwrap(),
            path.to_str().unwrap(),
            "--fix",
        ])
        .assert()
        .stderr(predicate::str::contains("renamed `linear`").not());
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        !after.contains("\"torch.nn.modules.linear.Linear::linear\""),
        "{after}\n(before: {})",
        String::from_utf8_lossy(&before)
    );
}
