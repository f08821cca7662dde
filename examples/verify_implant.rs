//! Reads an `apply` output back and checks it against the qparam set: every
//! named tensor has the entry's type, scales, zero points and axis, and,
//! where the entry has a value, exactly the npy file's data bytes. A
//! weight written packed (GGML blocks, INT4, UINT4) is unpacked first: its
//! values equal the npy file's, and a GGML block's scale is the entry's
//! rounded to float16.
//!
//!     cargo run --release --example verify_implant -- OUTPUT.circle qparam.json

use std::process::ExitCode;

use q_implant::graph::Graph;
use q_implant::model::fb::TensorType;
use q_implant::model::CircleFile;
use q_implant::packed::{self, f16, Packing};
use q_implant::qparam::{self, LoadOptions, QDType};

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
            let expected = match (entry.blocks(), dtype) {
                (Some(_), QDType::I4) => TensorType::GGML_Q4_0,
                (Some(_), QDType::I8) => TensorType::GGML_Q8_0,
                _ => dtype.tensor_type(),
            };
            if t.dtype != expected {
                problems.push(format!(
                    "{}: type {} instead of {}",
                    t.name,
                    t.dtype_name(),
                    q_implant::graph::dtype_name(expected)
                ));
            }
            let packing = Packing::of(t.dtype);
            let q = t.quantization.as_ref();
            let scales: Vec<f32> = entry
                .scales()
                .unwrap_or_default()
                .iter()
                .map(|&s| s as f32)
                .collect();
            let zero_points = entry.zero_points().unwrap_or_default();
            let blockwise = packing.is_some_and(Packing::is_blockwise);
            if !blockwise
                && q.map(|q| (&q.scale[..], &q.zero_point[..])) != Some((&scales[..], zero_points))
            {
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
                let same = match (packing, &stored) {
                    (Some(p), Some(stored)) => {
                        same_packed(p, stored, data, &scales, t.element_count())
                    }
                    _ => stored.as_deref() == Some(data),
                };
                if !same {
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
            "verified {model}: {checked} tensors with their parameters, {bytes} data bytes equal to the npy files (packed weights unpacked) ({} layout)",
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

/// Whether packed data holds the npy file's values (one a byte), and for
/// GGML blocks the entry's scales rounded to float16.
fn same_packed(p: Packing, stored: &[u8], npy: &[u8], scales: &[f32], count: Option<u64>) -> bool {
    let Some(count) = count else {
        return false;
    };
    let Ok(u) = packed::unpack(p, stored, count) else {
        return false;
    };
    let values_equal = u.values.iter().map(|&v| v as u8).eq(npy.iter().copied());
    let scales_equal = !p.is_blockwise()
        || u.scales
            .iter()
            .copied()
            .eq(scales.iter().map(|&s| f16::round(s)));
    values_equal && scales_equal
}
