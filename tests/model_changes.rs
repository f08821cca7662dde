//! A model file that another process truncates or rewrites while q-implant
//! runs: what was verified stays what is used, and reading the rest gives
//! an error, never SIGBUS (issue 9, item 11).

mod common;

use std::path::{Path, PathBuf};

use common::ModelBuilder;
use q_implant::graph::Graph;
use q_implant::model::{self, fb, writer, CircleFile, Layout, ModelParts};

/// A model with a payload large enough to stay in the file rather than in
/// the in-memory image (64 KiB), written in `layout`.
fn model_in(dir: &Path, layout: Layout) -> PathBuf {
    let plain = dir.join("plain.circle");
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 128], None);
    let w = b.tensor("w", &[128, 128], Some(&[0.25; 128 * 128]));
    let y = b.tensor("y", &[1, 128], None);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, -1], &[y]);
    // A constant nothing reads: written as it is, from the model file.
    b.tensor("kept", &[64, 64], Some(&[0.5; 64 * 64]));
    b.save(&plain, &[x], &[y]);
    if layout == Layout::Plain {
        return plain;
    }
    let large = dir.join("large.circle");
    let file = CircleFile::open(&plain).unwrap();
    model::save(
        &ModelParts::from_file(&file).unwrap(),
        Layout::Large,
        &large,
        false,
    )
    .unwrap();
    large
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_model_truncated_after_it_was_opened_gives_errors_not_sigbus() {
    for layout in [Layout::Plain, Layout::Large] {
        for keep in [0u64, 100, 4096] {
            let dir = tempfile::tempdir().unwrap();
            let path = model_in(dir.path(), layout);
            let file = CircleFile::open(&path).unwrap();
            truncate(&path, keep);
            // The verified structure is ours: viewing it needs the file no more.
            let graph = Graph::new(&file);
            let w = graph.tensors().find(|t| t.name == "w").unwrap();
            assert_eq!(w.shape, [128, 128]);
            let err = file.read_payload(w.data.unwrap()).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
            // Writing copies payloads from the file: an error, for either
            // output layout, into memory or into a file.
            let parts = ModelParts::from_file(&file).unwrap();
            for out_layout in [Layout::Plain, Layout::Large] {
                let mut out = Vec::new();
                assert!(writer::write(&parts, out_layout, &mut out).is_err());
            }
            let dest = dir.path().join("out.circle");
            let err = model::save(&parts, Layout::Auto, &dest, false).unwrap_err();
            assert!(chain(&err).contains("changed"), "{}", chain(&err));
            assert!(!dest.exists());
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(
                names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
                "{names:?}"
            );
        }
    }
}

/// The whole `apply` path: analysed, then the model shrinks before the
/// implant is written.
#[test]
fn apply_fails_cleanly_when_the_model_shrinks_before_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = model_in(dir.path(), Layout::Plain);
    let mut set = common::empty_set();
    set.add("x", "uint8", 0.02, 128, None);
    set.add(
        "w",
        "uint8",
        0.002,
        0,
        Some(("|u1", &[128, 128], &[125; 128 * 128])),
    );
    set.add("y", "uint8", 0.05, 128, None);
    let qparam = set.save();
    let file = CircleFile::open(&path).unwrap();
    let graph = Graph::new(&file);
    let analysis = q_implant::analysis::check(&graph, &qparam, &Default::default()).unwrap();
    assert!(analysis.plan.gate(false, |_| false).is_ok());
    let implanted = q_implant::implant::implant(&file, &graph, &analysis.plan).unwrap();
    truncate(&path, 1000);
    // `w` now comes from its npy file; `kept` still from the model.
    let dest = dir.path().join("out.circle");
    let err = model::save(&implanted.parts, Layout::Auto, &dest, false).unwrap_err();
    assert!(chain(&err).contains("changed"), "{}", chain(&err));
    assert!(!dest.exists());
}

/// Rewritten in place with other bytes of the same length: the structure
/// that was verified is still the one seen, and a copy made from it reads
/// back as a valid model.
#[test]
fn a_model_rewritten_after_it_was_opened_keeps_the_verified_structure() {
    for layout in [Layout::Plain, Layout::Large] {
        let dir = tempfile::tempdir().unwrap();
        let path = model_in(dir.path(), layout);
        let file = CircleFile::open(&path).unwrap();
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        std::fs::write(&path, vec![0xa5u8; len]).unwrap();
        let graph = Graph::new(&file);
        let names: Vec<&str> = graph.tensors().map(|t| t.name).collect();
        assert_eq!(names, ["x", "w", "y", "kept"]);
        let parts = ModelParts::from_file(&file).unwrap();
        let mut out = Vec::new();
        writer::write(&parts, Layout::Plain, &mut out).unwrap();
        let again = CircleFile::from_bytes("again.circle", out).unwrap();
        let g = Graph::new(&again);
        let w = g.tensors().find(|t| t.name == "w").unwrap();
        assert_eq!(w.data.unwrap().len, (128 * 128 * 4) as u64);
        assert_eq!(
            again.read_payload(w.data.unwrap()).unwrap(),
            vec![0xa5; 128 * 128 * 4]
        );
    }
}

/// An error and its causes, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
