//! Any bytes given to the reader produce a model or an error, never a panic;
//! a model that opens can be viewed, inspected and written again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use q_implant::graph::Graph;
use q_implant::inspect::Report;
use q_implant::model::{writer, CircleFile, Layout, ModelParts};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = CircleFile::from_bytes("fuzz.circle", data.to_vec()) else {
        return;
    };
    let _ = Graph::new(&file);
    let _ = Report::new(&file).to_json();
    let parts = ModelParts::from_file(&file);
    for layout in [Layout::Plain, Layout::Large] {
        let mut out = Vec::new();
        if writer::write(&parts, layout, &mut out).is_ok() {
            CircleFile::from_bytes("again.circle", out).expect("a written model reads back");
        }
    }
});
