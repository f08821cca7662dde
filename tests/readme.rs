//! The README's commands, run as written: the story's journey on a copy of
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
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    for entry in std::fs::read_dir(fixture("story.torch-qparam")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, export.join(p.file_name().unwrap())).unwrap();
    }
    let mut codes = Vec::new();
    let mut said = Vec::new();
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
        said.push(String::from_utf8_lossy(&out.stdout).to_string() + &stderr);
    }
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
