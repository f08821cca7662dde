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
    // Grouped: one header per key, the severity in words, a closing line.
    assert_eq!(
        out.matches("`conv1.weight` fixtures/story.torch-qparam/qparam.json:8:3")
            .count(),
        1
    );
    assert!(out.contains("error[Q501] [*] names no tensor of the model"));
    assert!(out.ends_with(
        "52 errors, 0 warnings in fixtures/story.torch-qparam/qparam.json (model fixtures/story.circle); 46 fixable with `check --fix` [*]\n"
    ));
    // A tensor a key probably means is said once, at the key.
    assert_eq!(out.matches("`tico::p_conv1_bias` (99%)").count(), 1);
    assert!(out.contains("= the key `conv1.bias` above probably means it"));
    // The same advice for the same rule once: 20 Q307 findings, 2 helps.
    assert_eq!(out.matches("error[Q307]").count(), 20);
    assert_eq!(out.matches("(one value per channel)").count(), 2);
}

#[test]
fn concise_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--format", "concise"]);
    assert_eq!(code, 1);
    golden("story.check.concise", &out);
    assert_eq!(
        out.lines().count(),
        53,
        "a line per finding, then the summary"
    );
    assert!(out.starts_with(
        "fixtures/story.torch-qparam/qparam.json:2:3: error[Q501] [*] `quant` names no tensor of the model\n"
    ));
    assert!(out.contains("fixtures/story.circle: error[Q601] `unknown::permute_default`"));
}

#[test]
fn full_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--format", "full"]);
    assert_eq!(code, 1);
    golden("story.check.full", &out);
    assert!(out.contains("error[Q501] unknown-tensor"));
    assert!(out.contains("╭─[fixtures/story.torch-qparam/qparam.json:8:3]"));
}

#[test]
fn statistics_output() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "--statistics"]);
    assert_eq!(code, 1);
    golden("story.check.statistics", &out);
    assert!(
        out.contains("   20  Q307  zero-dim        error          20"),
        "{out}"
    );
    let (_, code) = run_in_repo(&["check", MODEL, QPARAM, "--statistics", "--format", "json"]);
    assert_eq!(code, 2, "--statistics is for people");
}

#[test]
fn quiet_prints_findings_only() {
    let (out, code) = run_in_repo(&["check", MODEL, QPARAM, "-q", "--format", "concise"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 52);
    assert!(!out.contains("fixable with"));
    let (out, code) = run_in_repo(&[
        "check",
        "fixtures/story.circle",
        "fixtures/story.qparam/qparam.json",
        "--quiet",
    ]);
    assert_eq!((out.as_str(), code), ("", 0), "a clean set prints nothing");
}

/// Colour follows `--color`, then NO_COLOR, FORCE_COLOR/CLICOLOR_FORCE and
/// TERM=dumb; without them, a pipe gets none.
#[test]
fn colour_follows_the_environment() {
    let coloured = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = q_implant();
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", MODEL, QPARAM])
            .args(extra);
        for var in ["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8(out.stdout).unwrap().contains("\x1b[")
    };
    assert!(!coloured(&[], &[]), "a pipe gets no colour");
    assert!(coloured(&[("FORCE_COLOR", "1")], &[]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!coloured(&[("FORCE_COLOR", "0")], &[]));
    assert!(!coloured(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")], &[]));
    assert!(coloured(&[("TERM", "dumb")], &["--color", "always"]));
    assert!(!coloured(&[("FORCE_COLOR", "1")], &["--color", "never"]));
    assert!(coloured(&[("FORCE_COLOR", "1")], &["--format", "concise"]));
    assert!(coloured(&[("FORCE_COLOR", "1")], &["--format", "full"]));
}

/// Lines are never wrapped in a pipe, whatever COLUMNS says.
#[test]
fn nothing_is_wrapped_in_a_pipe() {
    for width in ["40", "200"] {
        let out = q_implant()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", MODEL, QPARAM, "--format", "full"])
            .env("COLUMNS", width)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(
                "help: rename the key to `tico::_prop_tensor_constant2`; `check --fix` does it"
            ),
            "{text}"
        );
    }
}

/// A finding marked fixable is gone after `check --fix`: the report never
/// promises more than the fix does.
#[test]
fn what_is_marked_fixable_is_fixed() {
    for name in ["story", "convnet", "mlp", "resnet18", "encoder"] {
        let dir = tempfile::tempdir().unwrap();
        let src = fixture(&format!("{name}.torch-qparam"));
        for entry in std::fs::read_dir(&src).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
        let model = fixture(&format!("{name}.circle"));
        let qparam = dir.path().join("qparam.json");
        let json = |args: &[&str]| -> serde_json::Value {
            let out = q_implant()
                .arg("check")
                .arg(&model)
                .arg(&qparam)
                .args(["--format", "json"])
                .args(args)
                .output()
                .unwrap();
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let before = json(&[]);
        let findings = before["diagnostics"].as_array().unwrap();
        // The key each key becomes: its rename, when that is fixable.
        let renamed = |key: &serde_json::Value| -> serde_json::Value {
            findings
                .iter()
                .find(|d| d["code"] == "Q501" && d["key"] == *key && d["fixable"] == true)
                .map_or(key.clone(), |d| d["suggestions"][0]["name"].clone())
        };
        let fixable: Vec<(
            serde_json::Value,
            serde_json::Value,
            serde_json::Value,
            serde_json::Value,
        )> = findings
            .iter()
            .filter(|d| d["fixable"] == true)
            .map(|d| {
                (
                    d["code"].clone(),
                    renamed(&d["key"]),
                    d["field"].clone(),
                    d["tensor"].clone(),
                )
            })
            .collect();
        assert_eq!(
            before["summary"]["fixable"].as_u64().unwrap() as usize,
            fixable.len()
        );
        let after = json(&["--fix"]);
        for d in after["diagnostics"].as_array().unwrap() {
            let id = (
                d["code"].clone(),
                d["key"].clone(),
                d["field"].clone(),
                d["tensor"].clone(),
            );
            assert!(
                !fixable.contains(&id),
                "{name}: {id:?} was marked fixable but is still reported after --fix"
            );
        }
    }
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
    // Nothing that depends on the parse: no Q601 for every tensor.
    assert_eq!(common::codes(&doc), ["Q101"]);
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

/// docs/targets.md is what the support table and the measured matrix give
/// (src/analysis/rules/target/onert/); after measuring again or editing the
/// table, regenerate it.
#[test]
fn docs_targets_md_is_current() {
    let (out, code) = run_in_repo(&["rules", "--targets-markdown"]);
    assert_eq!(code, 0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/targets.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    assert!(
        std::fs::read_to_string(path).unwrap_or_default() == out,
        "docs/targets.md is stale: q-implant rules --targets-markdown > docs/targets.md"
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

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = q_implant().args(["completions", shell]).assert().success();
        let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
        assert!(out.contains("q-implant"), "{shell}: {out}");
        assert!(out.contains("allow-float"), "{shell} completes options");
    }
    q_implant().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn a_mistyped_subcommand_gets_a_suggestion() {
    q_implant()
        .args(["chek", "m.circle", "q.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "similar subcommand exists: 'check'",
        ));
}

/// Bash completes a subcommand's options, not only the subcommands.
#[cfg(unix)]
#[test]
fn bash_completes_after_a_subcommand() {
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let script = format!(
        "source <('{}' completions bash)\n\
         COMP_WORDS=(q-implant check --fo); COMP_CWORD=2\n\
         _q__implant q-implant --fo check\n\
         echo \"${{COMPREPLY[*]}}\"",
        bin.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.split_whitespace().any(|w| w == "--format"), "{words}");
}

/// A key written twice far apart on one line (a minified file): `full`
/// draws the finding and says where the first copy is, instead of
/// panicking on the distance.
#[test]
fn full_output_names_a_far_label_in_words() {
    let s = QSet::copy_of("mlp");
    let x = s.json["tico::x"].to_string();
    let mut text = serde_json::to_string(&s.json).unwrap();
    text.pop();
    for i in 0..800 {
        text.push_str(&format!(",\"pad{i}\":{x}"));
    }
    text.push_str(&format!(",\"tico::x\":{x}}}"));
    let qparam = s.save_raw(text.as_bytes());
    for format in ["full", "human", "concise"] {
        let run = q_implant()
            .arg("check")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .args(["--format", format])
            .assert()
            .code(1);
        let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
        assert!(out.contains("Q103"), "{format}: {out}");
        if format == "full" {
            assert!(out.contains("first defined here at 1:"), "{out}");
        }
    }
}

/// Keys are printed so that they can neither restyle the terminal nor
/// break a line: control and reordering characters are escaped.
#[test]
fn control_characters_in_keys_are_escaped() {
    let mut s = QSet::copy_of("mlp");
    let x = s.json["tico::x"].clone();
    s.json.insert("\u{1b}[31mred\nline\u{202e}".into(), x);
    let qparam = s.save();
    for format in ["human", "concise", "full"] {
        let out = q_implant()
            .arg("check")
            .arg(fixture("mlp.circle"))
            .arg(&qparam)
            .args(["--format", format, "--color", "never"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\u{1b}'), "{format}: {text:?}");
        assert!(!text.contains('\u{202e}'), "{format}: {text:?}");
        assert!(
            text.contains("\\u{1b}[31mred\\u{a}line\\u{202e}"),
            "{format}: {text}"
        );
        if format == "concise" {
            assert_eq!(text.lines().count(), 2, "one line per finding: {text}");
        }
    }
}

/// A file that is not UTF-8 gets Q104 and nothing that depends on its
/// keys; a byte-order mark is named as such.
#[test]
fn encoding_problems_stop_at_the_encoding() {
    let s = QSet::copy_of("mlp");
    let text = serde_json::to_string_pretty(&s.json).unwrap();
    let mut bytes = text.replacen("tico::x", "tico::\u{e9}", 1).into_bytes();
    let at = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    bytes.splice(at..at + 2, [0xe9]);
    let qparam = s.save_raw(&bytes);
    let (doc, code) = common::check_json(&fixture("mlp.circle"), &qparam);
    assert_eq!((common::codes(&doc), code), (vec!["Q104".to_string()], 1));
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend(text.as_bytes());
    let qparam = s.save_raw(&bom);
    let (doc, _) = common::check_json(&fixture("mlp.circle"), &qparam);
    assert_eq!(common::codes(&doc), ["Q101"]);
    let message = doc["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("byte-order mark"), "{message}");
}

/// A CRLF file (json.dump on Windows) is drawn with the right line
/// numbers and no stray carriage returns.
#[test]
fn crlf_files_are_drawn_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("story.torch-qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let qparam = dir.path().join("qparam.json");
    let text = std::fs::read_to_string(&qparam).unwrap();
    std::fs::write(&qparam, text.replace('\n', "\r\n")).unwrap();
    let out = q_implant()
        .arg("check")
        .arg(fixture("story.circle"))
        .arg(&qparam)
        .args(["--format", "full"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\r'), "{text:?}");
    assert!(text.contains(" 3 │     \"dtype\": \"uint8\","), "{text}");
}

#[test]
fn rules_lists_the_rules_of_a_prefix() {
    let run = q_implant().args(["rules", "Q5"]).assert().success();
    let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().all(|l| l.starts_with("Q50")), "{out}");
    q_implant().args(["rules", "Q9"]).assert().code(2);
}

/// Work over a second shows a progress line on a terminal (stderr), erased
/// before the end; `--quiet` and a pipe get none.
#[cfg(unix)]
#[test]
fn progress_shows_on_a_terminal_only() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) is needed for a terminal");
        return;
    }
    let mut s = QSet::copy_of("mlp");
    let x = s.json["tico::x"].clone();
    for i in 0..20_000 {
        s.json.insert(format!("bogus.{i}"), x.clone());
    }
    let qparam = s.save();
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let on_terminal = |extra: &str| {
        let log = s.dir.path().join("terminal.log");
        let command = format!(
            "'{}' check '{}' '{}' --format json {extra} > /dev/null",
            bin.display(),
            fixture("mlp.circle").display(),
            qparam.display()
        );
        // The line appears at once, however fast the check.
        std::process::Command::new("script")
            .args(["-qec", &command])
            .arg(&log)
            .env("TERM", "xterm")
            .env("Q_IMPLANT_PROGRESS_DELAY", "0")
            .output()
            .unwrap();
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    let drawn = on_terminal("");
    assert!(drawn.contains(" checking "), "{drawn:?}");
    let last = drawn.rfind(" checking ").unwrap();
    assert!(drawn[last..].contains("\r\u{1b}[2K"), "erased: {drawn:?}");
    assert!(!on_terminal("--quiet").contains(" checking "));
    let piped = q_implant()
        .arg("check")
        .arg(fixture("mlp.circle"))
        .arg(&qparam)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}
