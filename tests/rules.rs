//! Every rule: a test that triggers it on a mutated real qparam set, and a
//! test that shows it quiet on the correct sets of the real fixtures.

mod common;

use std::path::PathBuf;

use common::{check_json, codes, f32s, fixture, i64s, ModelBuilder, QSet};
use q_implant::analysis::rules::ALL;
use q_implant::model::fb;
use serde_json::json;

fn mlp() -> PathBuf {
    fixture("mlp.circle")
}

/// Checks `set` against `model` and asserts that `code` is reported, with
/// exit code 1 for errors.
fn assert_reports(model: PathBuf, set: &QSet, code: &str) -> serde_json::Value {
    let (doc, exit) = check_json(&model, &set.path());
    assert!(
        codes(&doc).contains(&code.to_string()),
        "{code} not reported: {doc:#}"
    );
    let rule = q_implant::analysis::rules::by_code(code).unwrap();
    if rule.severity == q_implant::diagnostic::Severity::Error {
        assert_eq!(exit, 1);
    }
    doc
}

macro_rules! triggers {
    ($name:ident, $code:literal, $model:expr, $base:literal, |$s:ident| $mutate:block) => {
        #[test]
        fn $name() {
            #[allow(unused_mut)]
            let mut $s = QSet::copy_of($base);
            $mutate
            assert_reports($model, &$s, $code);
        }
    };
}

triggers!(q101_json_syntax, "Q101", mlp(), "mlp", |s| {
    s.save_raw(b"{\"a\": {\"dtype\": \"uint8\"},}");
});
triggers!(q102_not_an_object, "Q102", mlp(), "mlp", |s| {
    s.save_raw(b"[1, 2]");
});
triggers!(q103_duplicate_key, "Q103", mlp(), "mlp", |s| {
    let text = serde_json::to_string_pretty(&s.json).unwrap();
    let x = s.json["tico::x"].to_string();
    s.save_raw(
        text.replacen('{', &format!("{{\n  \"tico::x\": {x},"), 1)
            .as_bytes(),
    );
});
triggers!(q104_not_utf8, "Q104", mlp(), "mlp", |s| {
    let mut bytes = serde_json::to_vec(&s.json).unwrap();
    bytes.splice(1..1, b"\"caf\xe9\": {},".iter().copied());
    s.save_raw(&bytes);
});
triggers!(q105_entry_not_object, "Q105", mlp(), "mlp", |s| {
    s.json.insert("tico::x".into(), json!("0.npy"));
    s.save();
});
triggers!(q201_missing_field, "Q201", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.entry(&k).remove("quantized_dimension");
    s.save();
});
triggers!(q202_field_type, "Q202", mlp(), "mlp", |s| {
    s.entry("tico::x").insert("scale".into(), json!(0.5));
    s.save();
});
triggers!(q203_unknown_field, "Q203", mlp(), "mlp", |s| {
    let z = s.entry("tico::x").remove("zerop").unwrap();
    s.entry("tico::x").insert("zero_point".into(), z);
    s.save();
});
triggers!(q204_unknown_dtype, "Q204", mlp(), "mlp", |s| {
    s.entry("tico::x").insert("dtype".into(), json!("unit8"));
    s.save();
});
triggers!(q301_npy_missing, "Q301", mlp(), "mlp", |s| {
    s.entry("tico::x")
        .insert("scale".into(), json!("nowhere.npy"));
    s.save();
});
triggers!(q302_not_npy, "Q302", mlp(), "mlp", |s| {
    std::fs::write(s.dir.path().join("text.npy"), b"not an array").unwrap();
    s.entry("tico::x").insert("scale".into(), json!("text.npy"));
    s.save();
});
triggers!(q303_npy_outside, "Q303", mlp(), "mlp", |s| {
    s.entry("tico::x")
        .insert("scale".into(), json!("../../etc/passwd"));
    s.save();
});
triggers!(q304_fortran_order, "Q304", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    let name = "fortran.npy";
    std::fs::write(
        s.dir.path().join(name),
        q_implant::qparam::npy::encode("|u1", true, &[32, 16], &[0; 512]),
    )
    .unwrap();
    s.entry(&k).insert("value".into(), json!(name));
    s.save();
});
triggers!(q305_npy_truncated, "Q305", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    let bytes = q_implant::qparam::npy::encode("|u1", false, &[32, 16], &[0; 100]);
    std::fs::write(s.dir.path().join("short.npy"), bytes).unwrap();
    s.entry(&k).insert("value".into(), json!("short.npy"));
    s.save();
});
triggers!(q306_scale_dtype, "Q306", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f8", &[1], &0.02f64.to_le_bytes());
    s.save();
});
triggers!(q307_zero_dim, "Q307", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f4", &[], &f32s(&[0.02]));
    s.save();
});
triggers!(q308_not_1d, "Q308", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f4", &[1, 1], &f32s(&[0.02]));
    s.save();
});
triggers!(q309_zerop_dtype, "Q309", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "zerop", "<i4", &[1], &128i32.to_le_bytes());
    s.save();
});
triggers!(q310_npy_trailing_bytes, "Q310", mlp(), "mlp", |s| {
    let mut bytes = q_implant::qparam::npy::encode("<f4", false, &[1], &f32s(&[0.02]));
    bytes.extend_from_slice(&f32s(&[0.03]));
    std::fs::write(s.dir.path().join("long.npy"), bytes).unwrap();
    s.entry("tico::x").insert("scale".into(), json!("long.npy"));
    s.save();
});
triggers!(q311_too_many_params, "Q311", mlp(), "mlp", |s| {
    // A sparse file: the header promises 2^24 + 1 float32 scales.
    let n = (1usize << 24) + 1;
    let head = q_implant::qparam::npy::encode("<f4", false, &[n], &[]);
    let path = s.dir.path().join("huge.npy");
    let f = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut &f, &head).unwrap();
    f.set_len((head.len() + n * 4) as u64).unwrap();
    s.entry("tico::x").insert("scale".into(), json!("huge.npy"));
    s.save();
});
triggers!(q401_bad_scale, "Q401", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f4", &[1], &f32s(&[0.0]));
    s.save();
});
triggers!(q402_length_mismatch, "Q402", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f4", &[2], &f32s(&[0.02, 0.03]));
    s.save();
});
triggers!(q403_channel_count, "Q403", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.set_npy(&k, "scale", "<f4", &[5], &f32s(&[0.01; 5]));
    s.set_npy(&k, "zerop", "<i8", &[5], &i64s(&[128; 5]));
    s.save();
});
triggers!(q404_qdim_range, "Q404", mlp(), "mlp", |s| {
    let k = s.key("fc1_bias");
    s.entry(&k).insert("quantized_dimension".into(), json!(3));
    s.save();
});
triggers!(q405_zero_point_range, "Q405", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "zerop", "<i8", &[1], &i64s(&[300]));
    s.save();
});
triggers!(q406_value_shape, "Q406", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.set_npy(&k, "value", "|u1", &[16, 32], &[0; 512]);
    s.save();
});
triggers!(q407_value_dtype, "Q407", mlp(), "mlp", |s| {
    let k = s.key("fc1_bias");
    s.set_npy(&k, "value", "<f4", &[32], &f32s(&[0.5; 32]));
    s.save();
});
triggers!(q408_value_not_constant, "Q408", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "value", "|u1", &[1, 16], &[0; 16]);
    s.save();
});
triggers!(
    q409_value_layout,
    "Q409",
    fixture("story.circle"),
    "story",
    |s| {
        // The first conv's weight is [8, 3, 3, 3]: OIHW and OHWI have one shape.
        let key = "tico::_prop_tensor_constant2";
        let path = s.dir.path().join(s.json[key]["value"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let header = q_implant::qparam::npy::parse_header(&bytes).unwrap();
        let ohwi = &bytes[header.data_offset..];
        let mut oihw = vec![0u8; ohwi.len()];
        for (o, i, h, w) in (0..8).flat_map(|o| {
            (0..3).flat_map(move |i| (0..3).flat_map(move |h| (0..3).map(move |w| (o, i, h, w))))
        }) {
            oihw[((o * 3 + i) * 3 + h) * 3 + w] = ohwi[((o * 3 + h) * 3 + w) * 3 + i];
        }
        s.set_npy(key, "value", "|u1", &[8, 3, 3, 3], &oihw);
        s.save();
    }
);
triggers!(q410_missing_value, "Q410", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.entry(&k).remove("value");
    s.save();
});
triggers!(q411_empty_params, "Q411", mlp(), "mlp", |s| {
    s.set_npy("tico::x", "scale", "<f4", &[0], &[]);
    s.set_npy("tico::x", "zerop", "<i8", &[0], &[]);
    s.save();
});
triggers!(q501_unknown_tensor, "Q501", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    let e = s.json.remove(&k).unwrap();
    s.json.insert("fc1.weight".into(), e);
    s.save();
});
triggers!(
    q502_not_float32,
    "Q502",
    fixture("convnet.circle"),
    "convnet",
    |s| {
        let x = s.json["tico::x"].clone();
        s.json.insert("const_tensor".into(), x);
        s.save();
    }
);
#[test]
fn q503_shared_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let y = b.tensor("x", &[1, 4], None);
    b.op(fb::BuiltinOperator::RELU, &[x], &[y]);
    let model = b.save(&dir.path().join("twice.circle"), &[x], &[y]);
    let mut s = QSet::copy_of("mlp");
    s.json.clear();
    s.json.insert(
        "x".into(),
        json!({"dtype": "uint8", "quantized_dimension": 0}),
    );
    s.set_npy("x", "scale", "<f4", &[1], &f32s(&[0.05]));
    s.set_npy("x", "zerop", "<i8", &[1], &i64s(&[0]));
    s.save();
    assert_reports(model, &s, "Q503");
}

/// Q602: keeping one output float behind an operator whose inputs are all
/// quantized.
#[test]
fn q602_precision_boundary() {
    let s = QSet::copy_of("mlp");
    s.save();
    let out = s.key("linear_1");
    let mut s = s;
    s.json.remove(&out);
    s.save();
    let run = common::q_implant()
        .args([
            "check",
            mlp().to_str().unwrap(),
            s.path().to_str().unwrap(),
            "--format",
            "json",
            "--allow-float",
            &out,
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(codes(&doc).contains(&"Q602".to_string()), "{doc:#}");
    assert_eq!(run.status.code(), Some(1));
}

/// Q603: the reference exporter's output for a fused ResNet-18 skips
/// every convolution with a fused ReLU.
#[test]
fn q603_missing_layer_kind() {
    let (doc, _) = check_json(
        &fixture("resnet18q.circle"),
        &fixture("resnet18q.extractor-qparam/not_mapped_qparam.json"),
    );
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "Q603")
        .unwrap_or_else(|| panic!("Q603 not reported: {doc:#}"));
    assert!(d["message"].as_str().unwrap().contains("9 CONV_2D"));
}

triggers!(q601_float_remains, "Q601", mlp(), "mlp", |s| {
    let k = s.key("::relu");
    s.json.remove(&k);
    s.save();
});
triggers!(q701_bias_dtype, "Q701", mlp(), "mlp", |s| {
    let k = s.key("fc1_bias");
    s.entry(&k).insert("dtype".into(), json!("int64"));
    s.set_npy(&k, "value", "<i8", &[32], &i64s(&[0; 32]));
    s.save();
});
triggers!(q702_bias_scale, "Q702", mlp(), "mlp", |s| {
    let k = s.key("fc1_bias");
    s.set_npy(&k, "scale", "<f4", &[1], &f32s(&[0.05]));
    s.save();
});
triggers!(q703_bias_zero_point, "Q703", mlp(), "mlp", |s| {
    let k = s.key("fc1_bias");
    s.set_npy(&k, "zerop", "<i8", &[1], &i64s(&[3]));
    s.save();
});
triggers!(q704_int16_zero_point, "Q704", mlp(), "mlp", |s| {
    let k = s.key("::relu");
    s.entry(&k).insert("dtype".into(), json!("int16"));
    s.set_npy(&k, "zerop", "<i8", &[1], &i64s(&[5]));
    s.save();
});
triggers!(q705_weight_axis, "Q705", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.set_npy(&k, "scale", "<f4", &[16], &f32s(&[0.01; 16]));
    s.set_npy(&k, "zerop", "<i8", &[16], &i64s(&[128; 16]));
    s.entry(&k).insert("quantized_dimension".into(), json!(1));
    s.save();
});
triggers!(q706_mixed_dtypes, "Q706", mlp(), "mlp", |s| {
    let k = s.key("fc1_weight");
    s.entry(&k).insert("dtype".into(), json!("int8"));
    s.set_npy(&k, "zerop", "<i8", &[1], &i64s(&[0]));
    s.set_npy(&k, "value", "|i1", &[32, 16], &[0; 512]);
    s.save();
});
triggers!(
    q707_keep_input_qparams,
    "Q707",
    fixture("convnet.circle"),
    "convnet",
    |s| {
        s.set_npy(
            "unknown::permute_default",
            "scale",
            "<f4",
            &[1],
            &f32s(&[0.5]),
        );
        s.save();
    }
);

/// A model with one Logistic, written with our own writer: the fixtures
/// have no operator with fixed output parameters.
fn logistic_model(dir: &std::path::Path) -> PathBuf {
    let mut b = ModelBuilder::default();
    let (x, y) = (
        b.tensor("in", &[1, 4], None),
        b.tensor("out", &[1, 4], None),
    );
    b.op(fb::BuiltinOperator::LOGISTIC, &[x], &[y]);
    b.save(&dir.join("logistic.circle"), &[x], &[y])
}

fn logistic_set(out_scale: f32) -> (tempfile::TempDir, PathBuf, QSet) {
    logistic_set_of("uint8", out_scale)
}

fn logistic_set_of(dtype: &str, out_scale: f32) -> (tempfile::TempDir, PathBuf, QSet) {
    let dir = tempfile::tempdir().unwrap();
    let model = logistic_model(dir.path());
    let mut s = QSet::copy_of("mlp");
    s.json.clear();
    for (name, scale) in [("in", 0.05f32), ("out", out_scale)] {
        s.json.insert(
            name.into(),
            json!({"dtype": dtype, "quantized_dimension": 0}),
        );
        s.set_npy(name, "scale", "<f4", &[1], &f32s(&[scale]));
        s.set_npy(name, "zerop", "<i8", &[1], &i64s(&[0]));
    }
    s.save();
    (dir, model, s)
}

#[test]
fn q708_fixed_output_qparams() {
    let (_dir, model, s) = logistic_set(0.01);
    assert_reports(model, &s, "Q708");
}

#[test]
fn q708_quiet_with_the_fixed_parameters() {
    let (_dir, model, s) = logistic_set(1.0 / 256.0);
    let (doc, exit) = check_json(&model, &s.path());
    assert_eq!((codes(&doc), exit), (vec![], 0));
}

/// int16 outputs of a Logistic are fixed at 1/32768 with zero point 0
/// (TFLite's int16 kernels), not at the 8-bit grids.
#[test]
fn q708_knows_the_int16_grid() {
    let (_dir, model, s) = logistic_set_of("int16", 1.0 / 32768.0);
    let (doc, exit) = check_json(&model, &s.path());
    assert_eq!((codes(&doc), exit), (vec![], 0), "{doc:#}");
    let (_dir, model, s) = logistic_set_of("int16", 1.0 / 256.0);
    let (doc, _) = check_json(&model, &s.path());
    let q708: Vec<&serde_json::Value> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q708")
        .collect();
    assert_eq!(q708.len(), 1, "{doc:#}");
    let message = q708[0]["message"].as_str().unwrap();
    assert!(
        message.contains("scale 0.000030517578125 and zero point 0"),
        "{message}"
    );
}

/// The correct sets of the real fixtures trigger no rule at all.
#[test]
fn every_rule_is_quiet_on_correct_sets() {
    for name in ["convnet", "mlp", "story", "decoder"] {
        let (doc, exit) = check_json(
            &fixture(&format!("{name}.circle")),
            &fixture(&format!("{name}.qparam/qparam.json")),
        );
        for rule in ALL {
            assert!(
                !codes(&doc).contains(&rule.code.to_string()),
                "{} fired on the correct {name} set: {doc:#}",
                rule.code
            );
        }
        assert_eq!(exit, 0);
        assert_eq!(
            doc["summary"],
            json!({"errors": 0, "warnings": 0, "hidden": 0, "fixable": 0})
        );
    }
}

/// Each code in the registry has a triggering test above, or, for the
/// target rules, in tests/target.rs.
#[test]
fn every_rule_has_a_triggering_test() {
    let source = [include_str!("rules.rs"), include_str!("target.rs")].concat();
    for rule in ALL {
        let marker = if rule.code.starts_with("Q8") {
            format!("fn {}_", rule.code.to_ascii_lowercase())
        } else {
            format!("\"{}\"", rule.code)
        };
        assert!(
            source.matches(&marker).count() >= 1,
            "no test triggers {}",
            rule.code
        );
    }
}

/// Scales read as float32 are shown in their shortest exact form (0.05,
/// not 5.000000074505806e-2).
#[test]
fn numbers_are_shown_in_their_shortest_form() {
    let mut s = QSet::copy_of("mlp");
    let k = s.key("fc1_bias");
    s.set_npy(&k, "scale", "<f4", &[1], &f32s(&[0.05]));
    s.save();
    let (doc, _) = check_json(&mlp(), &s.path());
    let message = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "Q702")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .unwrap();
    assert!(message.contains(".scale[0] is 0.05, but"), "{message}");
    assert!(!message.contains("e-"), "{message}");
}

/// Q604: `--allow-float` names a tensor the set has an entry for.
#[test]
fn q604_allowed_float_has_entry() {
    let s = QSet::copy_of("mlp");
    let out = common::q_implant()
        .arg("check")
        .arg(mlp())
        .arg(s.save())
        .args(["--format", "json", "--allow-float", "tico::x"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(codes(&doc), ["Q604"], "{doc:#}");
    assert_eq!(doc["diagnostics"][0]["severity"], "warning");
}

/// The float32 data of constant `name` of `model`.
fn constant(model: &std::path::Path, name: &str) -> Vec<f32> {
    let file = q_implant::model::CircleFile::open(model).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let t = graph.tensor(graph.named(name)[0]);
    let bytes = file.read_payload(t.data.unwrap()).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Q709: a bias saved as `b / s_out + zp_out` (float32, unrounded) with its
/// layer output's parameters, under its own name or a PyTorch one; a raw
/// float bias (the tico story's) is no re-encoding.
#[test]
fn q709_bias_reencoded() {
    let mut s = QSet::copy_of("mlp");
    let (bias, out) = ("tico::p_fc1_bias", "__main__.modules.<locals>.MLP::relu");
    let (scale, zero) = (0.02f32, 3i64);
    let reencoded: Vec<f32> = constant(&mlp(), bias)
        .iter()
        .map(|b| b / scale + zero as f32)
        .collect();
    for key in [bias, out] {
        s.entry(key).insert("dtype".into(), json!("uint8"));
        s.set_npy(key, "scale", "<f4", &[1], &f32s(&[scale]));
        s.set_npy(key, "zerop", "<i8", &[1], &i64s(&[zero]));
    }
    s.set_npy(bias, "value", "<f4", &[32], &f32s(&reencoded));
    s.save();
    let doc = assert_reports(mlp(), &s, "Q709");
    let q709 = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "Q709")
        .unwrap();
    assert!(
        q709["message"].as_str().unwrap().contains(&format!(
            "b / s_out + zp_out with the scale and zero point of its output `{out}`"
        )),
        "{q709:#}"
    );
    // The exporter's own keys: found by the matcher, reported all the same.
    let (doc, _) = check_json(
        &fixture("story_onnxtf.circle"),
        &fixture("story_onnxtf.torch-qparam/qparam.json"),
    );
    let keys: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q709")
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["conv1.bias", "subnet.conv2.bias", "subnet.conv3.bias"]
    );
    let (doc, _) = check_json(
        &fixture("story.circle"),
        &fixture("story.torch-qparam/qparam.json"),
    );
    assert!(!codes(&doc).contains(&"Q709".to_string()), "{doc:#}");
}

fn decoder() -> PathBuf {
    fixture("decoder.circle")
}

const UP: &str = "tico::p_blocks_0_up_weight";

/// The scales of the decoder's first up projection ([128, 2] blocks), with
/// one of them replaced.
fn up_scales_with(s: &mut QSet, at: usize, scale: f32) {
    let path = s.dir.path().join(s.json[UP]["scale"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let h = q_implant::qparam::npy::parse_header(&bytes).unwrap();
    let mut data = bytes[h.data_offset..].to_vec();
    data[at * 4..at * 4 + 4].copy_from_slice(&scale.to_le_bytes());
    s.set_npy(UP, "scale", "<f4", &[128, 2], &data);
}

triggers!(q412_block_size, "Q412", decoder(), "decoder", |s| {
    // 64 columns do not split into blocks of 48.
    s.entry(UP).insert("block_size".into(), json!(48));
    s.save();
});
triggers!(q413_block_shape, "Q413", decoder(), "decoder", |s| {
    // The scales flattened: a value per block, but not [rows, blocks].
    let path = s.dir.path().join(s.json[UP]["scale"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let h = q_implant::qparam::npy::parse_header(&bytes).unwrap();
    s.set_npy(UP, "scale", "<f4", &[256], &bytes[h.data_offset..]);
    s.save();
});
triggers!(q414_value_range, "Q414", decoder(), "decoder", |s| {
    // An int4 value of 8, saved as `q + 8` would have it.
    let mut values = vec![0u8; 128 * 64];
    values[70] = 8;
    s.set_npy(UP, "value", "|i1", &[128, 64], &values);
    s.save();
});
triggers!(
    q415_scale_float16_range,
    "Q415",
    decoder(),
    "decoder",
    |s| {
        up_scales_with(&mut s, 3, 1e-9);
        s.save();
    }
);
triggers!(
    q416_scale_float16_precision,
    "Q416",
    decoder(),
    "decoder",
    |s| {
        up_scales_with(&mut s, 3, 1e-6);
        s.save();
    }
);
triggers!(q417_asymmetric_blocks, "Q417", decoder(), "decoder", |s| {
    let mut zerop = vec![0i64; 256];
    zerop[7] = 8;
    s.set_npy(UP, "zerop", "<i8", &[128, 2], &i64s(&zerop));
    s.save();
});
triggers!(q418_block_format, "Q418", decoder(), "decoder", |s| {
    // Blocks of 64: the rows split, but no circle type holds them.
    s.entry(UP).insert("block_size".into(), json!(64));
    s.set_npy(UP, "scale", "<f4", &[128, 1], &f32s(&[0.05; 128]));
    s.set_npy(UP, "zerop", "<i8", &[128, 1], &i64s(&[0; 128]));
    s.save();
});
triggers!(q419_block_activation, "Q419", decoder(), "decoder", |s| {
    let e = s.json[UP].clone();
    s.json
        .insert("torch.nn.modules.linear.Linear::linear".into(), e);
    s.save();
});

/// Q416 is a warning: the set is written all the same, with the scale as
/// float16 keeps it.
#[test]
fn q416_warns_and_q415_refuses() {
    let mut s = QSet::copy_of("decoder");
    up_scales_with(&mut s, 3, 1e-6);
    s.save();
    let (doc, exit) = check_json(&decoder(), &s.path());
    assert_eq!((codes(&doc), exit), (vec!["Q416".to_string()], 0));
    let d = &doc["diagnostics"][0];
    assert!(d["message"].as_str().unwrap().contains("1.3"), "{d:#}");
    up_scales_with(&mut s, 3, 1e5);
    s.save();
    let (doc, exit) = check_json(&decoder(), &s.path());
    assert_eq!((codes(&doc), exit), (vec!["Q415".to_string()], 1));
    assert!(doc["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("infinite"));
}

/// A weight-only set (block-wise weights under float activations) leaves
/// the activations float by design: no Q601, no conversion, no Q602.
#[test]
fn a_weight_only_set_keeps_its_activations_float() {
    let (doc, exit) = check_json(&decoder(), &fixture("decoder.qparam/qparam.json"));
    assert_eq!((codes(&doc), exit), (Vec::<String>::new(), 0), "{doc:#}");
    // The same weights with one activation quantized is no longer
    // weight-only: the other activations are reported.
    let mut s = QSet::copy_of("decoder");
    s.json.insert(
        "tico::ids".into(),
        json!({"dtype": "uint8", "quantized_dimension": 0}),
    );
    s.set_npy("tico::ids", "scale", "<f4", &[1], &f32s(&[0.05]));
    s.set_npy("tico::ids", "zerop", "<i8", &[1], &i64s(&[0]));
    s.save();
    let (doc, _) = check_json(&decoder(), &s.path());
    assert!(codes(&doc).contains(&"Q601".to_string()), "{doc:#}");
}
