//! What the inputs may hold: entries the implant cannot use are findings
//! that refuse the write; every tensor an entry names is checked, not only
//! the first; `--propagate` copies only what it may; and npy files are
//! untrusted (issue 9, items 3, 4, 5 and 7).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{check_json, empty_set, f32s, i64s, stderr_of, stdout_of, ModelBuilder, QSet, Scene};
use q_implant::graph::Graph;
use q_implant::model::{fb, CircleFile};
use serde_json::json;

/// `apply` refuses with `code`, names it, and writes nothing.
fn refuses_with(sc: &Scene, extra: &[&str], code: &str) -> String {
    sc.set.save();
    let before = sc.inputs();
    let run = sc.apply(extra);
    let (stdout, stderr) = (stdout_of(&run), stderr_of(&run));
    run.code(1);
    assert!(stdout.contains(code), "{code} not reported: {stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    sc.assert_nothing_written();
    assert!(sc.inputs() == before, "the inputs changed");
    stdout
}

// Item 3: holes in the rules.

#[test]
fn a_constant_without_value_is_refused() {
    let mut sc = Scene::mlp();
    let k = sc.set.key("fc1_weight");
    sc.set.entry(&k).remove("value");
    refuses_with(&sc, &[], "Q410");
}

#[test]
fn empty_scale_and_zero_point_arrays_are_refused() {
    let mut sc = Scene::mlp();
    sc.set.set_npy("tico::x", "scale", "<f4", &[0], &[]);
    refuses_with(&sc, &[], "Q411");
    let mut sc = Scene::mlp();
    sc.set.set_npy("tico::x", "zerop", "<i8", &[0], &[]);
    refuses_with(&sc, &[], "Q411");
}

#[test]
fn an_npy_with_trailing_bytes_is_refused() {
    let mut sc = Scene::mlp();
    let mut bytes = q_implant::qparam::npy::encode("<f4", false, &[1], &f32s(&[0.02]));
    bytes.extend_from_slice(&f32s(&[0.03]));
    std::fs::write(sc.set.dir.path().join("long.npy"), bytes).unwrap();
    sc.set
        .entry("tico::x")
        .insert("scale".into(), json!("long.npy"));
    let stderr = refuses_with(&sc, &[], "Q310");
    assert!(stderr.contains("long.npy"), "the file is named: {stderr}");
}

/// Headers our reader once accepted and then read past or dropped.
#[test]
fn a_malformed_npy_header_is_refused() {
    for header in [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing",
        "{'descr': '<f4', 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }",
    ] {
        let mut sc = Scene::mlp();
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&f32s(&[0.02]));
        std::fs::write(sc.set.dir.path().join("bad.npy"), bytes).unwrap();
        sc.set
            .entry("tico::x")
            .insert("scale".into(), json!("bad.npy"));
        refuses_with(&sc, &[], "Q302");
    }
}

// Item 4: tensors that share a name.

/// Two subgraphs with a FULLY_CONNECTED each, their tensors named alike:
/// `x`, `w`, `b`, `y`. The first takes 32 inputs to 16 outputs, the second
/// 16 to 8; in the second, `y` is INT32 when `int_output`.
fn two_subgraphs(path: &Path, int_output: bool) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 32], None);
    let w = b.tensor("w", &[16, 32], Some(&[0.01; 512]));
    let bias = b.tensor("b", &[16], Some(&[0.0; 16]));
    let y = b.tensor("y", &[1, 16], None);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, bias], &[y]);
    b.next_subgraph(&[x], &[y]);
    let x = b.tensor("x", &[1, 16], None);
    let w = b.tensor("w", &[8, 16], Some(&[0.01; 128]));
    let bias = b.tensor("b", &[8], Some(&[0.0; 8]));
    let y = if int_output {
        b.typed("y", &[1, 8], fb::TensorType::INT32, None)
    } else {
        b.tensor("y", &[1, 8], None)
    };
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, bias], &[y]);
    b.save(path, &[x], &[y])
}

/// A correct set for the first subgraph of [`two_subgraphs`].
fn first_subgraph_set() -> QSet {
    let mut s = empty_set();
    s.add("x", "uint8", 0.02, 128, None);
    s.add(
        "w",
        "uint8",
        0.01,
        128,
        Some(("|u1", &[16, 32], &[128; 512])),
    );
    s.add("b", "int32", 0.0002, 0, Some(("<i4", &[16], &[0; 64])));
    s.add("y", "uint8", 0.05, 128, None);
    s
}

#[test]
fn every_tensor_of_a_shared_name_is_checked_not_only_the_first() {
    let sc = Scene::built(|p| two_subgraphs(p, false), first_subgraph_set());
    // The [8, 16] weight of the second subgraph would get 512 bytes.
    let stderr = refuses_with(&sc, &[], "Q406");
    assert!(stderr.contains("[8, 16]"), "{stderr}");
    let (doc, _) = check_json(&sc.model, &sc.set.path());
    let shapes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "Q406")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(shapes.len(), 2, "the weight and the bias: {shapes:?}");
}

#[test]
fn an_integer_tensor_sharing_a_name_is_never_retyped() {
    let mut set = first_subgraph_set();
    // Values for the second subgraph's shapes do not fit the first: give
    // the weight and bias keys up; only `y` is shared by name here.
    set.json.remove("w");
    set.json.remove("b");
    let sc = Scene::built(|p| two_subgraphs(p, true), set);
    let stderr = refuses_with(&sc, &["--allow-float", "w,b"], "Q502");
    assert!(stderr.contains("INT32"), "{stderr}");
}

#[test]
fn a_name_twice_in_one_subgraph_is_refused() {
    let mut set = empty_set();
    set.add("x", "uint8", 0.05, 0, None);
    let sc = Scene::built(
        |p| {
            let mut b = ModelBuilder::default();
            let x = b.tensor("x", &[1, 4], None);
            let y = b.tensor("x", &[1, 4], None);
            b.op(fb::BuiltinOperator::RELU, &[x], &[y]);
            b.save(p, &[x], &[y])
        },
        set,
    );
    refuses_with(&sc, &[], "Q503");
}

// Item 5: --propagate.

/// GATHER over a constant table `table` [10, 4] with INT32 indices `idx`
/// [3], giving `rows` [3, 4].
fn gather_model(path: &Path) -> PathBuf {
    let mut b = ModelBuilder::default();
    let table = b.tensor("table", &[10, 4], Some(&[0.5; 40]));
    let idx = b.typed("idx", &[3], fb::TensorType::INT32, None);
    let rows = b.tensor("rows", &[3, 4], None);
    b.op(fb::BuiltinOperator::GATHER, &[table, idx], &[rows]);
    b.save(path, &[idx], &[rows])
}

#[test]
fn propagate_never_copies_from_a_constant() {
    let mut set = empty_set();
    set.add(
        "table",
        "uint8",
        0.01,
        0,
        Some(("|u1", &[10, 4], &[50; 40])),
    );
    let mut sc = Scene::built(gather_model, set);
    // The table's parameters describe its stored values: `rows` stays
    // uncovered rather than taking them (and, before, the table's bytes).
    let stderr = refuses_with(&sc, &["--propagate"], "Q601");
    assert!(stderr.contains("`rows`"), "{stderr}");
    assert!(!stderr.contains("propagated"), "{stderr}");
    // With its own entry, `rows` is written as an activation: no data.
    sc.set.add("rows", "uint8", 0.01, 0, None);
    sc.set.save();
    sc.apply(&["--propagate"]).success();
    let file = CircleFile::open(sc.out()).unwrap();
    let g = Graph::new(&file);
    let rows = g.tensors().find(|t| t.name == "rows").unwrap();
    assert_eq!(rows.dtype_name(), "UINT8");
    assert!(rows.data.is_none(), "an activation holds no constant data");
    let table = g.tensors().find(|t| t.name == "table").unwrap();
    assert_eq!(file.read_payload(table.data.unwrap()).unwrap(), [50; 40]);
}

#[test]
fn propagate_copies_only_per_tensor_parameters() {
    let mut set = empty_set();
    set.json.insert(
        "x".into(),
        json!({"dtype": "uint8", "quantized_dimension": 1}),
    );
    set.set_npy("x", "scale", "<f4", &[4], &f32s(&[0.1, 0.2, 0.3, 0.4]));
    set.set_npy("x", "zerop", "<i8", &[4], &i64s(&[0; 4]));
    let sc = Scene::built(
        |p| {
            let mut b = ModelBuilder::default();
            let x = b.tensor("x", &[1, 4], None);
            let shape = b.typed(
                "shape",
                &[2],
                fb::TensorType::INT32,
                Some(vec![4, 0, 0, 0, 1, 0, 0, 0]),
            );
            let y = b.tensor("y", &[4, 1], None);
            b.op(fb::BuiltinOperator::RESHAPE, &[x, shape], &[y]);
            b.save(p, &[x], &[y])
        },
        set,
    );
    // Axis 1 of x means nothing for y after the RESHAPE.
    let stderr = refuses_with(&sc, &["--propagate"], "Q601");
    assert!(stderr.contains("`y`"), "{stderr}");
}

// Item 7: untrusted files.

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Runs `q-implant args` and fails the test if it has not ended within
/// `limit` (it is killed).
fn run_within(args: &[&std::ffi::OsStr], limit: Duration) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("q-implant {args:?} still runs after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn an_npy_path_that_is_a_fifo_does_not_hang() {
    let sc = Scene::mlp();
    let mut set = sc.set;
    let fifo = set.dir.path().join("pipe.npy");
    mkfifo(&fifo);
    set.entry("tico::x")
        .insert("scale".into(), json!("pipe.npy"));
    set.save();
    let out = sc.dir.path().join("out.circle");
    for args in [
        vec![
            "check".as_ref(),
            sc.model.as_os_str(),
            set.path().as_os_str(),
        ],
        vec![
            "apply".as_ref(),
            sc.model.as_os_str(),
            set.path().as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    ] {
        let output = run_within(&args, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stdout.contains("FIFO") || stderr.contains("FIFO"),
            "{stdout}{stderr}"
        );
    }
    assert!(!out.exists());
}

/// An npy file far larger than its header says (a sparse 4 GiB file) is
/// refused from its size alone: with 1 GiB of address space the run would
/// abort if it read the file.
#[cfg(unix)]
#[test]
fn an_npy_far_larger_than_its_header_is_not_read() {
    let sc = Scene::mlp();
    let mut set = sc.set;
    let head = q_implant::qparam::npy::encode("<f4", false, &[1], &f32s(&[0.02]));
    let path = set.dir.path().join("huge.npy");
    let f = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut &f, &head).unwrap();
    f.set_len(4 << 30).unwrap();
    set.entry("tico::x")
        .insert("scale".into(), json!("huge.npy"));
    set.save();
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let script = format!(
        "ulimit -v 1048576; exec '{}' check '{}' '{}' --format json",
        bin.display(),
        sc.model.display(),
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
    assert_eq!(output.status.code(), Some(1));
    assert!(common::codes(&doc).contains(&"Q310".to_string()), "{doc:#}");
    let message = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "Q310")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("huge.npy"), "{message}");
}

/// A malformed model whose operator writes the tensor it reads, after an
/// RSQRT: placing a key without a value among its operators ends, and
/// `check` reports.
#[test]
fn an_operator_writing_its_own_input_does_not_hang() {
    let mut set = empty_set();
    set.add("norm", "uint8", 0.1, 0, None);
    let sc = Scene::built(
        |path| {
            let mut m = ModelBuilder::default();
            let x = m.tensor("x", &[1, 4], None);
            let r = m.tensor("r", &[1, 4], None);
            let c = m.tensor("c", &[1], Some(&[2.0]));
            let y = m.tensor("y", &[1, 4], None);
            m.op(fb::BuiltinOperator::RSQRT, &[x], &[r]);
            m.op(fb::BuiltinOperator::MUL, &[r, c], &[y]);
            m.op(fb::BuiltinOperator::MUL, &[y, c], &[y]);
            m.save(path, &[x], &[y])
        },
        set,
    );
    sc.set.save();
    let output = run_within(
        &[
            "check".as_ref(),
            sc.model.as_os_str(),
            sc.set.path().as_os_str(),
        ],
        Duration::from_secs(20),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Q501"), "{stdout}");
}
