//! `--save-outputs DIR`: each sample's graph outputs from both runs as npy
//! files, `DIR/sample<i>/float_<k>.npy` and `DIR/sample<i>/quantized_<k>.npy`
//! (float32; the quantized run's dequantized), written into a directory
//! that appears whole or not at all.

use std::io::Write;
use std::path::Path;

use super::compare::OutputValues;
use crate::files::AtomicDir;
use crate::interpret::value::{Data, Tensor};
use crate::qparam::npy;

/// Writes the outputs to `dir` (an existing directory is replaced only when
/// `force`, and only an empty one otherwise).
pub fn save(dir: &Path, values: &OutputValues, samples: usize, force: bool) -> std::io::Result<()> {
    let mut out = AtomicDir::create(dir)?;
    for i in 0..samples {
        let sample = format!("sample{i}");
        out.create_dir(&sample)?;
        for (k, (float, quantized)) in values.iter().enumerate() {
            for (run, values) in [("float", float), ("quantized", quantized)] {
                let Some(t) = values.as_ref().and_then(|v| v.get(i)) else {
                    continue;
                };
                let mut file = out.create_file(&format!("{sample}/{run}_{k}.npy"))?;
                file.write_all(&encode(t))?;
                file.sync_all()?;
            }
        }
    }
    out.commit(force)
}

/// A tensor as an npy file: float32 (integers converted).
fn encode(t: &Tensor) -> Vec<u8> {
    let floats: Vec<f32> = match &t.data {
        Data::F32(v) => v.clone(),
        other => other.to_f64().into_iter().map(|v| v as f32).collect(),
    };
    let bytes: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy::encode("<f4", false, &t.shape, &bytes)
}
