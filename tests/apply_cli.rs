//! `apply`: every refusal leaves no output file and the inputs as they were;
//! the flags beyond the existing tool do what they say.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, q_implant, snapshot, QSet};
use predicates::prelude::*;
use q_implant::model::CircleFile;

struct Scene {
    dir: tempfile::TempDir,
    model: PathBuf,
    qparam: QSet,
}

/// The mlp fixture and its correct set, copied where the test may write.
fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mlp.circle");
    std::fs::copy(fixture("mlp.circle"), &model).unwrap();
    Scene {
        dir,
        model,
        qparam: QSet::copy_of("mlp"),
    }
}

impl Scene {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out.circle")
    }

    fn inputs(&self) -> (Vec<u8>, Vec<(PathBuf, Vec<u8>)>) {
        (
            std::fs::read(&self.model).unwrap(),
            snapshot(self.qparam.dir.path()),
        )
    }

    fn apply(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec![
            "apply".to_string(),
            s(&self.model),
            s(&self.qparam.path()),
            "-o".into(),
            s(&self.out()),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        q_implant().args(args).assert()
    }

    /// Only the model, the output (if `expect_output`) and nothing else.
    fn assert_dir(&self, expect_output: bool) {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        let mut expected = vec!["mlp.circle".to_string()];
        if expect_output {
            expected.push("out.circle".into());
        }
        expected.sort();
        assert_eq!(names, expected, "no temporary or partial file may remain");
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_clean_set_is_written_and_reads_back() {
    let sc = scene();
    sc.qparam.save();
    let before = sc.inputs();
    sc.apply(&[])
        .success()
        .stderr(predicate::str::contains("retyped 7 tensors"));
    sc.assert_dir(true);
    assert_eq!(sc.inputs(), before);
    let out = CircleFile::open(sc.out()).unwrap();
    assert!(q_implant::graph::Graph::new(&out)
        .tensors()
        .all(|t| t.quantization.is_some()));
}

#[test]
fn check_errors_refuse_the_write() {
    let mut sc = scene();
    let k = sc.qparam.key("fc1_weight");
    sc.qparam.entry(&k).remove("quantized_dimension");
    sc.qparam.save();
    let before = sc.inputs();
    // Findings on stdout, as `check` prints them; the refusal on stderr.
    sc.apply(&[])
        .code(1)
        .stdout(predicate::str::contains("error[Q201]"))
        .stderr(predicate::str::contains("refused"));
    sc.assert_dir(false);
    assert_eq!(sc.inputs(), before);
}

#[test]
fn warnings_refuse_only_when_denied() {
    let mut sc = scene();
    let k = sc.qparam.key("fc1_bias");
    sc.qparam
        .set_npy(&k, "zerop", "<i8", &[1], &common::i64s(&[2]));
    sc.qparam.save();
    sc.apply(&["--deny", "warnings"]).code(1);
    sc.assert_dir(false);
    sc.apply(&[]).success();
    sc.assert_dir(true);
}

#[test]
fn output_equal_to_input_is_refused_even_with_force() {
    let sc = scene();
    sc.qparam.save();
    let before = sc.inputs();
    let dotted = sc.dir.path().join(".").join("mlp.circle");
    for output in [&sc.model, &dotted] {
        for force in [false, true] {
            let mut args = vec![
                "apply".to_string(),
                s(&sc.model),
                s(&sc.qparam.path()),
                "-o".into(),
                s(output),
            ];
            if force {
                args.push("--force".into());
            }
            q_implant()
                .args(args)
                .assert()
                .code(2)
                .stderr(predicate::str::contains("is the input"));
        }
    }
    assert_eq!(sc.inputs(), before);
    sc.assert_dir(false);
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let sc = scene();
    sc.qparam.save();
    std::fs::write(sc.out(), b"precious").unwrap();
    sc.apply(&[])
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(sc.out()).unwrap(), b"precious");
    sc.apply(&["--force"]).success();
    assert!(CircleFile::open(sc.out()).is_ok());
}

#[test]
fn an_unwritable_output_directory_fails_cleanly() {
    let sc = scene();
    sc.qparam.save();
    let before = sc.inputs();
    let blocker = sc.dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    q_implant()
        .args([
            "apply",
            &s(&sc.model),
            &s(&sc.qparam.path()),
            "-o",
            &s(&blocker.join("out.circle")),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot write"));
    assert_eq!(sc.inputs(), before);
    std::fs::remove_file(blocker).unwrap();
    sc.assert_dir(false);
}

/// A full disk, simulated with a file-size limit: the write fails midway
/// (EFBIG), and the temporary file is removed.
#[cfg(unix)]
#[test]
fn a_write_error_midway_leaves_nothing() {
    let sc = scene();
    sc.qparam.save();
    let before = sc.inputs();
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    let script = format!(
        "trap '' XFSZ; ulimit -f 1; exec '{}' apply '{}' '{}' -o '{}'",
        s(&bin),
        s(&sc.model),
        s(&sc.qparam.path()),
        s(&sc.out())
    );
    assert_cmd::Command::new("bash")
        .args(["-c", &script])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot write"));
    assert_eq!(sc.inputs(), before);
    sc.assert_dir(false);
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let sc = scene();
    sc.qparam.save();
    sc.apply(&["--dry-run"])
        .success()
        .stdout(predicate::str::contains("FLOAT32 -> UINT8"))
        .stdout(predicate::str::contains("2048 -> 512"))
        .stdout(predicate::str::contains("7 tensors would change"));
    sc.assert_dir(false);
}

#[test]
fn the_existing_tools_positional_form_works() {
    let sc = scene();
    sc.qparam.save();
    std::fs::write(sc.out(), b"old output").unwrap();
    q_implant()
        .args([s(&sc.model), s(&sc.qparam.path()), s(&sc.out())])
        .assert()
        .success();
    assert!(CircleFile::open(sc.out()).is_ok());
}

#[test]
fn the_positional_form_names_a_model_that_does_not_exist() {
    let sc = scene();
    sc.qparam.save();
    let missing = sc.model.with_file_name("modle.circle");
    let run = q_implant()
        .args([s(&missing), s(&sc.qparam.path()), s(&sc.out())])
        .assert()
        .code(2);
    // Only an existing file starts the legacy form; a missing one is named.
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(
        stderr.contains("there is no file `") && stderr.contains("modle.circle"),
        "{stderr}"
    );
    // A mistyped subcommand still gets the suggestion.
    q_implant()
        .args(["chek", "a", "b", "c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "similar subcommand exists: 'check'",
        ));
}

#[test]
fn propagate_fills_value_preserving_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = QSet::copy_of("convnet");
    // Leave out the Transpose and Pad outputs; --propagate restores them.
    for name in [
        "unknown::permute_default",
        "torch.nn.modules.padding.ZeroPad2d::permute_default_6",
    ] {
        set.json.remove(name).unwrap();
    }
    set.save();
    let out = dir.path().join("q.circle");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "apply".to_string(),
            s(&fixture("convnet.circle")),
            s(&set.path()),
            "-o".into(),
            s(&out),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    q_implant()
        .args(args(&[]))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Q601"));
    q_implant()
        .args(args(&["--propagate"]))
        .assert()
        .success()
        .stderr(predicate::str::contains("propagated: `unknown::permute_default` takes the parameters of `tico::x` through TRANSPOSE #0"))
        .stderr(predicate::str::contains("(2 propagated)"));
    let file = CircleFile::open(&out).unwrap();
    let g = q_implant::graph::Graph::new(&file);
    let t = |n: &str| {
        g.tensors()
            .find(|t| t.name == n)
            .unwrap()
            .quantization
            .clone()
    };
    assert_eq!(t("unknown::permute_default"), t("tico::x"));
}

#[test]
fn allow_float_keeps_named_tensors_float() {
    let mut sc = scene();
    let out_key = sc.qparam.key("linear_1");
    sc.qparam.json.remove(&out_key).unwrap();
    sc.qparam.save();
    sc.apply(&[]).code(1);
    // The last FULLY_CONNECTED reads quantized tensors only, so it cannot
    // write a float output: refused, naming the operator.
    sc.apply(&["--allow-float", &out_key]).code(1).stdout(
        predicate::str::contains("Q602").and(predicate::str::contains("FULLY_CONNECTED #1")),
    );
    sc.assert_dir(false);
    // Kept float as a whole (weight and bias too), it runs in float after a
    // DEQUANTIZE of its quantized input.
    let (w, b) = (sc.qparam.key("fc2_weight"), sc.qparam.key("fc2_bias"));
    sc.qparam.json.remove(&w).unwrap();
    sc.qparam.json.remove(&b).unwrap();
    sc.qparam.save();
    sc.apply(&["--allow-float", &format!("{out_key},{w},{b}")])
        .success()
        .stdout(predicate::str::contains("Q601"))
        .stderr(predicate::str::contains("inserted: DEQUANTIZE"));
    let file = CircleFile::open(sc.out()).unwrap();
    let g = q_implant::graph::Graph::new(&file);
    let dtype = |name: &str| g.tensors().find(|t| t.name == name).unwrap().dtype_name();
    assert_eq!(dtype(&out_key), "FLOAT32");
    assert_eq!(dtype(&w), "FLOAT32");
    let sg = &g.subgraphs[0];
    let fc = sg
        .operators
        .iter()
        .find(|o| o.outputs == [sg.tensors.iter().position(|t| t.name == out_key).unwrap()])
        .unwrap();
    let x = fc.inputs[0].unwrap();
    assert_eq!(
        sg.tensors[x].dtype_name(),
        "FLOAT32",
        "the float operator reads a float twin"
    );
    let dequantize = &sg.operators[sg.tensors[x].producer.unwrap()];
    assert_eq!(dequantize.opcode.to_string(), "DEQUANTIZE");
}

/// Applies the mlp set to multi.circle (two subgraphs sharing every
/// constant buffer, signature defs, metadata); returns the output's path
/// and what the command printed on stderr.
fn apply_to_multi(extra: &[&str]) -> (tempfile::TempDir, PathBuf, QSet, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.circle");
    let set = QSet::copy_of("mlp");
    set.save();
    let run = q_implant()
        .args([
            "apply",
            &s(&fixture("multi.circle")),
            &s(&set.path()),
            "-o",
            &s(&out),
        ])
        .args(extra)
        .assert()
        .success();
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    (dir, out, set, stderr)
}

#[test]
fn shared_buffers_stay_consistent() {
    let (_dir, out, set, _) = apply_to_multi(&[]);
    let file = CircleFile::open(&out).unwrap();
    let g = q_implant::graph::Graph::new(&file);
    let key = set.key("fc1_weight");
    let weights: Vec<_> = g.tensors().filter(|t| t.name == key).collect();
    assert_eq!(weights.len(), 2);
    assert!(weights
        .iter()
        .all(|t| t.dtype_name() == "UINT8" && t.data.unwrap().len == 512));
    let bytes = |t: &q_implant::graph::Tensor<'_>| file.read_payload(t.data.unwrap()).unwrap();
    assert_eq!(bytes(weights[0]), bytes(weights[1]));
    // The metadata buffer is untouched.
    let meta = file.model().metadata().unwrap().get(0);
    assert_eq!(
        file.read_payload(file.payload(meta.buffer() as usize).unwrap())
            .unwrap(),
        b"1.0.0\0"
    );
}

#[test]
fn float_io_keeps_signature_defs_pointing_at_the_outputs() {
    let (_dir, out, _, stderr) = apply_to_multi(&["--float-io"]);
    assert!(stderr.contains("inserted: DEQUANTIZE"), "{stderr}");
    let file = CircleFile::open(&out).unwrap();
    let g = q_implant::graph::Graph::new(&file);
    for (i, sig) in file.model().signature_defs().unwrap().iter().enumerate() {
        let sg = &g.subgraphs[sig.subgraph_index() as usize];
        let output = sig.outputs().unwrap().get(0).tensor_index() as usize;
        assert_eq!(
            output, sg.outputs[0],
            "signature {i} follows the new output"
        );
        assert_eq!(sg.tensors[output].dtype_name(), "FLOAT32");
        assert!(sg.tensors[output].name.ends_with("::dequantized"));
        let input = sig.inputs().unwrap().get(0).tensor_index() as usize;
        assert_eq!(sg.tensors[input].dtype_name(), "FLOAT32");
    }
}

#[test]
fn an_allow_float_name_the_model_lacks_is_refused() {
    let sc = scene();
    sc.qparam.save();
    for command in ["check", "apply"] {
        let mut args = vec![
            command.to_string(),
            s(&sc.model),
            s(&sc.qparam.path()),
            "--allow-float".into(),
            "tico::xx".into(),
        ];
        if command == "apply" {
            args.extend(["-o".into(), s(&sc.out())]);
        }
        q_implant()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "--allow-float `tico::xx` names no tensor",
            ))
            .stderr(predicate::str::contains("did you mean `tico::x`"));
    }
    assert!(!sc.out().exists());
}

/// `--help` lists every operator `--propagate` copies through, as
/// docs/apply.md does.
#[test]
fn the_help_of_propagate_names_every_operator() {
    let run = q_implant().args(["apply", "--help"]).assert().success();
    let help = String::from_utf8_lossy(&run.get_output().stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for op in [
        "Reshape",
        "Transpose",
        "Squeeze",
        "ExpandDims",
        "Split",
        "StridedSlice",
        "Gather",
        "MaxPool2D",
        "PadV2",
        "MirrorPad",
    ] {
        assert!(help.contains(op), "{op} missing: {help}");
    }
}

/// The legacy form takes the options every command takes, anywhere; with
/// the wrong number of paths it says how many it needs.
#[test]
fn the_positional_form_takes_the_global_options() {
    let sc = scene();
    sc.qparam.save();
    q_implant()
        .args([
            "-q",
            &s(&sc.model),
            &s(&sc.qparam.path()),
            &s(&sc.out()),
            "--color",
            "never",
        ])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    assert!(CircleFile::open(sc.out()).is_ok());
    q_implant()
        .args([s(&sc.model), s(&sc.qparam.path())])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("takes exactly three paths"));
}

/// `inspect` of the decoder with its weights packed: each packed tensor
/// says its format, its blocks and the bytes its shape needs, in JSON and
/// in the table; other tensors have no `packed`.
#[test]
fn inspect_shows_packed_weights() {
    let mut set = QSet::copy_of("decoder");
    // One layer per channel, no blocks: INT4.
    let up = "tico::p_blocks_1_up_weight";
    set.entry(up).remove("block_size");
    set.set_npy(up, "scale", "<f4", &[128], &common::f32s(&[0.05; 128]));
    set.set_npy(up, "zerop", "<i8", &[128], &common::i64s(&[0; 128]));
    set.save();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.circle");
    q_implant()
        .arg("apply")
        .arg(fixture("decoder.circle"))
        .arg(set.path())
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let run = q_implant()
        .args(["inspect", "--format", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let tensors = doc["subgraphs"][0]["tensors"].as_array().unwrap();
    let tensor = |name: &str| {
        tensors
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    // [96, 64]: 192 blocks of 32.
    let embed = tensor("tico::p_embed_weight");
    assert_eq!(embed["dtype"], "GGML_Q4_0");
    assert_eq!(
        embed["packed"],
        serde_json::json!({"format": "GGML_Q4_0", "block_size": 32, "blocks": 192,
                           "block_bytes": 18, "expected_bytes": 3456})
    );
    assert_eq!(embed["bytes"], 3456);
    assert!(embed["quantization"].is_null());
    let head = tensor("tico::p_lm_head_weight");
    assert_eq!(head["packed"]["format"], "GGML_Q8_0");
    assert_eq!(head["packed"]["expected_bytes"], 192 * 34);
    assert_eq!(head["bytes"], 192 * 34);
    // [128, 64] two a byte.
    let int4 = tensor(up);
    assert_eq!(
        int4["packed"],
        serde_json::json!({"format": "INT4", "block_size": null, "blocks": null,
                           "block_bytes": null, "expected_bytes": 4096})
    );
    assert_eq!(int4["bytes"], 4096);
    assert_eq!(int4["quantization"]["scale"].as_array().unwrap().len(), 128);
    let bias = tensor("tico::p_blocks_0_up_bias");
    assert!(bias.get("packed").is_none(), "{bias}");
    let table = q_implant().arg("inspect").arg(&out).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("192 blocks of 32, float16 scales in the data"),
        "{table}"
    );
    assert!(
        table.contains("2 values a byte, low nibble first; scale"),
        "{table}"
    );
}
