//! The README's commands, run as written: the typical session on a copy of
//! the failure story's model and export.

mod common;

use common::{fixture, q_implant};

/// The lines of the fenced block after `marker` in README.md.
fn block_after(marker: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find(marker).expect("the README has the section");
    let rest = &readme[start..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let close = body.find("```").unwrap();
    body[..close]
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_typical_session_works_as_written() {
    let lines = block_after("A typical session");
    assert_eq!(lines.len(), 5, "{lines:?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("story.circle"), dir.path().join("model.circle")).unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    for entry in std::fs::read_dir(fixture("story.torch-qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, export.join(p.file_name().unwrap())).unwrap();
    }
    let mut codes = Vec::new();
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "q-implant", "{line}");
        let out = q_implant()
            .current_dir(dir.path())
            .args(&words[1..])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{line}: {stderr}");
        codes.push(out.status.code().unwrap());
    }
    // inspect; check finds the story's errors; --fix leaves none; verify
    // runs; apply writes.
    assert_eq!(codes, [0, 1, 0, 0, 0], "{lines:?}");
    let written = dir.path().join("model.q.circle");
    let file = q_implant::model::CircleFile::open(&written).unwrap();
    assert!(q_implant::graph::Graph::new(&file)
        .tensors()
        .any(|t| t.quantization.is_some()));
}

#[test]
fn the_first_command_runs_the_shipped_fixture() {
    let lines = block_after("## Try it");
    let first = &lines[0];
    assert!(
        first.starts_with("cargo run --release -- check "),
        "{first}"
    );
    let args: Vec<&str> = first["cargo run --release -- ".len()..]
        .split_whitespace()
        .collect();
    let out = q_implant()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the story set has errors");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("error[Q501]"), "{stdout}");
    assert_eq!(lines[1], "cargo test");
}
