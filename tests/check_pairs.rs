//! `check` without MODEL and QPARAM checks every model and qparam set the
//! configuration pairs (`qparam` in a model's table), with the options
//! given, from the working directory; the worst exit code wins.

mod common;

use std::path::Path;

use common::{fixture, q_implant};

/// A project: two models with their sets (one clean, one with errors), and
/// a configuration pairing them; paths with spaces.
fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy_dir = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    };
    std::fs::copy(fixture("story.circle"), dir.path().join("story.circle")).unwrap();
    std::fs::copy(fixture("mlp.circle"), dir.path().join("my model.circle")).unwrap();
    copy_dir(&fixture("story.torch-qparam"), &dir.path().join("export"));
    copy_dir(&fixture("mlp.qparam"), &dir.path().join("mlp set"));
    std::fs::write(dir.path().join("pyproject.toml"), config).unwrap();
    dir
}

const PAIRED: &str = "[tool.q-implant.model.\"story.circle\"]\nqparam = \"export/qparam.json\"\n[tool.q-implant.model.\"my model.circle\"]\nqparam = [\"mlp set/qparam.json\"]\n";

#[test]
fn every_pair_is_checked_and_the_worst_exit_code_wins() {
    let dir = project(PAIRED);
    let out = q_implant()
        .current_dir(dir.path())
        .args(["check", "--format", "concise"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok: 7 entries of mlp set/qparam.json match my model.circle"));
    assert!(stdout.contains("52 errors, 0 warnings in export/qparam.json (model story.circle)"));
    // Options apply to every pair.
    let out = q_implant()
        .current_dir(dir.path())
        .args(["check", "--select", "Q7"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn each_pair_reports_as_if_named_on_the_command_line() {
    let dir = project(PAIRED);
    let all = q_implant()
        .current_dir(dir.path())
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let mut expected = Vec::new();
    for (model, qparam) in [
        ("my model.circle", "mlp set/qparam.json"),
        ("story.circle", "export/qparam.json"),
    ] {
        let one = q_implant()
            .current_dir(dir.path())
            .args(["check", model, qparam, "--format", "json"])
            .output()
            .unwrap();
        expected.extend(one.stdout);
    }
    assert_eq!(all.stdout, expected);
}

#[test]
fn without_pairs_the_missing_paths_are_an_error_that_says_how_to_pair() {
    let dir = project("[tool.q-implant]\nignore = [\"Q7\"]\n");
    for args in [vec!["check"], vec!["check", "--isolated"]] {
        let out = q_implant()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr.contains("<MODEL>") && stderr.contains("qparam = "),
            "{stderr}"
        );
    }
    // One path given is still a missing path, never a pair.
    let dir = project(PAIRED);
    let out = q_implant()
        .current_dir(dir.path())
        .args(["check", "story.circle"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_broken_configuration_stops_the_run() {
    let dir = project("[tool.q-implant.model.\"story.circle\"]\nqparam = 3\n");
    let out = q_implant()
        .current_dir(dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("qparam"));
}
