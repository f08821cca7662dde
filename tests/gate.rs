//! The write gate: `--select`/`--ignore` change what a report shows, never
//! what `apply` may write; patterns are checked against the registry; and
//! the output is never one of the inputs, whatever the flags or the form of
//! the command (issue 9, items 1 and 2).

mod common;

use std::path::{Path, PathBuf};

use common::{q_implant, stderr_of, stdout_of, Scene};
use predicates::prelude::*;
use serde_json::json;

type Inputs = (Vec<u8>, Vec<(PathBuf, Vec<u8>)>);

/// The run refused, said so, did not panic, and left everything as it was.
fn assert_refused(sc: &Scene, run: assert_cmd::assert::Assert, before: &Inputs) {
    let stderr = stderr_of(&run);
    run.code(1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    sc.assert_nothing_written();
    assert!(sc.inputs() == *before, "the inputs changed");
}

#[test]
fn ignoring_a_missing_dtype_refuses_instead_of_panicking() {
    let mut sc = Scene::mlp();
    sc.set.entry("tico::x").remove("dtype");
    sc.set.save();
    let before = sc.inputs();
    let run = sc.apply(&["--ignore", "Q201"]);
    let stderr = stderr_of(&run);
    assert!(
        stderr.contains("hidden by --select/--ignore still refuse the write: Q201"),
        "{stderr}"
    );
    assert_refused(&sc, run, &before);
}

#[test]
fn ignoring_value_findings_never_writes_data_of_the_wrong_size() {
    let mut sc = Scene::mlp();
    let k = sc.set.key("fc1_weight");
    sc.set.set_npy(&k, "value", "|u1", &[3], &[1, 2, 3]);
    sc.set.save();
    let before = sc.inputs();
    for ignore in ["Q4", "Q406", "Q", "value-shape"] {
        let run = sc.apply(&["--ignore", ignore]);
        assert_refused(&sc, run, &before);
    }
}

#[test]
fn selecting_only_warnings_never_writes_an_empty_scale() {
    let mut sc = Scene::mlp();
    sc.set
        .entry("tico::x")
        .insert("scale".into(), json!("gone.npy"));
    sc.set.save();
    let before = sc.inputs();
    let run = sc.apply(&["--select", "Q7"]);
    let stderr = stderr_of(&run);
    assert!(
        stderr.contains("Q301"),
        "the hidden code is named: {stderr}"
    );
    assert_refused(&sc, run, &before);
}

#[test]
fn unknown_codes_and_empty_patterns_are_refused_with_exit_2() {
    let mut sc = Scene::mlp();
    sc.set.entry("tico::x").remove("dtype");
    for (flag, pattern, says) in [
        ("--select", "XYZ", "matches no rule"),
        ("--select", "Q5O1", "Q501"),
        ("--ignore", "Q7,", "empty code"),
        ("--ignore", ",", "empty code"),
        ("--ignore", "Q999", "matches no rule"),
    ] {
        for command in ["check", "apply"] {
            let run = if command == "check" {
                sc.check(&[flag, pattern])
            } else {
                sc.apply(&[flag, pattern])
            };
            let stderr = stderr_of(&run);
            run.code(2);
            assert!(
                stderr.contains(says),
                "{command} {flag} {pattern}: {stderr}"
            );
        }
        sc.assert_nothing_written();
    }
}

#[test]
fn a_report_that_hides_findings_says_how_many_never_no_problems() {
    let mut sc = Scene::mlp();
    sc.set.entry("tico::x").remove("dtype");
    let k = sc.set.key("fc1_weight");
    sc.set.entry(&k).remove("quantized_dimension");
    let run = sc.check(&["--ignore", "Q"]);
    let stdout = stdout_of(&run);
    assert!(!stdout.contains("no problems"), "{stdout}");
    assert!(
        stdout.contains("2 more findings hidden by --select/--ignore"),
        "{stdout}"
    );
    let run = sc.check(&["--ignore", "Q", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&run)).unwrap();
    assert_eq!(doc["summary"]["hidden"], 2, "{doc:#}");
    // The same filter on apply still refuses.
    let before = sc.inputs();
    let run = sc.apply(&["--ignore", "Q"]);
    assert_refused(&sc, run, &before);
}

#[test]
fn only_warnings_can_be_waived_for_apply() {
    let mut sc = Scene::mlp();
    let k = sc.set.key("fc1_bias");
    // Q703 (a warning): a bias zero point that is not 0.
    sc.set
        .set_npy(&k, "zerop", "<i8", &[1], &common::i64s(&[2]));
    sc.apply(&["--deny", "warnings"])
        .code(1)
        .stdout(predicate::str::contains("Q703"));
    sc.assert_nothing_written();
    sc.apply(&["--deny", "warnings", "--ignore", "Q703"])
        .success();
    assert!(sc.out().exists());
}

/// The existing tool's form `q-implant MODEL QPARAM OUTPUT` implies
/// `--force`; it still never replaces an input, under any spelling.
#[test]
fn the_positional_form_never_replaces_an_input() {
    let sc = Scene::mlp();
    sc.set.save();
    let dir = sc.dir.path();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&sc.model, dir.join("link.circle")).unwrap();
    std::fs::hard_link(&sc.model, dir.join("hard.circle")).unwrap();
    let npy = sc.set.dir.path().join("0.npy");
    let before = sc.inputs();
    let mut outputs: Vec<String> = vec![
        "model.circle".into(),
        "./model.circle".into(),
        sc.model.display().to_string(),
        "hard.circle".into(),
        sc.set.path().display().to_string(),
        npy.display().to_string(),
    ];
    if cfg!(unix) {
        outputs.push("link.circle".into());
    }
    for output in &outputs {
        q_implant()
            .current_dir(dir)
            .args(["model.circle", &sc.set.path().display().to_string(), output])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is the input"));
    }
    assert_eq!(sc.inputs(), before);
    assert_eq!(std::fs::read(dir.join("hard.circle")).unwrap(), before.0);
}

#[test]
fn apply_with_force_never_replaces_an_input() {
    let sc = Scene::mlp();
    sc.set.save();
    let before = sc.inputs();
    let qparam = sc.set.path().display().to_string();
    for output in ["model.circle", "./model.circle", "out/../model.circle"] {
        std::fs::create_dir_all(sc.dir.path().join("out")).unwrap();
        q_implant()
            .current_dir(sc.dir.path())
            .args(["apply", "model.circle", &qparam, "-o", output, "--force"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is the input"));
        std::fs::remove_dir(sc.dir.path().join("out")).unwrap();
    }
    // An npy file of the set is an input too.
    let npy = sc.set.dir.path().join("12.npy");
    q_implant()
        .current_dir(sc.dir.path())
        .args(["apply", "model.circle", &qparam, "-o"])
        .arg(&npy)
        .arg("--force")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is the input"));
    assert_eq!(sc.inputs(), before);
    sc.assert_nothing_written();
    assert!(Path::new(&npy).is_file());
}
