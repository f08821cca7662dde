//! Sets with thousands of keys in one segment or of one shape: the matcher
//! stays linear in the keys, and maps every key right. Sizes here stay
//! fast in debug builds; `scripts/bench.sh` times the large ones.

mod common;

use common::{check_json, empty_set, fixture, ModelBuilder, QSet};
use q_implant::model::fb;
use q_implant::samples::Rng;
use serde_json::Value;

/// Uniform in [-1, 1), from the library's seeded generator.
fn uniform(rng: &mut Rng) -> f32 {
    (rng.unit() * 2.0 - 1.0) as f32
}

fn q501s(doc: &Value) -> Vec<&Value> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501")
        .collect()
}

/// A chain of `layers` FullyConnected layers of one shape, its tensors
/// named `t<n>` (names that say nothing), keyed by PyTorch module names,
/// with random weights and biases (every layer the same ones when
/// `equal`). Returns the model, the set, and each key's tensor.
fn chain(
    dir: &std::path::Path,
    layers: usize,
    width: usize,
    equal: bool,
) -> (std::path::PathBuf, QSet, Vec<(String, String)>) {
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut set = empty_set();
    let mut model = ModelBuilder::default();
    let mut rng = Rng::new(SEED);
    let (act_scale, w_scale) = (0.02f32, 2.0f32 / 255.0);
    let b_scale = act_scale * w_scale;
    let mut expected = vec![("quant".to_string(), "t0".to_string())];
    let mut x = model.tensor("t0", &[1, width as i32], None);
    set.add("quant", "uint8", act_scale, 128, None);
    for layer in 0..layers {
        if equal {
            rng = Rng::new(SEED);
        }
        let weights: Vec<f32> = (0..width * width).map(|_| uniform(&mut rng)).collect();
        let bias: Vec<f32> = (0..width).map(|_| uniform(&mut rng) * 0.1).collect();
        let quantized: Vec<u8> = weights
            .iter()
            .map(|v| ((v / w_scale).round() + 128.0).clamp(0.0, 255.0) as u8)
            .collect();
        let bias_q: Vec<u8> = bias
            .iter()
            .flat_map(|v| ((v / b_scale).round() as i32).to_le_bytes())
            .collect();
        let n = 3 * layer;
        let (w, b, y) = (
            format!("t{}", n + 1),
            format!("t{}", n + 2),
            format!("t{}", n + 3),
        );
        let wt = model.tensor(&w, &[width as i32, width as i32], Some(&weights));
        let bt = model.tensor(&b, &[width as i32], Some(&bias));
        let yt = model.tensor(&y, &[1, width as i32], None);
        model.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, wt, bt], &[yt]);
        x = yt;
        let key = format!("layers.{layer}");
        set.add(
            &format!("{key}.weight"),
            "uint8",
            w_scale,
            128,
            Some(("|u1", &[width, width], &quantized)),
        );
        set.add(
            &format!("{key}.bias"),
            "int32",
            b_scale,
            0,
            Some(("<i4", &[width], &bias_q)),
        );
        set.add(&key, "uint8", act_scale, 128, None);
        expected.push((format!("{key}.weight"), w));
        expected.push((format!("{key}.bias"), b));
        expected.push((key, y));
    }
    let path = model.save(&dir.join("model.circle"), &[0], &[x]);
    (path, set, expected)
}

/// Every weight and bias is found by content among `layers` constants of
/// its shape, every output by the order of modules. Each key must be
/// renamed confidently to its own tensor.
#[test]
fn layers_of_one_shape_map_every_key_right() {
    let dir = tempfile::tempdir().unwrap();
    let (path, set, expected) = chain(dir.path(), 300, 8, false);
    let (doc, _) = check_json(&path, &set.save());
    let found = q501s(&doc);
    assert_eq!(found.len(), expected.len());
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(key, tensor)| {
            let d = found.iter().find(|d| d["key"] == key.as_str());
            !d.is_some_and(|d| {
                d["suggestions"][0]["name"] == tensor.as_str()
                    && d["help"]
                        .as_str()
                        .is_some_and(|h| h.starts_with("rename the key"))
            })
        })
        .map(|(key, tensor)| format!("{key} -> {tensor}"))
        .collect();
    assert!(wrong.is_empty(), "not renamed to their tensor: {wrong:?}");
}

/// Layers that all hold the same weights and bias: the data cannot tell
/// them apart and the names say nothing, so every weight and bias key is
/// ambiguous among all its layers' constants (the first few listed, the
/// others counted), and none is renamed.
#[test]
fn layers_with_equal_constants_are_ambiguous_not_renamed() {
    let layers = 40;
    let dir = tempfile::tempdir().unwrap();
    let (path, set, _) = chain(dir.path(), layers, 8, true);
    let (doc, _) = check_json(&path, &set.save());
    let valued: Vec<&Value> = q501s(&doc)
        .into_iter()
        .filter(|d| {
            d["key"]
                .as_str()
                .is_some_and(|k| k.ends_with("weight") || k.ends_with("bias"))
        })
        .collect();
    assert_eq!(valued.len(), 2 * layers);
    for d in valued {
        let help = d["help"].as_str().unwrap_or_default();
        assert!(help.starts_with("ambiguous: "), "{d}");
        // Every other layer's constant is a tie, listed or counted.
        let listed = help.matches(" and `").count() + 1;
        let more: usize = help
            .split_once(" more match equally well")
            .and_then(|(head, _)| head.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0);
        assert_eq!(listed + more, layers, "{help}");
    }
}

/// The mlp fixture's set with 2,000 more keys that name nothing, each
/// with the parameters of the graph input's key: they all pass the input
/// on, so the order of modules places every one of them in one segment.
/// The check finishes and still says which tensor each real key is.
#[test]
fn thousands_of_keys_naming_nothing_are_placed() {
    let mut set = QSet::copy_of("mlp");
    let input = set.json["tico::x"].clone();
    for n in 0..2000 {
        set.json.insert(format!("bogus.{n}"), input.clone());
    }
    let (doc, _) = check_json(&fixture("mlp.circle"), &set.save());
    let bogus = q501s(&doc)
        .into_iter()
        .filter(|d| d["key"].as_str().is_some_and(|k| k.starts_with("bogus.")))
        .count();
    assert_eq!(bogus, 2000, "every bogus key is reported");
}
