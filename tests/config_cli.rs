//! Settings from `q-implant.toml` or `[tool.q-implant]` in pyproject.toml:
//! found by walking up from the qparam directory, overridden by the command
//! line, ignored with `--isolated`, replaced with `--config`.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, q_implant, stderr_of};

const RELU: &str = "__main__.modules.<locals>.MLP::relu";

/// The mlp set without the ReLU output's entry, two directories below a
/// temporary root: uncovered (Q601), and kept float only with Q602.
fn scene() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("export/run1");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture("mlp.qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let path = dir.join("qparam.json");
    let mut json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json.remove(RELU).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    (root, path)
}

/// `check` of the mlp model and `qparam`, to add arguments to.
fn check_mlp(qparam: &Path) -> assert_cmd::Command {
    let mut cmd = q_implant();
    cmd.arg("check").arg(fixture("mlp.circle")).arg(qparam);
    cmd
}

/// `check --format json`'s codes with their severities, and the exit code.
fn check(qparam: &Path, args: &[&str]) -> (Vec<String>, i32) {
    let out = q_implant()
        .arg("check")
        .arg(fixture("mlp.circle"))
        .arg(qparam)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    if code == 2 {
        return (vec![String::from_utf8_lossy(&out.stderr).into_owned()], 2);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap(),
                d["severity"].as_str().unwrap()
            )
        })
        .collect();
    (found, code)
}

#[test]
fn a_file_up_the_tree_is_found_and_the_command_line_overrides_it() {
    let (root, qparam) = scene();
    assert_eq!(check(&qparam, &[]).0, ["Q601 error"]);
    std::fs::write(
        root.path().join("q-implant.toml"),
        format!("allow-float = [\"{RELU}\"]\nignore = [\"Q602\"]\n"),
    )
    .unwrap();
    // Found two directories up: Q601 is a warning and Q602 hidden, so
    // check passes (its exit code follows what is shown; apply's gate does
    // not, see apply_reads_the_same_settings).
    let (found, code) = check(&qparam, &[]);
    assert_eq!(found, ["Q601 warning"]);
    assert_eq!(code, 0);
    // The command line's list replaces the file's.
    let (found, _) = check(&qparam, &["--ignore", "Q7"]);
    assert_eq!(found, ["Q601 warning", "Q602 error"]);
    // --isolated reads no file.
    assert_eq!(check(&qparam, &["--isolated"]).0, ["Q601 error"]);
}

#[test]
fn q_implant_toml_is_nearer_than_pyproject_and_a_pyproject_needs_its_table() {
    let (root, qparam) = scene();
    let export = root.path().join("export");
    std::fs::write(
        export.join("pyproject.toml"),
        "[project]\nname = \"export\"\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("pyproject.toml"),
        format!("[tool.q-implant]\nallow-float = [\"{RELU}\"]\n"),
    )
    .unwrap();
    // export's pyproject has no table: the root's applies.
    assert_eq!(check(&qparam, &[]).0, ["Q601 warning", "Q602 error"]);
    std::fs::write(export.join("q-implant.toml"), "select = [\"Q1\"]\n").unwrap();
    assert_eq!(check(&qparam, &[]).0, Vec::<String>::new());
}

#[test]
fn config_names_a_file_and_model_tables_apply_to_their_model() {
    let (root, qparam) = scene();
    let elsewhere = root.path().join("settings.toml");
    std::fs::write(
        &elsewhere,
        format!("select = [\"Q7\"]\n[model.\"mlp.circle\"]\nallow-float = [\"{RELU}\"]\nselect = [\"Q6\"]\n"),
    )
    .unwrap();
    let (found, _) = check(&qparam, &["--config", elsewhere.to_str().unwrap()]);
    assert_eq!(found, ["Q601 warning", "Q602 error"]);
    std::fs::write(
        &elsewhere,
        format!("[model.\"other.circle\"]\nallow-float = [\"{RELU}\"]\n"),
    )
    .unwrap();
    let (found, _) = check(&qparam, &["--config", elsewhere.to_str().unwrap()]);
    assert_eq!(found, ["Q601 error"]);
}

#[test]
fn propagate_from_the_file_and_no_propagate_on_the_command_line() {
    let root = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("convnet.qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, root.path().join(p.file_name().unwrap())).unwrap();
    }
    let qparam = root.path().join("qparam.json");
    let mut json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&qparam).unwrap()).unwrap();
    json.remove("unknown::permute_default").unwrap();
    std::fs::write(&qparam, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let run = |args: &[&str]| {
        q_implant()
            .arg("check")
            .arg(fixture("convnet.circle"))
            .arg(&qparam)
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    assert_eq!(run(&[]), 1);
    std::fs::write(root.path().join("q-implant.toml"), "propagate = true\n").unwrap();
    assert_eq!(run(&[]), 0);
    assert_eq!(run(&["--no-propagate"]), 1);
    assert_eq!(
        run(&["--no-propagate", "--propagate"]),
        0,
        "the last flag wins"
    );
}

#[test]
fn a_bad_file_is_refused_naming_the_file_and_the_key() {
    let (root, qparam) = scene();
    let config = root.path().join("q-implant.toml");
    for (text, wanted) in [
        ("alow-float = [\"x\"]\n", "unknown field `alow-float`"),
        ("propagate = \"yes\"\n", "invalid type"),
        ("select = [\"Q9\"]\n", "the setting `select`"),
        ("allow-float = [\"relu\"]\n", "the setting `allow-float`"),
        (
            "[model.\"mlp.circle\"]\nfloat_io = true\n",
            "unknown field `float_io`",
        ),
        ("select = [\n", "q-implant.toml"),
    ] {
        std::fs::write(&config, text).unwrap();
        let run = check_mlp(&qparam).assert().code(2);
        let stderr = stderr_of(&run);
        assert!(stderr.contains(wanted), "{text}: {stderr}");
        assert!(stderr.contains("q-implant.toml"), "{text}: {stderr}");
    }
    let missing = root.path().join("missing.toml");
    check_mlp(&qparam)
        .arg("--config")
        .arg(&missing)
        .assert()
        .code(2);
}

#[test]
fn apply_reads_the_same_settings() {
    let (root, qparam) = scene();
    let out = root.path().join("q.circle");
    let apply = || {
        let run = q_implant()
            .arg("apply")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .arg("-o")
            .arg(&out)
            .args(["--format", "concise"])
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            String::from_utf8_lossy(&run.stderr).into_owned(),
            run.status.code().unwrap(),
        )
    };
    let (stdout, _, code) = apply();
    assert!(stdout.contains("error[Q601]"), "{stdout}");
    assert_eq!(code, 1);
    // The file's allow-float reaches apply; ignoring the remaining error
    // hides it, but does not let apply write past it.
    std::fs::write(
        root.path().join("q-implant.toml"),
        format!("allow-float = [\"{RELU}\"]\nignore = [\"Q602\"]\n"),
    )
    .unwrap();
    let (stdout, stderr, code) = apply();
    assert!(stdout.contains("warning[Q601]"), "{stdout}");
    assert!(!stdout.contains("Q602"), "{stdout}");
    assert!(stderr.contains("still refuse the write: Q602"), "{stderr}");
    assert_eq!(code, 1);
    assert!(!out.exists());
}

/// A pyproject.toml that is not ours and cannot be parsed is passed over
/// with a warning; one of ours that is wrong, or a special file given to
/// --config, stops the run.
#[test]
fn someone_elses_broken_pyproject_is_skipped_with_a_warning() {
    let (root, qparam) = scene();
    std::fs::write(root.path().join("pyproject.toml"), "[project\n").unwrap();
    let run = check_mlp(&qparam).assert().code(1);
    let stderr = stderr_of(&run);
    assert!(stderr.contains("warning: skipped"), "{stderr}");
    assert!(stderr.contains("pyproject.toml"), "{stderr}");
    std::fs::write(root.path().join("pyproject.toml"), "[tool.q-implant\n").unwrap();
    check_mlp(&qparam).assert().code(2);
    #[cfg(unix)]
    check_mlp(&qparam)
        .args(["--config", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a regular file"));
}

#[cfg(unix)]
#[test]
fn model_tables_are_checked_all_and_may_not_overlap() {
    let (root, qparam) = scene();
    let config = root.path().join("q-implant.toml");
    std::fs::write(&config, "[model.\"other.circle\"]\nselect = [\"Q99\"]\n").unwrap();
    let run = check_mlp(&qparam).assert().code(2);
    assert!(stderr_of(&run).contains("[model.\"other.circle\"]"));
    let relative = pathdiff(root.path(), &fixture("mlp.circle"));
    std::fs::write(
        &config,
        format!(
            "[model.\"mlp.circle\"]\npropagate = true\n[model.\"{relative}\"]\npropagate = false\n"
        ),
    )
    .unwrap();
    let run = check_mlp(&qparam).assert().code(2);
    assert!(stderr_of(&run).contains("both name"), "{}", stderr_of(&run));
}

/// `to` as a path from `from`, with `..` for each component of `from`.
#[cfg(unix)]
fn pathdiff(from: &Path, to: &Path) -> String {
    let ups = from.components().count() - 1;
    let mut out = "../".repeat(ups);
    out.push_str(to.strip_prefix("/").unwrap().to_str().unwrap());
    out
}
