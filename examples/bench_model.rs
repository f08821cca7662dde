//! Generates a benchmark model and its qparam set: a chain of FullyConnected
//! layers with random float weights and biases, written with q-implant's
//! own writer, and a matching uint8 set (per-tensor weights with values,
//! int32 biases, activations).
//!
//!     cargo run --release --example bench_model -- OUT_DIR SIZE_MIB [plain|large]
//!         [--width N] [--layers N] [--names circle|tico|opaque] [--keys circle|pytorch]
//!         [--weights uint8|int4|int4-blocks] [--equal]
//!
//! `--names` chooses the model's tensor names: `circle` (the default; the
//! set's keys are exactly these), `tico` (the names tico gives a PyTorch
//! `nn.Sequential` of `nn.Linear`), or `opaque` (names that say nothing).
//! `--keys pytorch` keys the set by PyTorch module names (`layers.3.weight`,
//! `layers.3.bias`, `layers.3`, `quant`), so `check` has to map every key.
//! `--weights int4` makes the set weight-only: every weight int4 per
//! channel (written as INT4), `int4-blocks` in blocks of 32 along each row
//! (written as GGML_Q4_0), nothing for biases and activations, which stay
//! float (the on-device LLM case). `--equal` gives every layer the same
//! weights and biases (as layers initialized alike, or norms of ones), so
//! that data alone cannot tell one layer's constants from another's.
//! The weights go through a scratch file as file ranges, so generating a
//! 3 GiB model needs no 3 GiB of memory.

use std::fs::File;
use std::io::{BufWriter, Write};

use q_implant::model::{self, fb, FileRange, Layout, ModelParts, Payload};
use q_implant::qparam::npy;
use q_implant::samples::Rng;

/// Uniform in [-1, 1), from the library's seeded generator.
fn uniform(rng: &mut Rng) -> f32 {
    (rng.unit() * 2.0 - 1.0) as f32
}

/// How the set quantizes the weights.
#[derive(Clone, Copy, PartialEq)]
enum Weights {
    /// uint8 per tensor, with int32 biases and uint8 activations.
    Uint8,
    /// Weight-only int4, per channel.
    Int4,
    /// Weight-only int4 in blocks of [`BLOCK`] along each row.
    Int4Blocks,
}

/// Values per block of `--weights int4-blocks` (GGML_Q4_0's).
const BLOCK: usize = 32;

/// The int4 weights' scale: the generated weights lie in [-1, 1).
const INT4_SCALE: f32 = 1.0 / 7.5;

#[derive(Clone, Copy, PartialEq)]
enum Names {
    Circle,
    Tico,
    Opaque,
}

struct Options {
    out: std::path::PathBuf,
    mib: usize,
    layout: Layout,
    width: usize,
    names: Names,
    pytorch_keys: bool,
    /// Layers, instead of as many as SIZE_MIB holds.
    layers: Option<usize>,
    weights: Weights,
    /// Every layer with the same weights and bias.
    equal: bool,
}

const USAGE: &str = "usage: bench_model OUT_DIR SIZE_MIB [plain|large] [--width N] [--layers N] [--names circle|tico|opaque] [--keys circle|pytorch] [--weights uint8|int4|int4-blocks] [--equal]";

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or(USAGE)?.into();
    let mib = args.next().ok_or(USAGE)?.parse()?;
    let mut o = Options {
        out,
        mib,
        layout: Layout::Plain,
        width: 2048,
        names: Names::Circle,
        pytorch_keys: false,
        layers: None,
        weights: Weights::Uint8,
        equal: false,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "plain" => o.layout = Layout::Plain,
            "large" => o.layout = Layout::Large,
            "--width" => o.width = args.next().ok_or(USAGE)?.parse()?,
            "--layers" => o.layers = Some(args.next().ok_or(USAGE)?.parse()?),
            "--names" => {
                o.names = match args.next().as_deref() {
                    Some("circle") => Names::Circle,
                    Some("tico") => Names::Tico,
                    Some("opaque") => Names::Opaque,
                    _ => return Err(USAGE.into()),
                }
            }
            "--keys" => {
                o.pytorch_keys = match args.next().as_deref() {
                    Some("circle") => false,
                    Some("pytorch") => true,
                    _ => return Err(USAGE.into()),
                }
            }
            "--weights" => {
                o.weights = match args.next().as_deref() {
                    Some("uint8") => Weights::Uint8,
                    Some("int4") => Weights::Int4,
                    Some("int4-blocks") => Weights::Int4Blocks,
                    _ => return Err(USAGE.into()),
                }
            }
            "--equal" => o.equal = true,
            other => return Err(format!("unknown argument {other}; {USAGE}").into()),
        }
    }
    Ok(o)
}

/// The model's name for a tensor: `what` is `weight`, `bias`, `output` or
/// `input`; `n` counts tensors for opaque names.
fn model_name(names: Names, layer: usize, what: &str, n: usize) -> String {
    match (names, what) {
        (Names::Circle, "input") => "input".into(),
        (Names::Circle, "output") => format!("act{layer}"),
        (Names::Circle, _) => format!("layer{layer}.{what}"),
        (Names::Tico, "input") => "tico::x".into(),
        (Names::Tico, "output") => format!(
            "torch.nn.modules.linear.Linear::linear{}",
            if layer == 0 {
                String::new()
            } else {
                format!("_{layer}")
            }
        ),
        (Names::Tico, _) => format!("tico::p_layers_{layer}_{what}"),
        (Names::Opaque, _) => format!("t{n}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let width = o.width;
    std::fs::create_dir_all(o.out.join("qparam"))?;
    let weight_bytes = width * width * 4;
    let layers = o
        .layers
        .unwrap_or(((o.mib << 20) / (weight_bytes + width * 4)).max(1));

    // Scratch file with every layer's float weights and bias.
    let scratch_path = o.out.join("weights.scratch");
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rng = Rng::new(SEED);
    let mut scratch = BufWriter::with_capacity(1 << 20, File::create(&scratch_path)?);
    let mut set = QParamSet {
        dir: o.out.join("qparam"),
        files: 0,
        entries: serde_json::Map::new(),
    };
    let act_scale = 0.02f32;
    let w_scale = 2.0f32 / 255.0;
    let b_scale = act_scale * w_scale;
    let mut count = 0usize;
    let mut name = |layer: usize, what: &str| {
        count += 1;
        model_name(o.names, layer, what, count)
    };
    let input_name = name(0, "input");
    let key = |layer: usize, what: &str, model: &str| -> String {
        match (o.pytorch_keys, what) {
            (false, _) => model.to_string(),
            (true, "input") => "quant".into(),
            (true, "output") => format!("layers.{layer}"),
            (true, _) => format!("layers.{layer}.{what}"),
        }
    };
    let uint8 = o.weights == Weights::Uint8;
    if o.weights == Weights::Int4Blocks && width % BLOCK != 0 {
        return Err(
            format!("--weights int4-blocks needs a width that is a multiple of {BLOCK}").into(),
        );
    }
    if uint8 {
        set.entry(&key(0, "input", &input_name), "uint8", act_scale, 128, None)?;
    }
    let mut names = Vec::new();
    for layer in 0..layers {
        if o.equal {
            rng = Rng::new(SEED);
        }
        let (w, b, y) = (
            name(layer, "weight"),
            name(layer, "bias"),
            name(layer, "output"),
        );
        let mut quantized = Vec::with_capacity(width * width);
        let mut chunk = Vec::with_capacity(width * 4);
        for _ in 0..width {
            chunk.clear();
            for _ in 0..width {
                let v = uniform(&mut rng);
                chunk.extend_from_slice(&v.to_le_bytes());
                quantized.push(if uint8 {
                    ((v / w_scale).round() + 128.0).clamp(0.0, 255.0) as u8
                } else {
                    (v / INT4_SCALE).round().clamp(-8.0, 7.0) as i8 as u8
                });
            }
            scratch.write_all(&chunk)?;
        }
        let weight_key = key(layer, "weight", &w);
        if !uint8 {
            let value = set.npy(&quantized, "|i1", &[width, width])?;
            let scales = if o.weights == Weights::Int4 {
                vec![width]
            } else {
                vec![width, width / BLOCK]
            };
            set.int4_entry(&weight_key, &scales, value)?;
            for _ in 0..width {
                scratch.write_all(&(uniform(&mut rng) * 0.1).to_le_bytes())?;
            }
            names.push((w, b, y));
            continue;
        }
        let value = set.npy(&quantized, "|u1", &[width, width])?;
        set.entry(&weight_key, "uint8", w_scale, 128, Some(value))?;
        let mut bias_q = Vec::with_capacity(width * 4);
        for _ in 0..width {
            let v = uniform(&mut rng) * 0.1;
            scratch.write_all(&v.to_le_bytes())?;
            bias_q.extend_from_slice(&((v / b_scale).round() as i32).to_le_bytes());
        }
        let value = set.npy(&bias_q, "<i4", &[width])?;
        set.entry(&key(layer, "bias", &b), "int32", b_scale, 0, Some(value))?;
        set.entry(&key(layer, "output", &y), "uint8", act_scale, 128, None)?;
        names.push((w, b, y));
    }
    scratch.flush()?;
    drop(scratch);
    std::fs::write(
        set.dir.join("qparam.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(set.entries))?,
    )?;

    // The model: input, then per layer a weight, a bias and an output.
    let scratch = File::open(&scratch_path)?;
    let scratch_len = scratch.metadata()?.len();
    let mut tensors = vec![tensor(&input_name, &[1, width as i32], 0)];
    let mut payloads: Vec<Option<Payload>> = vec![None];
    let mut ops = Vec::new();
    let layer_bytes = (weight_bytes + width * 4) as u64;
    for (layer, (w, b, y)) in names.iter().enumerate() {
        let base = tensors.len() as i32;
        let at = layer as u64 * layer_bytes;
        let mut range = |offset: u64, len: u64| {
            payloads.push(Some(Payload::File(FileRange {
                file: &scratch,
                offset,
                len,
                file_len: scratch_len,
            })));
            payloads.len() as u32 - 1
        };
        let wb = range(at, weight_bytes as u64);
        tensors.push(tensor(w, &[width as i32, width as i32], wb));
        let bb = range(at + weight_bytes as u64, (width * 4) as u64);
        tensors.push(tensor(b, &[width as i32], bb));
        tensors.push(tensor(y, &[1, width as i32], 0));
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
    let path = o.out.join("model.circle");
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let written = model::save(&ModelParts { model: m, payloads }, o.layout, &path, false)?;
    std::fs::remove_file(&scratch_path)?;
    println!(
        "{}: {layers} layers of {width}x{width}, {} bytes, {} layout",
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

    /// A symmetric int4 weight entry with scales of shape `scales` (one
    /// a channel, or `[rows, columns / block]` with `block_size`).
    fn int4_entry(&mut self, key: &str, scales: &[usize], value: String) -> std::io::Result<()> {
        let n: usize = scales.iter().product();
        let s: Vec<u8> = std::iter::repeat_n(INT4_SCALE.to_le_bytes(), n)
            .flatten()
            .collect();
        let scale = self.npy(&s, "<f4", scales)?;
        let zerop = self.npy(&vec![0u8; n * 8], "<i8", scales)?;
        let mut e = serde_json::json!({"dtype": "int4", "scale": scale, "zerop": zerop, "quantized_dimension": 0, "value": value});
        if scales.len() == 2 {
            e["block_size"] = BLOCK.into();
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
