//! Real sizes: a parameter set of 1,200 entries under a small limit of open
//! files, a one-line `json.dump` file with findings far to the right, and
//! tensor names and consumer lists far longer than any table column
//! (issue 9, items 6 and 8).

mod common;

use std::path::{Path, PathBuf};

use common::{empty_set, i64s, q_implant, stderr_of, stdout_of, ModelBuilder, QSet, Scene};
use q_implant::model::fb;

/// Layers in the generated model; with the input, 3 entries each.
const LAYERS: usize = 400;

/// Width of each layer's output: alternating, so no weight is square.
fn width(layer: usize) -> usize {
    if layer.is_multiple_of(2) {
        4
    } else {
        6
    }
}

const W_SCALE: f32 = 0.01;
const A_SCALE: f32 = 0.05;
const ZERO: i64 = 128;

/// The quantized weight of `layer`, [out, in], and its float data.
fn weight(layer: usize, out: usize, inp: usize) -> (Vec<u8>, Vec<f32>) {
    let q: Vec<u8> = (0..out * inp)
        .map(|i| (100 + (i * 7 + layer) % 60) as u8)
        .collect();
    let f = q
        .iter()
        .map(|&v| W_SCALE * (i64::from(v) - ZERO) as f32)
        .collect();
    (q, f)
}

/// A chain of FULLY_CONNECTED layers, `x` → `l0.y` → ... → `l399.y`, each
/// with its weight and bias; and a correct uint8 set for it: 1,201 entries.
fn chain(dir: &Path) -> (PathBuf, QSet) {
    let mut b = ModelBuilder::default();
    let mut set = empty_set();
    let x = b.tensor("x", &[1, width(LAYERS - 1) as i32], None);
    set.add("x", "uint8", A_SCALE, ZERO, None);
    let mut prev = (x, width(LAYERS - 1));
    for l in 0..LAYERS {
        let (inp, out) = (prev.1, width(l));
        let (wq, wf) = weight(l, out, inp);
        let w = b.tensor(&format!("l{l}.w"), &[out as i32, inp as i32], Some(&wf));
        let bq: Vec<i32> = (0..out as i32).map(|i| i * 3 - 5).collect();
        let b_scale = A_SCALE * W_SCALE;
        let bf: Vec<f32> = bq.iter().map(|&v| v as f32 * b_scale).collect();
        let bias = b.tensor(&format!("l{l}.b"), &[out as i32], Some(&bf));
        let y = b.tensor(&format!("l{l}.y"), &[1, out as i32], None);
        b.op(
            fb::BuiltinOperator::FULLY_CONNECTED,
            &[prev.0, w, bias],
            &[y],
        );
        set.add(
            &format!("l{l}.w"),
            "uint8",
            W_SCALE,
            ZERO,
            Some(("|u1", &[out, inp], &wq)),
        );
        let bytes: Vec<u8> = bq.iter().flat_map(|v| v.to_le_bytes()).collect();
        set.add(
            &format!("l{l}.b"),
            "int32",
            b_scale,
            0,
            Some(("<i4", &[out], &bytes)),
        );
        set.add(&format!("l{l}.y"), "uint8", A_SCALE, ZERO, None);
        prev = (y, out);
    }
    let model = b.save(&dir.join("chain.circle"), &[x], &[prev.0]);
    (model, set)
}

/// Runs the command line `args` (already quoted) under `ulimit -n 64`.
#[cfg(unix)]
fn with_few_files(args: &str) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let script = format!("ulimit -n 64 && exec '{}' {args}", bin.display());
    std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_correct_set_of_1200_entries_checks_clean_with_64_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let (model, set) = chain(dir.path());
    let qparam = set.save();
    assert_eq!(set.json.len(), 1 + 3 * LAYERS);
    let output = with_few_files(&format!(
        "check '{}' '{}' --format json",
        model.display(),
        qparam.display()
    ));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc:#}");
    assert_eq!(output.status.code(), Some(0));
    // And it is written under the same limit.
    let out = dir.path().join("chain.q.circle");
    let output = with_few_files(&format!(
        "apply '{}' '{}' -o '{}'",
        model.display(),
        qparam.display(),
        out.display()
    ));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = q_implant::model::CircleFile::open(&out).unwrap();
    let g = q_implant::graph::Graph::new(&file);
    assert_eq!(
        g.tensors().filter(|t| t.quantization.is_some()).count(),
        1 + 3 * LAYERS
    );
}

/// `json.dump` writes one line: findings at columns past 65,535 are shown
/// with their place, not a panic.
#[test]
fn findings_far_along_one_line_are_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let (model, mut set) = chain(dir.path());
    let last = format!("l{}.y", LAYERS - 1);
    set.entry(&last).remove("quantized_dimension");
    let text = serde_json::to_string(&set.json).unwrap();
    let qparam = set.save_raw(text.as_bytes());
    let column = text.find(&format!("\"{last}\"")).unwrap() + 1;
    assert!(column > 65_535, "the finding must lie past column 65,535");
    let run = q_implant()
        .arg("check")
        .arg(&model)
        .arg(&qparam)
        .args(["--format", "full"])
        .assert()
        .code(1);
    let (stdout, stderr) = (stdout_of(&run), stderr_of(&run));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("Q201"), "{stdout}");
    assert!(
        stdout.contains(&format!("qparam.json:1:{column}]")),
        "the place is given: {stdout}"
    );
    assert!(stdout.contains(&last), "the key is shown: {stdout}");
    assert!(
        stdout.lines().all(|l| l.chars().count() < 400),
        "the long line is shown as a window"
    );
}

/// A model whose input has a 64 KiB name and feeds 3,000 ADD operators,
/// each adding the float constant `c` (only the first of them leads to the
/// graph output).
fn wide_model(path: &Path, name: &str) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor(name, &[1, 4], None);
    let c = b.tensor("c", &[4], Some(&[0.5; 4]));
    let mut first = None;
    for i in 0..3000 {
        let y = b.tensor(&format!("y{i}"), &[1, 4], None);
        b.op(fb::BuiltinOperator::ADD, &[x, c], &[y]);
        first.get_or_insert(y);
    }
    b.save(path, &[x], &[first.unwrap()])
}

#[test]
fn long_names_and_many_consumers_are_shown_not_a_panic() {
    let name = "n".repeat(64 * 1024);
    let mut set = empty_set();
    set.add(&name, "uint8", A_SCALE, 0, None);
    set.add("y0", "uint8", A_SCALE, 0, None);
    let sc = Scene::built(|p| wide_model(p, &name), set);
    for format in ["table", "json"] {
        let run = q_implant()
            .arg("inspect")
            .arg(&sc.model)
            .args(["--format", format])
            .assert()
            .success();
        let stdout = stdout_of(&run);
        if format == "json" {
            assert!(stdout.contains(&name), "JSON keeps names whole");
        } else {
            assert!(stdout.contains('…'), "the table shortens them");
        }
    }
    // `c` stays float, so the ADDs run in float between conversions.
    let run = sc.apply(&["--dry-run", "--allow-float", "c"]).success();
    let stdout = stdout_of(&run);
    assert!(stdout.contains("2 tensors would change"), "{stdout}");
    assert!(stdout.contains("inserted: DEQUANTIZE"), "{stdout}");
    assert!(stdout.lines().all(|l| l.chars().count() < 400), "{stdout}");
    sc.assert_nothing_written();
    // A finding on the long key renders too.
    let mut sc = sc;
    sc.set.set_npy(&name, "zerop", "<i8", &[1], &i64s(&[300]));
    let run = sc.check(&["--allow-float", "c"]).code(1);
    assert!(stdout_of(&run).contains("Q405"));
}

/// `layers` FullyConnected layers of one shape, in a chain, named so that
/// the names say nothing; and a set with only their weights, keyed by
/// PyTorch names, so that every key is compared with every layer.
#[cfg(unix)]
fn same_shape_layers(dir: &Path, layers: usize) -> (PathBuf, QSet) {
    let mut m = ModelBuilder::default();
    let mut set = empty_set();
    let x = m.tensor("t_in", &[1, 4], None);
    let mut prev = x;
    for l in 0..layers {
        // Distinct data: a pseudo-random sequence seeded by the layer.
        let mut state = (l as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let q: Vec<u8> = (0..16)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (100 + state % 60) as u8
            })
            .collect();
        let f: Vec<f32> = q
            .iter()
            .map(|&v| W_SCALE * (i64::from(v) - ZERO) as f32)
            .collect();
        let w = m.tensor(&format!("t{l}_w"), &[4, 4], Some(&f));
        let y = m.tensor(&format!("t{l}_y"), &[1, 4], None);
        m.op(fb::BuiltinOperator::FULLY_CONNECTED, &[prev, w, -1], &[y]);
        set.add(
            &format!("layers.{l}.weight"),
            "uint8",
            W_SCALE,
            ZERO,
            Some(("|u1", &[4, 4], &q)),
        );
        prev = y;
    }
    let model = m.save(&dir.join("m.circle"), &[x], &[prev]);
    set.save();
    (model, set)
}

/// Keys × same-shape candidates cost time, not memory: 1,500 weight keys,
/// each compared with 1,500 constants of its shape, are matched with
/// 96 MiB of address space.
#[cfg(unix)]
#[test]
fn keys_times_same_shape_candidates_cost_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (model, set) = same_shape_layers(dir.path(), 1500);
    let script = format!(
        "ulimit -v 98304; exec '{}' check '{}' '{}' --format json",
        assert_cmd::cargo::cargo_bin("q-implant").display(),
        model.display(),
        set.path().display()
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let renamed = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q501")
        .filter(|d| d["help"].as_str().unwrap().starts_with("rename the key"))
        .count();
    assert_eq!(renamed, 1500);
}
