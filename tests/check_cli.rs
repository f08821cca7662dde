//! `check` as CI uses it: output formats against golden files, exit codes,
//! selection, and inputs left untouched.
//!
//! Golden files live in tests/golden; after an intended change to an
//! output, regenerate them with `UPDATE_GOLDEN=1 cargo test --test check_cli`
//! and review the diff.

mod common;

use std::path::Path;

use common::{fixture, q_implant, snapshot, QSet};
use predicates::prelude::*;

const MODEL: &str = "fixtures/story.circle";
const QPARAM: &str = "fixtures/story.torch-qparam/qparam.json";

fn run_in_repo(args: &[&str]) -> (String, i32) {
    let out = q_implant()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

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

#[test]
fn json_output_is_the_contract() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--format", "json"]);
    assert_eq!(code, 1);
    golden("story.check.json", &out);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lines: Vec<u64> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["line"].as_u64())
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "diagnostics are ordered by position"
    );
}

#[test]
fn sarif_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--format", "sarif"]);
    assert_eq!(code, 1);
    golden("story.check.sarif", &out);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(!doc["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn github_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--format", "github"]);
    assert_eq!(code, 1);
    golden("story.check.github", &out);
    assert!(out
        .lines()
        .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")));
}

#[test]
fn human_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--color", "never"]);
    assert_eq!(code, 1);
    golden("story.check.txt", &out);
}

#[test]
fn the_story_reports_every_problem_of_the_first_attempt() {
    let (out, _) = run_in_repo(&["check", MODEL, QPARAM, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let has =
        |code: &str, key: &str, field: Option<&str>| {
            doc["diagnostics"].as_array().unwrap().iter().any(|d| {
                d["code"] == code && d["key"] == key && field.is_none_or(|f| d["field"] == f)
            })
        };
    for layer in ["conv1", "subnet.conv2", "subnet.conv3"] {
        let w = format!("{layer}.weight");
        let b = format!("{layer}.bias");
        assert!(
            has("Q201", &w, Some("quantized_dimension")),
            "missing quantized_dimension of {w}"
        );
        assert!(has("Q306", &w, Some("scale")), "float64 scale of {w}");
        assert!(has("Q307", &w, Some("scale")), "0-d scale of {w}");
        assert!(has("Q307", &w, Some("zerop")), "0-d zero point of {w}");
        assert!(
            has("Q407", &b, Some("value")),
            "float32 value of the uint8 bias {b}"
        );
        for key in [&w, &b, &layer.to_string()] {
            assert!(has("Q501", key, None), "foreign name {key}");
        }
    }
    let top = |key: &str| {
        doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "Q501" && d["key"] == key)
            .unwrap()["suggestions"][0]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Identical shapes ([8, 3, 3, 8]) told apart by their data.
    assert_eq!(top("subnet.conv2.weight"), "tico::_prop_tensor_constant1");
    assert_eq!(top("subnet.conv3.weight"), "tico::_prop_tensor_constant0");
    assert_eq!(top("conv1.weight"), "tico::_prop_tensor_constant2");
    assert_eq!(top("conv1.bias"), "tico::p_conv1_bias");
    assert_eq!(top("quant"), "tico::x");
}

#[test]
fn check_never_modifies_its_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let before = snapshot(&root);
    for format in ["human", "json", "sarif", "github"] {
        run_in_repo(&["check", MODEL, QPARAM, "--format", format]);
        run_in_repo(&[
            "check",
            "fixtures/mlp.circle",
            "fixtures/mlp.qparam/qparam.json",
            "--format",
            format,
        ]);
    }
    assert!(before == snapshot(&root));
}

#[test]
fn warnings_pass_unless_denied() {
    let mut s = QSet::copy_of("mlp");
    let k = s.key("fc1_bias");
    s.set_npy(&k, "zerop", "<i8", &[1], &common::i64s(&[3]));
    let qparam = s.save();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "check".to_string(),
            fixture("mlp.circle").display().to_string(),
            qparam.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    q_implant()
        .args(args(&[]))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Q703"));
    q_implant()
        .args(args(&["--deny", "warnings"]))
        .assert()
        .code(1);
    q_implant()
        .args(args(&["--ignore", "Q7"]))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Q703").not());
    q_implant()
        .args(args(&["--select", "Q1,Q2"]))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Q703").not());
}

#[test]
fn a_broken_qparam_file_is_a_finding_not_a_crash() {
    let s = QSet::copy_of("mlp");
    let qparam = s.save_raw(b"{\"tico::x\": {\"dtype\": \"uint8\", ");
    let (doc, code) = common::check_json(&fixture("mlp.circle"), &qparam);
    assert_eq!(code, 1);
    assert_eq!(doc["diagnostics"][0]["code"], "Q101");
    assert_eq!(doc["diagnostics"][0]["line"], 1);
}

#[test]
fn run_failures_exit_2() {
    q_implant()
        .args(["check", "fixtures/none.circle", QPARAM])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(2);
    q_implant()
        .args(["check", MODEL, "fixtures/none.json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the qparam file"));
    q_implant().args(["check", MODEL]).assert().code(2);
}

#[test]
fn rules_are_explained() {
    q_implant()
        .args(["rules"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Q103  error    duplicate-key"));
    q_implant()
        .args(["rules", "Q307"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## Why is this bad?"));
    q_implant().args(["rules", "Q999"]).assert().code(2);
}

#[test]
fn docs_rules_md_is_current() {
    let (out, _) = run_in_repo(&["rules", "--markdown"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    assert!(
        std::fs::read_to_string(path).unwrap_or_default() == out,
        "docs/rules.md is stale: q-implant rules --markdown > docs/rules.md"
    );
}

/// Findings whose place is inside a multi-byte character still render.
#[test]
fn human_output_survives_bytes_that_are_not_text() {
    for bytes in [
        &b"{\"caf\xe9\": 1}"[..],
        "{\"ключ\": \u{1F600}}".as_bytes(),
        "{\"é\" ".as_bytes(),
    ] {
        let s = QSet::copy_of("mlp");
        let qparam = s.save_raw(bytes);
        q_implant()
            .args([
                "check",
                fixture("mlp.circle").to_str().unwrap(),
                qparam.to_str().unwrap(),
                "--color",
                "never",
            ])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("panicked").not());
    }
}
