//! Reads an `apply` output back and checks it against the qparam set: every
//! named tensor has the entry's type, scales, zero points and axis, and,
//! where the entry has a value, exactly the npy file's data bytes.
//!
//!     cargo run --release --example verify_implant -- OUTPUT.circle qparam.json

use std::process::ExitCode;

use q_implant::graph::Graph;
use q_implant::model::CircleFile;
use q_implant::qparam::{self, LoadOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(qparam)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: verify_implant OUTPUT.circle qparam.json");
        return ExitCode::from(2);
    };
    let file = match CircleFile::open(model) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let graph = Graph::new(&file);
    let (set, _) = qparam::load(qparam.as_ref(), LoadOptions::default()).expect("qparam readable");
    let (mut checked, mut bytes, mut problems) = (0usize, 0u64, Vec::new());
    for entry in &set.entries {
        let tensors: Vec<_> = graph.tensors().filter(|t| t.name == entry.key).collect();
        if tensors.is_empty() {
            problems.push(format!("{}: no such tensor", entry.key));
        }
        for t in tensors {
            checked += 1;
            let dtype = entry.dtype.as_ref().expect("dtype").value;
            if t.dtype != dtype.tensor_type() {
                problems.push(format!(
                    "{}: type {} instead of {}",
                    t.name,
                    t.dtype_name(),
                    dtype.name()
                ));
            }
            let q = t.quantization.as_ref();
            let scales: Vec<f32> = entry
                .scales()
                .unwrap_or_default()
                .iter()
                .map(|&s| s as f32)
                .collect();
            let zero_points = entry.zero_points().unwrap_or_default();
            if q.map(|q| (&q.scale[..], &q.zero_point[..])) != Some((&scales[..], zero_points)) {
                problems.push(format!(
                    "{}: quantization {q:?} differs from the entry",
                    t.name
                ));
            }
            if let Some(value) = &entry.value {
                let npy = value.value.read_data().expect("npy readable");
                let data = &npy[..];
                bytes += data.len() as u64;
                let stored = t
                    .data
                    .map(|d| file.read_payload(d).expect("model readable"));
                if stored.as_deref() != Some(data) {
                    problems.push(format!(
                        "{}: data differs from {}",
                        t.name,
                        value.value.origin()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        println!(
            "verified {model}: {checked} tensors with their parameters, {bytes} data bytes equal to the npy files ({} layout)",
            if file.is_large_layout() { "large-model" } else { "plain" }
        );
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        ExitCode::from(1)
    }
}
