//! The bodies of the fuzz targets, shared with the regression tests that
//! replay what the fuzzers once found. Not part of the supported API.

use crate::graph::Graph;
use crate::inspect::Report;
use crate::model::{writer, CircleFile, Layout, ModelParts};
use crate::qparam::{json, npy};

/// Any bytes as a model: an error or a model that can be viewed, inspected
/// and written again in both layouts, and read back.
pub fn read_model(data: &[u8]) {
    let Ok(file) = CircleFile::from_bytes("fuzz.circle", data.to_vec()) else {
        return;
    };
    let _ = Graph::new(&file);
    let report = Report::new(&file);
    let _ = report.to_json();
    let _ = report.to_table();
    let Ok(parts) = ModelParts::from_file(&file) else {
        return;
    };
    for layout in [Layout::Plain, Layout::Large] {
        let mut out = Vec::new();
        if writer::write(&parts, layout, &mut out).is_ok() {
            CircleFile::from_bytes("again.circle", out).expect("a written model reads back");
        }
    }
}

/// Any bytes as qparam.json text and as an npy file.
pub fn parse_qparam(data: &[u8]) {
    let _ = json::parse(&String::from_utf8_lossy(data));
    if let Ok(header) = npy::parse_header(data) {
        let _ = npy::floats(&header.dtype, &data[header.data_offset..]);
    }
}
