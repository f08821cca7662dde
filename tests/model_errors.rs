//! Bad model files: each gives exit code 2 and one paragraph naming the file
//! and what is wrong with it, never a panic.

mod common;

use common::{fixture, q_implant};
use predicates::prelude::*;

fn inspect_fails_with(bytes: &[u8], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.circle");
    std::fs::write(&path, bytes).unwrap();
    q_implant()
        .args(["inspect", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.circle"))
        .stderr(predicate::str::contains(expected))
        .stderr(predicate::str::contains("panicked").not());
}

fn real_model() -> Vec<u8> {
    std::fs::read(fixture("convnet.circle")).unwrap()
}

#[test]
fn empty_file() {
    inspect_fails_with(b"", "is empty");
}

#[test]
fn too_short_for_a_header() {
    inspect_fails_with(b"CIR", "too short");
}

#[test]
fn truncated_model() {
    let bytes = real_model();
    inspect_fails_with(&bytes[..bytes.len() / 2], "not a valid circle model");
}

#[test]
fn random_bytes() {
    // A fixed pseudo-random sequence (xorshift), so failures reproduce.
    let mut x: u32 = 0x9e37_79b9;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    inspect_fails_with(&bytes, "identifier");
}

#[test]
fn tflite_file_is_named_as_such() {
    let mut bytes = real_model();
    bytes[4..8].copy_from_slice(b"TFL3");
    inspect_fails_with(&bytes, "TensorFlow Lite model");
}

#[test]
fn large_layout_buffer_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large.circle");
    q_implant()
        .args([
            "rewrite",
            fixture("convnet.circle").to_str().unwrap(),
            "-o",
            large.to_str().unwrap(),
        ])
        .args(["--layout", "large"])
        .assert()
        .success();
    let bytes = std::fs::read(&large).unwrap();
    inspect_fails_with(&bytes[..bytes.len() - 100], "but the file ends at byte");
}

#[test]
fn missing_file() {
    q_implant()
        .args(["inspect", "no/such/model.circle"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/model.circle"));
}

#[test]
fn rewrite_refuses_to_write_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.circle");
    std::fs::copy(fixture("mlp.circle"), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    q_implant()
        .args([
            "rewrite",
            path.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
            "--force",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is the input"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Inputs the fuzzers once crashed on, replayed through the same code.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        q_implant::fuzzing::read_model(&bytes);
        q_implant::fuzzing::parse_qparam(&bytes);
        q_implant::fuzzing::check_set(&bytes);
        q_implant::fuzzing::extract_model(&bytes);
        q_implant::fuzzing::diff_sets(&bytes);
        q_implant::fuzzing::verify_model(&bytes);
        q_implant::fuzzing::read_samples(&bytes);
        n += 1;
    }
    assert!(n > 0);
}

/// The fuzz targets reach packed weights from their seeds: the decoder's
/// block-wise set implants (GGML_Q4_0 and GGML_Q8_0) into the model the
/// model targets start from, and the set as `check_set` and `diff_sets`
/// take it (the decoder chosen by its first byte) runs through both.
#[test]
fn fuzz_seeds_reach_packed_weights() {
    use q_implant::fuzzing;
    let model = fuzzing::quantized_fixture("decoder", "decoder.qparam")
        .expect("the decoder's set passes the gate and implants");
    let file = q_implant::model::CircleFile::from_bytes("decoder.circle", model.clone()).unwrap();
    let types: Vec<&str> = q_implant::graph::Graph::new(&file)
        .tensors()
        .map(|t| t.dtype_name())
        .collect();
    assert!(
        types.contains(&"GGML_Q4_0") && types.contains(&"GGML_Q8_0"),
        "{types:?}"
    );
    fuzzing::read_model(&model);
    fuzzing::extract_model(&model);
    fuzzing::verify_model(&model);
    let options = fuzzing::set_model_options("decoder").unwrap();
    assert_eq!(fuzzing::set_model(options), "decoder");
    let dir = fixture("decoder.qparam");
    let mut input = vec![options];
    input.extend(std::fs::read(dir.join("qparam.json")).unwrap());
    for i in 0.. {
        let Ok(npy) = std::fs::read(dir.join(format!("{i}.npy"))) else {
            break;
        };
        input.extend_from_slice(fuzzing::SET_SEPARATOR);
        input.extend(npy);
    }
    fuzzing::check_set(&input);
    fuzzing::diff_sets(&input);
    for options in 0..=u8::MAX {
        assert!(fuzzing::SET_MODELS.contains(&fuzzing::set_model(options)));
    }
}
