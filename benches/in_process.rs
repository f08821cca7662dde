//! In-process costs of the phases, on the real fixtures and on a synthetic
//! qparam file with many entries:
//!
//!     cargo bench --bench in_process
//!
//! Whole-process figures on gigabyte models come from scripts/bench.sh.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use q_implant::analysis::{self, CheckOptions};
use q_implant::graph::Graph;
use q_implant::model::{writer, CircleFile, Layout, ModelParts};
use q_implant::qparam::{json, npy};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn model(c: &mut Criterion) {
    let path = fixture("convnet.circle");
    c.bench_function("open and verify convnet.circle", |b| {
        b.iter(|| CircleFile::open(&path).unwrap())
    });
    let file = CircleFile::open(&path).unwrap();
    c.bench_function("graph view of convnet.circle", |b| {
        b.iter(|| Graph::new(&file))
    });
    let parts = ModelParts::from_file(&file).unwrap();
    for layout in [Layout::Plain, Layout::Large] {
        c.bench_function(&format!("write convnet.circle, {layout:?} layout"), |b| {
            b.iter(|| writer::write(&parts, layout, &mut Vec::new()).unwrap())
        });
    }
}

fn check(c: &mut Criterion) {
    let options = CheckOptions::default();
    for (model, qparam) in [
        ("convnet.circle", "convnet.qparam/qparam.json"),
        ("story.circle", "story.torch-qparam/qparam.json"),
    ] {
        let file = CircleFile::open(fixture(model)).unwrap();
        let graph = Graph::new(&file);
        let qparam = fixture(qparam);
        c.bench_function(
            &format!(
                "check {}",
                qparam
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
            ),
            |b| b.iter(|| analysis::check(&graph, &qparam, &options).unwrap()),
        );
    }
}

fn parsers(c: &mut Criterion) {
    let entry =
        r#"{"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}"#;
    let text = format!(
        "{{{}}}",
        (0..10_000)
            .map(|i| format!("\"tensor_{i}\": {entry}"))
            .collect::<Vec<_>>()
            .join(",\n")
    );
    c.bench_function("json: 10000 entries", |b| {
        b.iter(|| json::parse(&text).unwrap())
    });
    let file = npy::encode("<f4", false, &[64], &[0u8; 256]);
    c.bench_function("npy header", |b| {
        b.iter(|| npy::parse_header(&file).unwrap())
    });
}

criterion_group!(benches, model, check, parsers);
criterion_main!(benches);
