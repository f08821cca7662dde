//! The README's commands, run as written: the story's journey on a copy of
//! the failure story's model and export, and the calibration of the
//! encoder's raw export.

mod common;

use std::path::Path;

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

/// A copy of the directory `from` (its files) at `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// Runs each README line (`q-implant ...`, comments cut) in `dir`: the
/// exit codes, and what each said (stdout, then stderr).
fn run_lines(lines: &[String], dir: &Path) -> (Vec<i32>, Vec<String>) {
    let mut codes = Vec::new();
    let mut said = Vec::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "q-implant", "{line}");
        let out = q_implant()
            .current_dir(dir)
            .args(&words[1..])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{line}: {stderr}");
        codes.push(out.status.code().unwrap());
        said.push(String::from_utf8_lossy(&out.stdout).to_string() + &stderr);
    }
    (codes, said)
}

/// The story's journey, as the README writes it, on a copy of the story's
/// model and export: `check` finds the errors, `--fix` repairs them, the
/// target finds what onert would get wrong, `--fix --target onert
/// --fallback float` settles it, and `apply` writes a model whose weights
/// are uint8 (zero point 128) and whose RELU runs in float.
#[test]
fn the_story_journey_works_as_written() {
    let lines = block_after("## The story, start to finish");
    assert_eq!(lines.len(), 7, "{lines:?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("story.circle"), dir.path().join("model.circle")).unwrap();
    copy_dir(&fixture("story.torch-qparam"), &dir.path().join("export"));
    let (codes, said) = run_lines(&lines, dir.path());
    // inspect; 52 errors; fixed; onert's; fixed for onert; verified;
    // written.
    assert_eq!(codes, [0, 1, 0, 1, 0, 0, 0], "{lines:?}");
    assert!(said[1].contains("52 errors"), "{}", said[1]);
    assert!(said[2].contains("0 errors"), "{}", said[2]);
    assert!(said[3].contains("4 errors"), "{}", said[3]);
    assert!(said[4].contains("0 errors, 1 warning"), "{}", said[4]);
    assert!(
        said[5].contains("outputs:") && said[5].contains("SQNR"),
        "{}",
        said[5]
    );
    let written = dir.path().join("model.q.circle");
    let file = q_implant::model::CircleFile::open(&written).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let sg = &graph.subgraphs[0];
    for op in sg
        .operators
        .iter()
        .filter(|o| o.opcode.to_string() == "CONV_2D")
    {
        let w = &sg.tensors[op.inputs[1].unwrap()];
        assert_eq!(w.dtype_name(), "UINT8", "{}", w.name);
        assert_eq!(
            w.quantization.as_ref().unwrap().zero_point,
            [128],
            "{}",
            w.name
        );
    }
    let relu = sg
        .operators
        .iter()
        .find(|o| o.opcode.to_string() == "RELU")
        .unwrap();
    assert_eq!(sg.tensors[relu.inputs[0].unwrap()].dtype_name(), "FLOAT32");
}

/// The calibration section, as the README writes it, on a copy of the
/// encoder's raw export: `--fix` alone leaves the tensors the exporter
/// never saw, `--fix --calibrate samples/` ends clean, `verify` and
/// `apply` run.
#[test]
fn the_calibration_section_works_as_written() {
    let lines = block_after("## When the export left tensors out");
    assert_eq!(lines.len(), 4, "{lines:?}");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.circle");
    std::fs::copy(fixture("encoder.circle"), &model).unwrap();
    copy_dir(&fixture("encoder.torch-qparam"), &dir.path().join("export"));
    let samples = dir.path().join("samples");
    std::fs::create_dir(&samples).unwrap();
    common::write_samples(&model, &samples, 16, 7);
    let (codes, said) = run_lines(&lines, dir.path());
    assert_eq!(codes, [1, 0, 0, 0], "{said:?}");
    assert!(said[0].contains("84 errors"), "{}", said[0]);
    assert!(
        said[1].contains("calibrated") && said[1].contains("from 16 samples"),
        "{}",
        said[1]
    );
    assert!(said[2].contains("outputs:"), "{}", said[2]);
    assert!(dir.path().join("model.q.circle").is_file());
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
