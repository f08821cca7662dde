//! Generates a qparam set that makes `check` report many findings, for the
//! rendering benchmark: `N` entries, each with two problems (a dtype that
//! does not exist and a key that names no tensor), sharing two npy files.
//!
//!     cargo run --release --example bench_findings -- OUT_DIR N [pretty|one-line]
//!
//! `one-line` writes the file as `json.dump` does by default: one line, so
//! findings lie far past column 65,535.

use std::path::Path;

use q_implant::qparam::npy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_findings OUT_DIR N [pretty|one-line]";
    let out = Path::new(args.get(1).ok_or(usage)?);
    let n: usize = args.get(2).ok_or(usage)?.parse()?;
    let one_line = match args.get(3).map(String::as_str) {
        None | Some("pretty") => false,
        Some("one-line") => true,
        Some(other) => return Err(format!("unknown style {other}; {usage}").into()),
    };
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("s.npy"),
        npy::encode("<f4", false, &[1], &0.02f32.to_le_bytes()),
    )?;
    std::fs::write(
        out.join("z.npy"),
        npy::encode("<i8", false, &[1], &0i64.to_le_bytes()),
    )?;
    let mut entries = serde_json::Map::new();
    for i in 0..n {
        entries.insert(
            format!("model.block{}.unit{}.output", i / 100, i % 100),
            serde_json::json!({"dtype": "uint9", "scale": "s.npy", "zerop": "z.npy", "quantized_dimension": 0}),
        );
    }
    let doc = serde_json::Value::Object(entries);
    let text = if one_line {
        serde_json::to_string(&doc)?
    } else {
        serde_json::to_string_pretty(&doc)?
    };
    std::fs::write(out.join("qparam.json"), text)?;
    println!("{}: {n} entries", out.join("qparam.json").display());
    Ok(())
}
