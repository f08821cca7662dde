//! Generates a benchmark model and its qparam set: a chain of FullyConnected
//! layers with random float weights, written with q-implant's own writer,
//! and a matching uint8 set (per-tensor weights with values, int32 biases,
//! activations).
//!
//!     cargo run --release --example bench_model -- OUT_DIR SIZE_MIB [plain|large]
//!
//! Weights go through a scratch file as file ranges, so generating a 3 GiB
//! model needs no 3 GiB of memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use q_implant::model::{self, fb, FileRange, Layout, ModelParts, Payload};
use q_implant::qparam::npy;

/// Width of every layer: 2048 × 2048 float32 weights are 16 MiB.
const WIDTH: usize = 2048;

struct Rng(u64);

impl Rng {
    /// Uniform in [-1, 1), from xorshift64*.
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_model OUT_DIR SIZE_MIB [plain|large]";
    let out = Path::new(args.get(1).ok_or(usage)?);
    let mib: usize = args.get(2).ok_or(usage)?.parse()?;
    let layout = match args.get(3).map(String::as_str) {
        None | Some("plain") => Layout::Plain,
        Some("large") => Layout::Large,
        Some(other) => return Err(format!("unknown layout {other}; {usage}").into()),
    };
    std::fs::create_dir_all(out.join("qparam"))?;
    let weight_bytes = WIDTH * WIDTH * 4;
    let layers = ((mib << 20) / weight_bytes).max(1);

    // Scratch file with every layer's float weights, then biases.
    let scratch_path = out.join("weights.scratch");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut scratch = BufWriter::with_capacity(1 << 20, File::create(&scratch_path)?);
    let mut set = QParamSet {
        dir: out.join("qparam"),
        files: 0,
        entries: serde_json::Map::new(),
    };
    let act_scale = 0.02f32;
    let w_scale = 2.0f32 / 255.0;
    for layer in 0..layers {
        let mut quantized = Vec::with_capacity(WIDTH * WIDTH);
        let mut chunk = Vec::with_capacity(WIDTH * 4);
        for _ in 0..WIDTH {
            chunk.clear();
            for _ in 0..WIDTH {
                let w = rng.next();
                chunk.extend_from_slice(&w.to_le_bytes());
                quantized.push(((w / w_scale).round() + 128.0).clamp(0.0, 255.0) as u8);
            }
            scratch.write_all(&chunk)?;
        }
        let value = set.npy(&quantized, "|u1", &[WIDTH, WIDTH])?;
        set.entry(
            &format!("layer{layer}.weight"),
            "uint8",
            w_scale,
            128,
            Some(value),
        )?;
        let value = set.npy(&vec![0u8; WIDTH * 4], "<i4", &[WIDTH])?;
        set.entry(
            &format!("layer{layer}.bias"),
            "int32",
            act_scale * w_scale,
            0,
            Some(value),
        )?;
        set.entry(&format!("act{layer}"), "uint8", act_scale, 128, None)?;
    }
    set.entry("input", "uint8", act_scale, 128, None)?;
    let biases_at = (layers * weight_bytes) as u64;
    scratch.write_all(&vec![0u8; layers * WIDTH * 4])?;
    scratch.flush()?;
    drop(scratch);
    std::fs::write(
        set.dir.join("qparam.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(set.entries))?,
    )?;

    // The model: input, then per layer a weight, a bias and an output.
    let scratch = File::open(&scratch_path)?;
    let scratch_len = scratch.metadata()?.len();
    let mut tensors = vec![tensor("input", &[1, WIDTH as i32], 0)];
    let mut payloads: Vec<Option<Payload>> = vec![None];
    let mut ops = Vec::new();
    for layer in 0..layers {
        let base = tensors.len() as i32;
        payloads.push(Some(Payload::File(FileRange {
            file: &scratch,
            offset: (layer * weight_bytes) as u64,
            len: weight_bytes as u64,
            file_len: scratch_len,
        })));
        tensors.push(tensor(
            &format!("layer{layer}.weight"),
            &[WIDTH as i32, WIDTH as i32],
            payloads.len() as u32 - 1,
        ));
        let bias_at = biases_at + (layer * WIDTH * 4) as u64;
        payloads.push(Some(Payload::File(FileRange {
            file: &scratch,
            offset: bias_at,
            len: (WIDTH * 4) as u64,
            file_len: scratch_len,
        })));
        tensors.push(tensor(
            &format!("layer{layer}.bias"),
            &[WIDTH as i32],
            payloads.len() as u32 - 1,
        ));
        tensors.push(tensor(&format!("act{layer}"), &[1, WIDTH as i32], 0));
        let input = if layer == 0 { 0 } else { base - 1 };
        let mut op = fb::OperatorT::default();
        op.inputs = Some(vec![input, base, base + 1]);
        op.outputs = Some(vec![base + 2]);
        ops.push(op);
    }
    let mut code = fb::OperatorCodeT::default();
    code.builtin_code = fb::BuiltinOperator::FULLY_CONNECTED;
    code.deprecated_builtin_code = 9;
    code.version = 1;
    let mut sg = fb::SubGraphT::default();
    sg.inputs = Some(vec![0]);
    sg.outputs = Some(vec![tensors.len() as i32 - 1]);
    sg.tensors = Some(tensors);
    sg.operators = Some(ops);
    let mut m = fb::ModelT::default();
    m.version = 3;
    m.operator_codes = Some(vec![code]);
    m.subgraphs = Some(vec![sg]);
    m.buffers = Some(vec![fb::BufferT::default(); payloads.len()]);
    let path = out.join("model.circle");
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let written = model::save(&ModelParts { model: m, payloads }, layout, &path, false)?;
    std::fs::remove_file(&scratch_path)?;
    println!(
        "{}: {layers} layers, {} bytes, {} layout",
        path.display(),
        written.bytes,
        if written.large { "large" } else { "plain" }
    );
    Ok(())
}

/// The qparam set being written: numbered npy files and the entries.
struct QParamSet {
    dir: std::path::PathBuf,
    files: usize,
    entries: serde_json::Map<String, serde_json::Value>,
}

impl QParamSet {
    fn npy(&mut self, data: &[u8], descr: &str, shape: &[usize]) -> std::io::Result<String> {
        let name = format!("{}.npy", self.files);
        self.files += 1;
        std::fs::write(self.dir.join(&name), npy::encode(descr, false, shape, data))?;
        Ok(name)
    }

    fn entry(
        &mut self,
        key: &str,
        dtype: &str,
        scale: f32,
        zp: i64,
        value: Option<String>,
    ) -> std::io::Result<()> {
        let scale = self.npy(&scale.to_le_bytes(), "<f4", &[1])?;
        let zerop = self.npy(&zp.to_le_bytes(), "<i8", &[1])?;
        let mut e = serde_json::json!({"dtype": dtype, "scale": scale, "zerop": zerop, "quantized_dimension": 0});
        if let Some(v) = value {
            e["value"] = v.into();
        }
        self.entries.insert(key.to_string(), e);
        Ok(())
    }
}

fn tensor(name: &str, shape: &[i32], buffer: u32) -> fb::TensorT {
    let mut t = fb::TensorT::default();
    t.name = Some(name.into());
    t.shape = Some(shape.to_vec());
    t.buffer = buffer;
    t
}
