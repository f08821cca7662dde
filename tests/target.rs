//! `--target onert`: each Q8xx rule fires on a minimal change to a correct
//! set that shows what onert 0.1.0 rejects or computes wrongly (the cells
//! of docs/targets.md), nothing fires on the sets onert runs, and without
//! a target nothing changes. tests/interop/test_target_onert.py runs the
//! same cases on onert.

mod common;

use common::{check_json, codes, f32s, fixture, i64s, q_implant, QSet};
use serde_json::json;

/// Codes `check --target onert` reports for `set` on `model`, and without
/// the target.
fn with_and_without(model: &str, set: &QSet) -> (Vec<String>, Vec<String>) {
    let qparam = set.save();
    let run = |extra: &[&str]| -> Vec<String> {
        let out = q_implant()
            .arg("check")
            .arg(fixture(model))
            .arg(&qparam)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        codes(&doc)
    };
    (run(&["--target", "onert"]), run(&[]))
}

fn q8(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter(|c| c.starts_with("Q8"))
        .cloned()
        .collect()
}

/// Gives `key` another type and a per-tensor zero point.
fn retype(set: &mut QSet, key: &str, dtype: &str, zero_point: i64) {
    set.entry(key).insert("dtype".into(), json!(dtype));
    set.set_npy(key, "zerop", "<i8", &[1], &i64s(&[zero_point]));
}

/// The Q8 codes in code order, for cases with several.
fn q8_sorted(codes: &[String]) -> Vec<String> {
    let mut found = q8(codes);
    found.sort();
    found
}

#[test]
fn the_sets_onert_runs_raise_nothing() {
    for name in ["convnet", "mlp"] {
        let set = QSet::copy_of(name);
        let (target, _) = with_and_without(&format!("{name}.circle"), &set);
        assert_eq!(target, Vec::<String>::new(), "{name}");
    }
}

/// Q801: a standalone RELU (the story model has one) on uint8.
#[test]
fn q801_a_standalone_relu() {
    let set = QSet::copy_of("story");
    let (target, plain) = with_and_without("story.circle", &set);
    assert_eq!(q8(&target), ["Q801"]);
    assert!(q8(&plain).is_empty());
}

/// Q801: FULLY_CONNECTED on int8 activations.
#[test]
fn q801_int8_fully_connected() {
    let mut set = QSet::copy_of("mlp");
    for k in ["tico::x", "::relu", "::linear_1"] {
        let k = set.key(k);
        retype(&mut set, &k, "int8", 0);
    }
    let (target, plain) = with_and_without("mlp.circle", &set);
    // Both layers run on int8 (Q801); their weights stay uint8 (Q807).
    let found = q8_sorted(&target);
    assert_eq!(found, ["Q801", "Q801", "Q807", "Q807"], "{target:?}");
    assert!(q8(&plain).is_empty());
}

/// Q801 looks at the type an operator reads too: an int8 graph input
/// before a FULLY_CONNECTED that writes uint8.
#[test]
fn q801_a_fully_connected_reading_int8() {
    let mut set = QSet::copy_of("mlp");
    retype(&mut set, "tico::x", "int8", 0);
    let (target, _) = with_and_without("mlp.circle", &set);
    let found = q8_sorted(&target);
    assert_eq!(found, ["Q801", "Q807"], "{target:?}");
}

/// Q802: int16, reported once.
#[test]
fn q802_int16() {
    let mut set = QSet::copy_of("mlp");
    for k in ["tico::x", "::relu"] {
        let k = set.key(k);
        retype(&mut set, &k, "int16", 0);
    }
    let (target, _) = with_and_without("mlp.circle", &set);
    assert_eq!(q8(&target), ["Q802"], "{target:?}");
}

/// Q803: uint8 FULLY_CONNECTED weights per channel, differing; the same
/// per channel but all equal is fine.
#[test]
fn q803_per_channel_fully_connected_weights() {
    let mut set = QSet::copy_of("mlp");
    let k = set.key("fc1_weight");
    let scale: Vec<f32> = (0..32).map(|c| 0.01 + 0.001 * c as f32).collect();
    set.set_npy(&k, "scale", "<f4", &[32], &f32s(&scale));
    set.set_npy(&k, "zerop", "<i8", &[32], &i64s(&[128; 32]));
    let (target, plain) = with_and_without("mlp.circle", &set);
    assert_eq!(q8(&target), ["Q803"], "{target:?}");
    assert!(q8(&plain).is_empty());
    set.set_npy(&k, "scale", "<f4", &[32], &f32s(&[0.01; 32]));
    let (target, _) = with_and_without("mlp.circle", &set);
    assert!(q8(&target).is_empty(), "{target:?}");
}

/// Q804: a TRANSPOSE whose output has other parameters than its input.
#[test]
fn q804_a_transpose_that_would_requantize() {
    let mut set = QSet::copy_of("convnet");
    set.set_npy(
        "unknown::permute_default",
        "scale",
        "<f4",
        &[1],
        &f32s(&[0.5]),
    );
    let (target, plain) = with_and_without("convnet.circle", &set);
    assert_eq!(q8(&target), ["Q804"], "{target:?}");
    assert!(q8(&plain).is_empty());
}

/// Q805: `--float-io` on an int8 graph input inserts a QUANTIZE into int8;
/// `apply --target onert` refuses to write it.
#[test]
fn q805_float_io_into_int8() {
    let mut set = QSet::copy_of("mlp");
    retype(&mut set, "tico::x", "int8", 0);
    let qparam = set.save();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.circle");
    let apply = |extra: &[&str]| {
        q_implant()
            .arg("apply")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .arg("-o")
            .arg(&out)
            .args(["--format", "concise"])
            .args(extra)
            .output()
            .unwrap()
    };
    // check reports it too, for the model --float-io writes.
    let (doc, _) = {
        let out = q_implant()
            .arg("check")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .args(["--format", "json", "--float-io", "--target", "onert"])
            .output()
            .unwrap();
        (
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
            0,
        )
    };
    assert!(codes(&doc).contains(&"Q805".to_string()), "{doc:#}");
    let refused = apply(&["--float-io", "--target", "onert"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("error[Q805]"));
    assert!(!out.exists());
    // Without the target, only the spec warnings: it writes.
    assert_eq!(apply(&["--float-io"]).status.code(), Some(0));
}

/// Q806: int8 convolution weights with a zero point other than 0 (with
/// uint8 activations around them, Q807 too).
#[test]
fn q806_int8_weight_zero_point() {
    let mut set = QSet::copy_of("convnet");
    let k = "tico::_prop_tensor_constant2";
    retype(&mut set, k, "int8", 3);
    set.set_npy(k, "value", "|i1", &[8, 3, 3, 3], &[1u8; 216]);
    let (target, plain) = with_and_without("convnet.circle", &set);
    let found = q8_sorted(&target);
    assert_eq!(found, ["Q806", "Q807"], "{target:?}");
    assert!(q8(&plain).is_empty());
    // FULLY_CONNECTED is not refused for it: only the mixed types.
    let mut set = QSet::copy_of("mlp");
    let k = set.key("fc1_weight");
    retype(&mut set, &k, "int8", 3);
    set.set_npy(&k, "value", "|i1", &[32, 16], &[1u8; 512]);
    let (target, _) = with_and_without("mlp.circle", &set);
    assert_eq!(q8(&target), ["Q807"], "{target:?}");
}

/// Q807: int8 weights (zero point 0) under uint8 activations.
#[test]
fn q807_int8_weights_under_uint8_activations() {
    let mut set = QSet::copy_of("mlp");
    let k = set.key("fc2_weight");
    retype(&mut set, &k, "int8", 0);
    set.set_npy(&k, "value", "|i1", &[10, 32], &[1u8; 320]);
    let (target, plain) = with_and_without("mlp.circle", &set);
    assert_eq!(q8(&target), ["Q807"], "{target:?}");
    assert!(q8(&plain).is_empty());
}

/// Q808: a layer kept float (its weight left out and allowed float) whose
/// int32 bias keeps its entry: apply would DEQUANTIZE the bias.
#[test]
fn q808_a_dequantized_integer_bias() {
    let mut set = QSet::copy_of("mlp");
    let weight = set.key("fc1_weight");
    set.json.remove(&weight);
    let qparam = set.save();
    let run = |extra: &[&str]| -> Vec<String> {
        let out = q_implant()
            .arg("check")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .args(["--format", "json", "--allow-float", &weight])
            .args(extra)
            .output()
            .unwrap();
        codes(&serde_json::from_slice(&out.stdout).unwrap())
    };
    assert_eq!(q8(&run(&["--target", "onert"])), ["Q808"]);
    assert!(q8(&run(&[])).is_empty());
}

/// `target = "onert"` in a configuration file, and a misspelt target.
#[test]
fn the_target_from_a_configuration_file() {
    let set = QSet::copy_of("story");
    std::fs::write(
        set.dir.path().join("q-implant.toml"),
        "target = \"onert\"\n",
    )
    .unwrap();
    let (doc, code) = check_json(&fixture("story.circle"), &set.save());
    assert_eq!((q8(&codes(&doc)), code), (vec!["Q801".to_string()], 1));
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .arg("--no-target")
        .assert()
        .success();
    std::fs::write(set.dir.path().join("q-implant.toml"), "target = \"onrt\"\n").unwrap();
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("there is no target `onrt`"));
}

/// onert's loader crashes on the large-model layout: with the target,
/// `apply` writes the plain layout, and refuses to be asked for the other.
#[test]
fn the_target_writes_the_plain_layout_only() {
    let set = QSet::copy_of("mlp");
    let qparam = set.save();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.circle");
    q_implant()
        .arg("apply")
        .arg(fixture("mlp.circle"))
        .arg(&qparam)
        .arg("-o")
        .arg(&out)
        .args(["--target", "onert", "--layout", "large"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("large-model layout"));
    assert!(!out.exists());
    q_implant()
        .arg("apply")
        .arg(fixture("mlp.circle"))
        .arg(&qparam)
        .arg("-o")
        .arg(&out)
        .args(["--target", "onert"])
        .assert()
        .success()
        .stderr(predicates::str::contains("plain layout"));
}

use common::{empty_set, ModelBuilder};
use q_implant::model::fb;

/// Codes of `check --target onert` on a model built by `build` and a set.
fn built_codes(
    build: impl FnOnce(&mut ModelBuilder) -> (Vec<i32>, Vec<i32>),
    set: &QSet,
    extra: &[&str],
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let (inputs, outputs) = build(&mut b);
    let model = b.save(&dir.path().join("m.circle"), &inputs, &outputs);
    let out = q_implant()
        .arg("check")
        .arg(&model)
        .arg(set.save())
        .args(["--format", "json", "--target", "onert"])
        .args(extra)
        .output()
        .unwrap();
    q8(&codes(&serde_json::from_slice(&out.stdout).unwrap()))
}

/// Beyond the matrix, measured one operator at a time: AVERAGE_POOL_2D
/// copies its input's bytes too, SUB reads channel 0's parameters for a
/// per-channel constant, DIV has no integer kernel, a QUANTIZE the model
/// has into int8 clamps; scales are compared as stored.
#[test]
fn q801_q803_q804_q805_beyond_the_matrix() {
    let unary = |op: fb::BuiltinOperator| {
        move |b: &mut ModelBuilder| {
            let (x, y) = (
                b.tensor("x", &[1, 4, 4, 4], None),
                b.tensor("y", &[1, 2, 2, 4], None),
            );
            b.op(op, &[x], &[y]);
            (vec![x], vec![y])
        }
    };
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add("y", "uint8", 0.015, 100, None);
    assert_eq!(
        built_codes(unary(fb::BuiltinOperator::AVERAGE_POOL_2D), &set, &[]),
        ["Q804"]
    );
    // One float32 ulp apart is apart for onert.
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add(
        "y",
        "uint8",
        f32::from_bits(0.03f32.to_bits() + 1),
        128,
        None,
    );
    assert_eq!(
        built_codes(unary(fb::BuiltinOperator::SQUEEZE), &set, &[]),
        ["Q804"]
    );
    set.add("y", "uint8", 0.03, 128, None);
    assert!(built_codes(unary(fb::BuiltinOperator::SQUEEZE), &set, &[]).is_empty());

    let binary = |op: fb::BuiltinOperator| {
        move |b: &mut ModelBuilder| {
            let c = b.tensor("c", &[1, 4, 1, 1], Some(&[0.5, -1.5, 2.0, 3.5]));
            let (x, y) = (
                b.tensor("x", &[1, 4, 4, 4], None),
                b.tensor("y", &[1, 4, 4, 4], None),
            );
            b.op(op, &[c, x], &[y]);
            (vec![x], vec![y])
        }
    };
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add("y", "uint8", 0.04, 128, None);
    set.add(
        "c",
        "uint8",
        0.02,
        128,
        Some(("|u1", &[1, 4, 1, 1], &[153, 53, 228, 255])),
    );
    assert_eq!(
        built_codes(binary(fb::BuiltinOperator::DIV), &set, &[]),
        ["Q801"]
    );
    set.set_npy("c", "scale", "<f4", &[4], &f32s(&[0.004, 0.01, 0.02, 0.03]));
    set.set_npy("c", "zerop", "<i8", &[4], &i64s(&[100, 120, 140, 90]));
    set.entry("c")
        .insert("quantized_dimension".into(), json!(1));
    assert_eq!(
        built_codes(binary(fb::BuiltinOperator::SUB), &set, &[]),
        ["Q803"]
    );

    // x (float) -> QUANTIZE -> q (int8, already in the model) -> DEQUANTIZE -> d
    let quantize = |b: &mut ModelBuilder| {
        let x = b.tensor("x", &[1, 4], None);
        let q = b.typed("q", &[1, 4], fb::TensorType::INT8, None);
        let d = b.tensor("d", &[1, 4], None);
        b.op(fb::BuiltinOperator::QUANTIZE, &[x], &[q]);
        b.op(fb::BuiltinOperator::DEQUANTIZE, &[q], &[d]);
        (vec![x], vec![d])
    };
    let set = empty_set();
    assert_eq!(
        built_codes(quantize, &set, &["--allow-float", "x,d"]),
        ["Q805"]
    );
}

/// onert picks FULLY_CONNECTED's kernel by the type it reads: uint8 in,
/// int8 out runs (no Q801).
#[test]
fn q801_goes_by_the_type_read() {
    let mut set = QSet::copy_of("mlp");
    let k = set.key("::linear_1");
    retype(&mut set, &k, "int8", 0);
    let (target, _) = with_and_without("mlp.circle", &set);
    assert!(q8(&target).is_empty(), "{target:?}");
}

#[test]
fn selecting_target_rules_without_a_target_says_so() {
    q_implant()
        .arg("check")
        .arg(fixture("mlp.circle"))
        .arg(fixture("mlp.qparam/qparam.json"))
        .args(["--select", "Q8"])
        .assert()
        .success()
        .stderr(predicates::str::contains("run only with --target"));
}

/// The transformer fixture, every float tensor given uint8 parameters:
/// `check --target onert` says which of its operators onert cannot run
/// quantized (STRIDED_SLICE, RSQRT and BATCH_MATMUL have no uint8 kernel;
/// docs/targets.md), so no such set for it is written unawares.
#[test]
fn the_encoder_fully_quantized_is_refused_for_onert_with_the_reasons() {
    let file = q_implant::model::CircleFile::open(fixture("encoder.circle")).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let mut set = empty_set();
    for t in graph.tensors() {
        if t.dtype != fb::TensorType::FLOAT32 {
            continue;
        }
        let value = t.element_count().filter(|_| t.is_constant()).map(|n| {
            let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
            (shape, vec![128u8; n as usize])
        });
        match &value {
            Some((shape, data)) => set.add(t.name, "uint8", 0.05, 128, Some(("|u1", shape, data))),
            None => set.add(t.name, "uint8", 0.05, 128, None),
        }
    }
    let qparam = set.save();
    let out = q_implant()
        .arg("check")
        .arg(fixture("encoder.circle"))
        .arg(&qparam)
        .args(["--format", "json", "--target", "onert"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q801: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q801")
        .map(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    for op in ["STRIDED_SLICE", "RSQRT", "BATCH_MATMUL"] {
        assert!(q801.iter().any(|m| m == op), "{op} not reported: {q801:?}");
    }
    assert!(
        q801.iter()
            .all(|m| ["STRIDED_SLICE", "RSQRT", "BATCH_MATMUL"].contains(&m.as_str())),
        "{q801:?}"
    );
}

/// Q809: an operator whose quantized support was not measured (a quantized
/// LOG) gets a warning, not silence.
#[test]
fn q809_an_operator_not_measured() {
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add("y", "uint8", 0.03, 128, None);
    let log = |b: &mut ModelBuilder| {
        let (x, y) = (b.tensor("x", &[1, 4], None), b.tensor("y", &[1, 4], None));
        b.op(fb::BuiltinOperator::LOG, &[x], &[y]);
        (vec![x], vec![y])
    };
    assert_eq!(built_codes(log, &set, &[]), ["Q809"]);
}

/// The element bytes of an npy file.
fn npy_data(path: &std::path::Path) -> (String, Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let h = q_implant::qparam::npy::parse_header(&bytes).unwrap();
    (
        h.dtype.descr().to_string(),
        h.shape.clone(),
        bytes[h.data_offset..].to_vec(),
    )
}

/// `check --fix` on `set` with `extra`; the fixed entries and what it said.
fn fix(model: &str, set: &QSet, extra: &[&str]) -> (serde_json::Value, String, i32) {
    let qparam = set.save();
    let out = q_implant()
        .arg("check")
        .arg(fixture(model))
        .arg(&qparam)
        .arg("--fix")
        .args(extra)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let json = serde_json::from_str(&std::fs::read_to_string(&qparam).unwrap()).unwrap();
    (json, text, out.status.code().unwrap())
}

/// `check --fix --target onert` rewrites symmetric int8 weights under
/// uint8 activations as uint8 with zero point 128, each value + 128 and
/// the same scales, in new npy files, and says so: Q807 is gone. Every
/// int8 value (−128 too) has its uint8 place. Without the target nothing
/// is rewritten.
#[test]
fn q807_fix_requantizes_symmetric_int8_weights_exactly() {
    let mut set = QSet::copy_of("mlp");
    let k = set.key("fc2_weight");
    retype(&mut set, &k, "int8", 0);
    let values: Vec<u8> = (0..320).map(|i| (i % 256) as u8).collect();
    set.set_npy(&k, "value", "|i1", &[10, 32], &values);
    let scale_file = set.json[&k]["scale"].clone();
    let (json, _, code) = fix("mlp.circle", &set, &[]);
    assert_eq!((json[&k]["dtype"].as_str(), code), (Some("int8"), 0));

    let (json, said, code) = fix("mlp.circle", &set, &["--target", "onert"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("requantized for onert 0.1.0"), "{said}");
    let entry = &json[&k];
    assert_eq!(entry["dtype"], "uint8");
    assert_eq!(entry["scale"], scale_file, "the same scales");
    let dir = set.dir.path();
    let (descr, _, zerop) = npy_data(&dir.join(entry["zerop"].as_str().unwrap()));
    assert_eq!((descr.as_str(), zerop), ("<i8", i64s(&[128])));
    let (descr, shape, data) = npy_data(&dir.join(entry["value"].as_str().unwrap()));
    assert_eq!((descr.as_str(), shape), ("|u1", vec![10, 32]));
    let shifted: Vec<u8> = values
        .iter()
        .map(|&v| (v as i8 as i16 + 128) as u8)
        .collect();
    assert_eq!(data, shifted);
    assert_eq!(data[128], 0, "int8's -128 is uint8's 0");
}

/// Per channel too (a convolution's weights, zero points 0 each); but a
/// zero point other than 0, or per-channel scales a uint8
/// FULLY_CONNECTED would read as channel 0's, are left as they are with
/// the reason, and Q807 stays; int8 activations are not this case.
#[test]
fn q807_fix_leaves_what_is_not_exact_with_the_reason() {
    let mut set = QSet::copy_of("convnet");
    let k = "tico::_prop_tensor_constant2";
    retype(&mut set, k, "int8", 0);
    let scales: Vec<f32> = (0..8).map(|c| 0.01 + 0.002 * c as f32).collect();
    set.set_npy(k, "scale", "<f4", &[8], &f32s(&scales));
    set.set_npy(k, "zerop", "<i8", &[8], &i64s(&[0; 8]));
    set.set_npy(k, "value", "|i1", &[8, 3, 3, 3], &[0xfe; 216]);
    let (json, said, code) = fix("convnet.circle", &set, &["--target", "onert"]);
    assert_eq!(
        (json[k]["dtype"].as_str(), code),
        (Some("uint8"), 0),
        "{said}"
    );
    let zerop = npy_data(&set.dir.path().join(json[k]["zerop"].as_str().unwrap())).2;
    assert_eq!(zerop, i64s(&[128; 8]));

    let mut set = QSet::copy_of("convnet");
    retype(&mut set, k, "int8", 3);
    set.set_npy(k, "value", "|i1", &[8, 3, 3, 3], &[1; 216]);
    let (json, said, code) = fix("convnet.circle", &set, &["--target", "onert"]);
    assert_eq!((json[k]["dtype"].as_str(), code), (Some("int8"), 1));
    assert!(said.contains("zero point other than 0"), "{said}");
    assert!(said.contains("error[Q807]"), "{said}");

    let mut set = QSet::copy_of("mlp");
    let k = set.key("fc1_weight");
    retype(&mut set, &k, "int8", 0);
    let scales: Vec<f32> = (0..32).map(|c| 0.01 + 0.001 * c as f32).collect();
    set.set_npy(&k, "scale", "<f4", &[32], &f32s(&scales));
    set.set_npy(&k, "zerop", "<i8", &[32], &i64s(&[0; 32]));
    set.entry(&k).insert("quantized_dimension".into(), json!(0));
    set.set_npy(&k, "value", "|i1", &[32, 16], &[1; 512]);
    let (json, said, code) = fix("mlp.circle", &set, &["--target", "onert"]);
    assert_eq!((json[&k]["dtype"].as_str(), code), (Some("int8"), 1));
    assert!(said.contains("channel 0's"), "{said}");

    let mut set = QSet::copy_of("mlp");
    for key in [
        "tico::x",
        "::relu",
        "::linear_1",
        "fc1_weight",
        "fc2_weight",
    ] {
        let key = set.key(key);
        retype(&mut set, &key, "int8", 0);
    }
    let (_, said, _) = fix("mlp.circle", &set, &["--target", "onert"]);
    assert!(!said.contains("requantized"), "{said}");
}

/// `check` (JSON) or `apply` with `args` on `model` and `qparam`.
fn run(
    command: &str,
    model: &std::path::Path,
    qparam: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    q_implant()
        .arg(command)
        .arg(model)
        .arg(qparam)
        .args(args)
        .output()
        .unwrap()
}

/// The diagnostics of a `check --format json` run.
fn diagnostics(out: &std::process::Output) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["diagnostics"].as_array().unwrap().clone()
}

/// (opcode, input types, output types) of each operator of a written model.
fn written_ops(path: &std::path::Path) -> Vec<(String, Vec<String>, Vec<String>)> {
    let file = q_implant::model::CircleFile::open(path).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let sg = &graph.subgraphs[0];
    let ty = |t: &usize| sg.tensors[*t].dtype_name().to_string();
    sg.operators
        .iter()
        .map(|o| {
            (
                o.opcode.to_string(),
                o.inputs.iter().flatten().map(ty).collect(),
                o.outputs.iter().map(ty).collect(),
            )
        })
        .collect()
}

/// Q810: with `--fallback float`, the story's standalone RELU is a warning
/// naming what runs in float, not Q801; `apply` writes the model with a
/// DEQUANTIZE before the RELU and a QUANTIZE after it, the RELU in float.
/// Without the flag nothing changes.
#[test]
fn q810_the_story_relu_runs_in_float() {
    let set = QSet::copy_of("story");
    let qparam = set.save();
    let model = fixture("story.circle");
    let json = ["--format", "json", "--target", "onert"];
    let codes_of = |o: &std::process::Output| {
        diagnostics(o)
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let plain = run("check", &model, &qparam, &json);
    assert_eq!(
        (codes_of(&plain), plain.status.code()),
        (vec!["Q801".to_string()], Some(1))
    );
    let fallback = run(
        "check",
        &model,
        &qparam,
        &[&json[..], &["--fallback", "float"]].concat(),
    );
    let found = diagnostics(&fallback);
    assert_eq!(codes_of(&fallback), ["Q810"], "{found:?}");
    assert_eq!(fallback.status.code(), Some(0));
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("RELU #5 (subgraph 0) runs in float"),
        "{message}"
    );
    assert!(
        message.contains(
            "a DEQUANTIZE of `torch.nn.modules.conv.Conv2d::permute_default_8` before it"
        ),
        "{message}"
    );
    assert!(
        message.contains("a QUANTIZE into `__main__.modules.<locals>.SubNet::relu_2` after it"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.circle");
    let o = out.to_str().unwrap();
    let refused = run("apply", &model, &qparam, &["-o", o, "--target", "onert"]);
    assert_eq!(refused.status.code(), Some(1));
    let applied = run(
        "apply",
        &model,
        &qparam,
        &["-o", o, "--target", "onert", "--fallback", "float"],
    );
    let said = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(0), "{said}");
    assert!(said.contains("1 operator runs in float for want of a quantized kernel (--fallback float): RELU #5 (subgraph 0)"), "{said}");
    let ops = written_ops(&out);
    let kinds: Vec<&str> = ops.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "TRANSPOSE",
            "CONV_2D",
            "CONV_2D",
            "CONV_2D",
            "TRANSPOSE",
            "DEQUANTIZE",
            "RELU",
            "QUANTIZE"
        ]
    );
    assert_eq!(ops[6].1, ["FLOAT32"]);
    assert_eq!(ops[7].2, ["UINT8"]);
    // The record CI keeps names it too.
    let recorded = run(
        "apply",
        &model,
        &qparam,
        &[
            "-o",
            o,
            "--force",
            "--target",
            "onert",
            "--fallback",
            "float",
            "--format",
            "json",
        ],
    );
    let record: serde_json::Value = serde_json::from_slice(&recorded.stdout).unwrap();
    assert_eq!(
        record["float"],
        json!([{"operator": "RELU", "subgraph": 0, "index": 5}])
    );
    assert_eq!(record["inserted"]["total"], 2);
}

/// A chain of operators onert has no kernel for converts once, at its
/// ends: the activation between them and their constants stay float, with
/// or without entries, and Q601 does not ask for them; a graph output a
/// float operator writes stays quantized.
#[test]
fn q810_a_chain_runs_in_float_between_one_pair_of_conversions() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let a = b.tensor("a", &[1, 4], None);
    let k = b.tensor("k", &[4], Some(&[2.0, 3.0, 4.0, 5.0]));
    let y = b.tensor("y", &[1, 4], None);
    b.op(fb::BuiltinOperator::RELU, &[x], &[a]);
    b.op(fb::BuiltinOperator::DIV, &[a, k], &[y]);
    let model = b.save(&dir.path().join("m.circle"), &[x], &[y]);
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add("a", "uint8", 0.02, 0, None);
    set.add("y", "uint8", 0.01, 0, None);
    let qparam = set.save();
    let checked = run(
        "check",
        &model,
        &qparam,
        &[
            "--format",
            "json",
            "--target",
            "onert",
            "--fallback",
            "float",
        ],
    );
    let found = diagnostics(&checked);
    let codes: Vec<&str> = found.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["Q810", "Q810"], "{found:?}");
    assert_eq!(checked.status.code(), Some(0));
    assert!(
        found[1]["message"]
            .as_str()
            .unwrap()
            .contains("`a`, `k` float"),
        "{found:?}"
    );
    let out = dir.path().join("q.circle");
    let applied = run(
        "apply",
        &model,
        &qparam,
        &[
            "-o",
            out.to_str().unwrap(),
            "--target",
            "onert",
            "--fallback",
            "float",
        ],
    );
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let ops = written_ops(&out);
    assert_eq!(
        ops,
        [
            (
                "DEQUANTIZE".into(),
                vec!["UINT8".into()],
                vec!["FLOAT32".into()]
            ),
            (
                "RELU".into(),
                vec!["FLOAT32".into()],
                vec!["FLOAT32".into()]
            ),
            (
                "DIV".into(),
                vec!["FLOAT32".into(), "FLOAT32".into()],
                vec!["FLOAT32".into()]
            ),
            (
                "QUANTIZE".into(),
                vec!["FLOAT32".into()],
                vec!["UINT8".into()]
            ),
        ]
    );
}

/// The other rules see the fallback: an int8 MLP's FULLY_CONNECTED layers
/// (no int8 kernel) run in float, their weights and biases and the
/// activation between them stay float, and the QUANTIZE into the int8
/// output they need is Q805's; a DEQUANTIZE of an int32 tensor a float
/// operator reads is Q808's.
#[test]
fn q810_what_the_fallback_inserts_is_checked_like_the_rest() {
    let mut set = QSet::copy_of("mlp");
    for k in ["tico::x", "::relu", "::linear_1"] {
        let k = set.key(k);
        retype(&mut set, &k, "int8", 0);
    }
    let qparam = set.save();
    let model = fixture("mlp.circle");
    let checked = run(
        "check",
        &model,
        &qparam,
        &[
            "--format",
            "json",
            "--target",
            "onert",
            "--fallback",
            "float",
        ],
    );
    let mut codes: Vec<String> = diagnostics(&checked)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .filter(|c| c.starts_with("Q8"))
        .collect();
    codes.sort();
    assert_eq!(codes, ["Q805", "Q810", "Q810"]);

    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let k = b.tensor("k", &[4], Some(&[2.0, 3.0, 4.0, 5.0]));
    let (s, y) = (b.tensor("s", &[1, 4], None), b.tensor("y", &[1, 4], None));
    b.op(fb::BuiltinOperator::ADD, &[x, k], &[s]);
    b.op(fb::BuiltinOperator::DIV, &[s, k], &[y]);
    let model = b.save(&dir.path().join("m.circle"), &[x], &[y]);
    let mut set = empty_set();
    set.add("x", "uint8", 0.03, 128, None);
    set.add("s", "uint8", 0.05, 0, None);
    set.add("y", "uint8", 0.01, 0, None);
    set.add("k", "int32", 0.001, 0, Some(("<i4", &[4], &[0; 16])));
    let checked = run(
        "check",
        &model,
        &set.save(),
        &[
            "--format",
            "json",
            "--target",
            "onert",
            "--fallback",
            "float",
        ],
    );
    let mut codes: Vec<String> = diagnostics(&checked)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .filter(|c| c.starts_with("Q8"))
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        ["Q808", "Q810"],
        "the constant ADD shares stays quantized, read through a DEQUANTIZE"
    );
}

/// `fallback = "float"` in a configuration file; an unknown fallback, and
/// one without a target, stop the run.
#[test]
fn the_fallback_from_a_configuration_file() {
    let set = QSet::copy_of("story");
    let toml = set.dir.path().join("q-implant.toml");
    std::fs::write(&toml, "target = \"onert\"\nfallback = \"float\"\n").unwrap();
    let (doc, code) = check_json(&fixture("story.circle"), &set.save());
    assert_eq!((q8(&codes(&doc)), code), (vec!["Q810".to_string()], 0));
    std::fs::write(&toml, "target = \"onert\"\nfallback = \"flot\"\n").unwrap();
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("there is no fallback `flot`"));
    std::fs::write(&toml, "fallback = \"float\"\n").unwrap();
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("there is no target"));
    // --no-target turns the file's fallback off with its target.
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .arg("--no-target")
        .assert()
        .success();
    q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(set.path())
        .args(["--isolated", "--fallback", "float"])
        .assert()
        .code(2);
}

/// Q811: an operator onert cannot run in any precision (the ONNX->TF story
/// model's SPARSE_TO_DENSE and CUSTOM `AddV2`), once per model, a warning:
/// the set is not the problem. Its one-way SPLITs run on uint8 (no Q809);
/// on int8, SPLIT has no kernel (Q801).
#[test]
fn q811_operators_onert_cannot_run_in_any_precision() {
    let dir = tempfile::tempdir().unwrap();
    let qparam = dir.path().join("export");
    std::fs::create_dir(&qparam).unwrap();
    for entry in std::fs::read_dir(fixture("story_onnxtf.torch-qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, qparam.join(p.file_name().unwrap())).unwrap();
    }
    let qparam = qparam.join("qparam.json");
    let model = fixture("story_onnxtf.circle");
    let fixed = run("check", &model, &qparam, &["--fix", "--target", "onert"]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stdout)
    );
    let found = diagnostics(&run(
        "check",
        &model,
        &qparam,
        &["--format", "json", "--target", "onert"],
    ));
    let codes: Vec<&str> = found.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["Q811"], "{found:?}");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("SPARSE_TO_DENSE #14 (subgraph 0) fails at load"),
        "{message}"
    );
    assert!(message.contains("CUSTOM(AddV2) #15"), "{message}");
    assert_eq!(found[0]["severity"], "warning");

    let mut set = empty_set();
    set.add("x", "int8", 0.03, 0, None);
    set.add("y", "int8", 0.03, 0, None);
    let split = |b: &mut ModelBuilder| {
        let axis = b.typed(
            "axis",
            &[],
            fb::TensorType::INT32,
            Some(1i32.to_le_bytes().to_vec()),
        );
        let (x, y) = (b.tensor("x", &[1, 4], None), b.tensor("y", &[1, 4], None));
        b.op(fb::BuiltinOperator::SPLIT, &[axis, x], &[y]);
        (vec![x], vec![y])
    };
    assert_eq!(built_codes(split, &set, &[]), ["Q801"]);
}

const EMBED: &str = "tico::p_embed_weight";

/// Q812: the embedding table in int8 blocks (written as GGML_Q8_0), which
/// onert's GATHER refuses when run; and an int4 weight per channel
/// (written as INT4), which onert refuses at load.
#[test]
fn q812_a_weight_format_onert_refuses() {
    let mut set = QSet::copy_of("decoder");
    set.entry(EMBED).insert("dtype".into(), json!("int8"));
    let (target, without) = with_and_without("decoder.circle", &set);
    assert_eq!(q8_sorted(&target), ["Q812", "Q813"], "{target:?}");
    assert_eq!(without, Vec::<String>::new());
    // Per channel, no blocks: INT4.
    let mut set = QSet::copy_of("decoder");
    let up = "tico::p_blocks_1_up_weight";
    set.entry(up).remove("block_size");
    set.set_npy(up, "scale", "<f4", &[128], &f32s(&[0.1; 128]));
    set.set_npy(up, "zerop", "<i8", &[128], &i64s(&[0; 128]));
    let (target, without) = with_and_without("decoder.circle", &set);
    assert_eq!(q8_sorted(&target), ["Q812", "Q813"], "{target:?}");
    assert_eq!(without, Vec::<String>::new());
}

/// Q813: a bias on a FULLY_CONNECTED with GGML weights, a warning: `apply
/// --target onert` writes the layer without it and an ADD after it.
#[test]
fn q813_a_bias_on_ggml_weights_moves_to_an_add() {
    let set = QSet::copy_of("decoder");
    let (target, without) = with_and_without("decoder.circle", &set);
    assert_eq!((q8(&target), without), (vec!["Q813".to_string()], vec![]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.circle");
    let run = q_implant()
        .arg("apply")
        .arg(fixture("decoder.circle"))
        .arg(set.path())
        .arg("-o")
        .arg(&out)
        .args(["--target", "onert", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let file = q_implant::model::CircleFile::open(&out).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let sg = &graph.subgraphs[0];
    let fc = &sg.operators[1];
    assert!(fc.opcode.is(fb::BuiltinOperator::FULLY_CONNECTED));
    assert_eq!(fc.inputs.get(2), Some(&None), "the bias left the layer");
    let add = &sg.operators[2];
    assert!(add.opcode.is(fb::BuiltinOperator::ADD));
    let bias = add.inputs[1].unwrap();
    assert_eq!(sg.tensors[bias].name, "tico::p_blocks_0_up_bias");
    assert_eq!(add.inputs[0], Some(fc.outputs[0]));
    assert_eq!(
        sg.tensors[add.outputs[0]].name,
        "torch.nn.modules.linear.Linear::linear"
    );
    // Without the target, the bias stays where it is.
    let plain = dir.path().join("plain.circle");
    q_implant()
        .arg("apply")
        .arg(fixture("decoder.circle"))
        .arg(set.path())
        .arg("-o")
        .arg(&plain)
        .assert()
        .success();
    let file = q_implant::model::CircleFile::open(&plain).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    assert_eq!(graph.subgraphs[0].operators.len(), 12);
    assert!(graph.subgraphs[0].operators[1].inputs[2].is_some());
}

/// Q814: a GGML_Q4_0 table gathered with indices of shape [2, 2], of which
/// onert fills only the first group.
#[test]
fn q814_a_ggml_table_gathered_with_indices_of_rank_2() {
    let table: Vec<f32> = (0..16 * 32).map(|i| (i % 13) as f32 * 0.01).collect();
    let gather = |shape: &'static [i32]| {
        let table = table.clone();
        move |b: &mut ModelBuilder| {
            let t = b.tensor("table", &[16, 32], Some(&table));
            let ids = b.typed("ids", shape, fb::TensorType::INT32, None);
            let mut out = shape.to_vec();
            out.push(32);
            let y = b.tensor("y", &out, None);
            b.op(fb::BuiltinOperator::GATHER, &[t, ids], &[y]);
            (vec![ids], vec![y])
        }
    };
    let mut set = empty_set();
    set.json.insert(
        "table".into(),
        json!({"dtype": "int4", "quantized_dimension": 0, "block_size": 32}),
    );
    set.set_npy("table", "scale", "<f4", &[16, 1], &f32s(&[0.02; 16]));
    set.set_npy("table", "zerop", "<i8", &[16, 1], &i64s(&[0; 16]));
    let values: Vec<u8> = (0..16 * 32).map(|i| ((i % 13) as i8 - 6) as u8).collect();
    set.set_npy("table", "value", "|i1", &[16, 32], &values);
    assert_eq!(built_codes(gather(&[2, 2]), &set, &[]), ["Q814"]);
    assert_eq!(built_codes(gather(&[4]), &set, &[]), Vec::<String>::new());
}

/// Q809: a hybrid operator whose weight-only format was not measured on
/// onert (int8 weights, zero point 0, under float activations).
#[test]
fn q809_an_unmeasured_weight_only_format() {
    let mut set = QSet::copy_of("decoder");
    let up = "tico::p_blocks_1_up_weight";
    set.entry(up).remove("block_size");
    set.entry(up).insert("dtype".into(), json!("int8"));
    set.set_npy(up, "scale", "<f4", &[128], &f32s(&[0.1; 128]));
    set.set_npy(up, "zerop", "<i8", &[128], &i64s(&[0; 128]));
    let (target, without) = with_and_without("decoder.circle", &set);
    assert_eq!(q8_sorted(&target), ["Q809", "Q813"], "{target:?}");
    assert_eq!(without, Vec::<String>::new());
}
