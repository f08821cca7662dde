//! `verify` from the command line: both forms, every input form, the
//! reports, the exit codes, and the errors a user meets.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, q_implant, snapshot, stderr_of, stdout_of, ModelBuilder, QSet};
use q_implant::model::fb::BuiltinOperator as Op;
use q_implant::qparam::npy::encode;
use serde_json::Value;

fn f32_npy(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", false, shape, &bytes)
}

fn json_of(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_str(&stdout_of(a)).unwrap_or_else(|e| panic!("{e}: {}", stdout_of(a)))
}

fn mlp_set() -> QSet {
    QSet::copy_of("mlp")
}

/// The mlp fixture's input: [1, 16].
fn mlp_input(seed: f32) -> Vec<f32> {
    (0..16).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
}

#[test]
fn a_set_is_verified_as_apply_would_write_it() {
    let set = mlp_set();
    let before = snapshot(set.dir.path());
    let run = q_implant()
        .args(["verify"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    let out = stdout_of(&run);
    assert!(out.contains("outputs:"), "{out}");
    assert!(out.contains("SQNR"), "{out}");
    assert!(out.contains("4 samples drawn at random"), "{out}");
    // Nothing is written beside the set.
    assert_eq!(snapshot(set.dir.path()), before);
}

#[test]
fn the_json_report_is_the_documented_contract() {
    let set = mlp_set();
    let run = q_implant()
        .args(["verify", "--format", "json", "--samples", "3"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    let doc = json_of(&run);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["samples"], 3);
    assert_eq!(doc["random_inputs"], true);
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&doc),
        [
            "outputs",
            "pairing",
            "random_inputs",
            "samples",
            "tensors",
            "unsupported",
            "version"
        ]
    );
    let tensors = doc["tensors"].as_array().unwrap();
    assert!(tensors.len() >= 3, "{doc}");
    for t in tensors {
        assert_eq!(
            keys(t),
            [
                "cause",
                "clipped",
                "dtype",
                "evaluated",
                "index",
                "max_error_steps",
                "mpeir",
                "name",
                "sqnr_db",
                "subgraph"
            ]
        );
        assert_eq!(t["evaluated"], true);
        assert_eq!(t["dtype"], "uint8");
        // The input is only rounded: within half a step.
        if t["index"] == tensors[0]["index"] {
            assert!(t["max_error_steps"].as_f64().unwrap() <= 0.5 + 1e-6, "{t}");
        }
    }
    let output = &doc["outputs"][0];
    assert_eq!(
        keys(output),
        [
            "evaluated",
            "mae",
            "max_abs_error",
            "name",
            "psnr_db",
            "sqnr_db",
            "top1",
            "top5"
        ]
    );
    assert_eq!(output["evaluated"], true);
    // [1, 10]: a [batch, classes] output gets top-k agreement.
    assert!(
        output["top1"].is_number() && output["top5"].is_number(),
        "{output}"
    );
    assert!(output["sqnr_db"].as_f64().unwrap() > 10.0, "{output}");
}

#[test]
fn a_quantized_model_is_verified_against_its_float_original() {
    let set = mlp_set();
    let dir = tempfile::tempdir().unwrap();
    let quantized = dir.path().join("q.circle");
    q_implant()
        .args(["apply", "-q"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .arg("-o")
        .arg(&quantized)
        .assert()
        .code(0);
    let planned = q_implant()
        .args(["verify", "--format", "json", "--seed", "9"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    let given = q_implant()
        .args(["verify", "--format", "json", "--seed", "9"])
        .arg(&quantized)
        .arg("--reference")
        .arg(fixture("mlp.circle"))
        .assert()
        .code(0);
    // The same model either way: the same figures.
    assert_eq!(json_of(&planned), json_of(&given));
}

#[test]
fn the_float_model_against_itself_is_exact() {
    let run = q_implant()
        .args(["verify", "--format", "json"])
        .arg(fixture("convnet.circle"))
        .arg("--reference")
        .arg(fixture("convnet.circle"))
        .assert()
        .code(0);
    let doc = json_of(&run);
    for t in doc["tensors"].as_array().unwrap() {
        assert!(t["sqnr_db"].is_null(), "an exact tensor has no SQNR: {t}");
        assert_eq!(t["mpeir"], 0.0, "{t}");
        assert!(
            t["max_error_steps"].is_null(),
            "a float tensor has no steps: {t}"
        );
    }
}

#[test]
fn samples_from_npy_npz_and_directories() {
    let set = mlp_set();
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("a.npy");
    std::fs::write(&npy, f32_npy(&[1, 16], &mlp_input(1.0))).unwrap();
    let samples = dir.path().join("samples");
    std::fs::create_dir(&samples).unwrap();
    for k in 0..3 {
        std::fs::write(
            samples.join(format!("s{k}.npy")),
            f32_npy(&[1, 16], &mlp_input(k as f32)),
        )
        .unwrap();
    }
    let run = |inputs: &[&Path]| {
        let mut cmd = q_implant();
        cmd.args(["verify", "--format", "json"])
            .arg(fixture("mlp.circle"))
            .arg(set.path());
        for i in inputs {
            cmd.arg("--input").arg(i);
        }
        json_of(&cmd.assert().code(0))
    };
    let one = run(&[&npy]);
    assert_eq!(one["samples"], 1);
    assert_eq!(one["random_inputs"], false);
    let doc = run(&[&samples, &npy]);
    assert_eq!(doc["samples"], 4);
    // Several paths after one --input, as `check --input` takes them.
    let several = q_implant()
        .args(["verify", "--format", "json"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .arg("--input")
        .args([&samples, &npy])
        .assert()
        .code(0);
    assert_eq!(json_of(&several), doc);
    let help = stdout_of(&q_implant().args(["verify", "--help"]).assert().code(0));
    assert!(help.contains("Several may follow one --input"), "{help}");
    // An npz: by the input's name, or arr_0 by position.
    let name = input_name(&fixture("mlp.circle"));
    for member in [format!("{name}.npy"), "arr_0.npy".to_string()] {
        let npz = dir.path().join(format!("{}.npz", member.len()));
        write_npz(&npz, &member, &f32_npy(&[1, 16], &mlp_input(1.0)));
        let doc = run(&[&npz]);
        // The same sample as a.npy: the same report.
        assert_eq!(doc, one, "{member}");
    }
}

fn input_name(model: &Path) -> String {
    let run = q_implant()
        .args(["inspect", "--format", "json"])
        .arg(model)
        .assert()
        .code(0);
    let doc = json_of(&run);
    let sg = &doc["subgraphs"][0];
    let i = sg["inputs"][0].as_u64().unwrap() as usize;
    sg["tensors"][i]["name"].as_str().unwrap().to_string()
}

fn write_npz(path: &Path, member: &str, data: &[u8]) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file(member, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap();
}

#[test]
fn a_sample_of_the_wrong_shape_names_the_input_and_both_shapes() {
    let set = mlp_set();
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("bad.npy");
    std::fs::write(&npy, f32_npy(&[16], &mlp_input(0.0))).unwrap();
    let run = q_implant()
        .args(["verify"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .arg("--input")
        .arg(&npy)
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(err.contains("bad.npy"), "{err}");
    assert!(err.contains("[1, 16]") && err.contains("[16]"), "{err}");
    assert!(err.contains(&input_name(&fixture("mlp.circle"))), "{err}");
}

#[test]
fn fail_under_sets_the_exit_code() {
    let set = mlp_set();
    let run = |db: &str| {
        q_implant()
            .args(["verify", "--fail-under", db])
            .arg(fixture("mlp.circle"))
            .arg(set.path())
            .assert()
    };
    run("1").code(0);
    let failed = run("200").code(1);
    assert!(stderr_of(&failed).contains("below --fail-under 200 dB"));
}

#[test]
fn outputs_are_saved_per_sample_and_run() {
    let set = mlp_set();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("outputs");
    q_implant()
        .args(["verify", "--samples", "2", "--save-outputs"])
        .arg(&out)
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    for k in 0..2 {
        for run in ["float", "quantized"] {
            let path = out.join(format!("sample{k}/{run}_0.npy"));
            let bytes = std::fs::read(&path).unwrap();
            let header = q_implant::qparam::npy::parse_header(&bytes).unwrap();
            assert_eq!(header.shape, vec![1, 10], "{}", path.display());
        }
    }
    // An existing directory needs --force.
    let again = q_implant()
        .args(["verify", "--save-outputs"])
        .arg(&out)
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(2);
    assert!(
        stderr_of(&again).contains("--force"),
        "{}",
        stderr_of(&again)
    );
}

#[test]
fn html_is_one_page_with_a_chart_and_a_row_per_tensor() {
    let set = mlp_set();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    q_implant()
        .args(["verify", "--format", "html", "-o"])
        .arg(&page)
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg id=\"chart\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );
    let json = q_implant()
        .args(["verify", "--format", "json"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(0);
    let rows = json_of(&json)["tensors"].as_array().unwrap().len();
    let body = html.split("<table id=\"tensors\">").nth(1).unwrap();
    assert_eq!(body.matches("<tr class=").count(), rows);
    // -o never replaces a file without --force.
    q_implant()
        .args(["verify", "--format", "html", "-o"])
        .arg(&page)
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .assert()
        .code(2);
}

#[test]
fn a_set_apply_refuses_has_no_model_to_verify() {
    let run = q_implant()
        .args(["verify"])
        .arg(fixture("story.circle"))
        .arg(fixture("story.torch-qparam/qparam.json"))
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(err.contains("error[Q501]"), "the findings are shown: {err}");
    assert!(err.contains("no quantized model to verify"), "{err}");
    assert!(stdout_of(&run).is_empty());
}

#[test]
fn a_memory_budget_too_small_is_refused_with_the_figure() {
    let run = q_implant()
        .args(["verify", "--max-memory", "1KiB"])
        .arg(fixture("resnet18.circle"))
        .arg("--reference")
        .arg(fixture("resnet18.circle"))
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(err.contains("1024"), "{err}");
    q_implant()
        .args(["verify", "--max-memory", "lots"])
        .arg(fixture("mlp.circle"))
        .arg("--reference")
        .arg(fixture("mlp.circle"))
        .assert()
        .code(2);
}

#[test]
fn an_operator_without_a_kernel_is_named_and_the_rest_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 2, 2, 4], None);
    let c = b.tensor("c", &[4], Some(&[1.0, 2.0, 3.0, 4.0]));
    let a = b.tensor("a", &[1, 2, 2, 4], None);
    let y = b.tensor("y", &[1, 2, 2, 4], None);
    b.op(Op::ADD, &[x, c], &[a]);
    b.op(Op::LOCAL_RESPONSE_NORMALIZATION, &[a], &[y]);
    let model: PathBuf = b.save(&dir.path().join("m.circle"), &[x], &[y, a]);
    let run = q_implant()
        .args(["verify", "--format", "json"])
        .arg(&model)
        .arg("--reference")
        .arg(&model)
        .assert()
        .code(0);
    let doc = json_of(&run);
    let unsupported = &doc["unsupported"][0];
    assert_eq!(unsupported["operator"], "LOCAL_RESPONSE_NORMALIZATION");
    assert_eq!(unsupported["index"], 1);
    let by_name = |n: &str| {
        doc["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("a")["evaluated"], true);
    assert_eq!(by_name("y")["evaluated"], false);
    let human = q_implant()
        .args(["verify"])
        .arg(&model)
        .arg("--reference")
        .arg(&model)
        .assert()
        .code(0);
    assert!(stdout_of(&human).contains("LOCAL_RESPONSE_NORMALIZATION #1"));
}

#[test]
fn bad_models_are_trouble_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.circle");
    std::fs::write(&junk, b"not a model").unwrap();
    let run = q_implant()
        .args(["verify"])
        .arg(&junk)
        .arg("--reference")
        .arg(fixture("mlp.circle"))
        .assert()
        .code(2);
    assert!(stderr_of(&run).contains("junk.circle"));
    // Models with different inputs cannot be compared.
    let run = q_implant()
        .args(["verify"])
        .arg(fixture("multi.circle"))
        .arg("--reference")
        .arg(fixture("encoder.circle"))
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(
        err.contains("not the same network") && err.contains("[1, 16]"),
        "{err}"
    );
}

/// x -> ADD -> a -> LOCAL_RESPONSE_NORMALIZATION (no kernel here) -> y, the
/// graph's only output.
fn model_whose_output_cannot_run(dir: &Path) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 2, 2, 4], None);
    let c = b.tensor("c", &[4], Some(&[1.0, 2.0, 3.0, 4.0]));
    let a = b.tensor("a", &[1, 2, 2, 4], None);
    let y = b.tensor("y", &[1, 2, 2, 4], None);
    b.op(Op::ADD, &[x, c], &[a]);
    b.op(Op::LOCAL_RESPONSE_NORMALIZATION, &[a], &[y]);
    b.save(&dir.join("m.circle"), &[x], &[y])
}

#[test]
fn an_output_not_evaluated_is_never_exact_and_fails_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_whose_output_cannot_run(dir.path());
    let run = |extra: &[&str]| {
        q_implant()
            .arg("verify")
            .arg(&model)
            .arg("--reference")
            .arg(&model)
            .args(extra)
            .assert()
    };
    let human = stdout_of(&run(&[]).code(0));
    let line = human.lines().find(|l| l.contains("y:")).unwrap_or_default();
    assert!(line.contains("not evaluated"), "{human}");
    assert!(!line.contains("exact"), "{human}");
    let doc = json_of(&run(&["--format", "json"]).code(0));
    let output = &doc["outputs"][0];
    assert_eq!(output["evaluated"], false, "{output}");
    assert!(output["sqnr_db"].is_null() && output["mae"].is_null());
    // Nothing says the output is good: the bar fails, and says why.
    let failed = run(&["--fail-under", "30"]).code(1);
    let err = stderr_of(&failed);
    assert!(err.contains("`y` was not evaluated"), "{err}");
    let page = stdout_of(&run(&["--format", "html"]).code(0));
    let outputs = page.split("<table id=\"outputs\">").nth(1).unwrap();
    let outputs = outputs.split("</table>").next().unwrap();
    assert!(outputs.contains("not evaluated"), "{outputs}");
}

#[test]
fn a_sample_an_operator_refuses_is_an_error_naming_both() {
    use q_implant::model::fb::TensorType;
    let dir = tempfile::tempdir().unwrap();
    let mut b = ModelBuilder::default();
    let ids = b.typed("ids", &[1, 3], TensorType::INT32, None);
    let table: Vec<f32> = (0..10).map(|v| v as f32).collect();
    let t = b.tensor("table", &[5, 2], Some(&table));
    let y = b.tensor("y", &[1, 3, 2], None);
    b.op(Op::GATHER, &[t, ids], &[y]);
    let model = b.save(&dir.path().join("tok.circle"), &[ids], &[y]);
    let sample = |name: &str, values: &[i32]| {
        let path = dir.path().join(name);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, encode("<i4", false, &[1, 3], &bytes)).unwrap();
        path
    };
    let good = sample("good.npy", &[0, 4, 2]);
    let bad = sample("oob.npy", &[1, 9, 0]);
    let run = |input: &Path| {
        q_implant()
            .arg("verify")
            .arg(&model)
            .arg("--reference")
            .arg(&model)
            .args(["--fail-under", "30", "--input"])
            .arg(input)
            .assert()
    };
    run(&good).code(0);
    let err = stderr_of(&run(&bad).code(2));
    assert!(err.contains("oob.npy"), "the sample is named: {err}");
    assert!(err.contains("GATHER #0"), "the operator is named: {err}");
    assert!(err.contains("index 9 is out of range"), "{err}");
    assert!(!err.contains("could not be run here"), "{err}");
}

#[test]
fn the_memory_budget_is_checked_before_any_sample_is_read_or_drawn() {
    // The most random samples there may be, against a budget of 1 MiB: the
    // estimate refuses them, per sample and in all, before any is drawn.
    let run = q_implant()
        .args(["verify", "--samples", "100000", "--max-memory", "1MiB"])
        .arg(fixture("mlp.circle"))
        .arg("--reference")
        .arg(fixture("mlp.circle"))
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(err.contains("on 100000 samples"), "{err}");
    assert!(err.contains("bytes per sample, inputs included"), "{err}");
    assert!(err.contains("1048576"), "{err}");
    // Files are counted, not read: the budget speaks before a file that
    // is not a sample at all would.
    let dir = tempfile::tempdir().unwrap();
    for k in 0..3 {
        std::fs::write(dir.path().join(format!("{k}.npy")), b"not an npy file").unwrap();
    }
    let run = q_implant()
        .args(["verify", "--max-memory", "1KiB"])
        .arg(fixture("mlp.circle"))
        .arg("--reference")
        .arg(fixture("mlp.circle"))
        .arg("--input")
        .arg(dir.path())
        .assert()
        .code(2);
    let err = stderr_of(&run);
    assert!(err.contains("on 3 samples"), "{err}");
    assert!(!err.contains("not an npy file"), "{err}");
}

/// x [1, 4] -> ADD -> a -> ADD -> `out`, or with other operators, names and
/// output shapes.
fn small_float_model(path: &Path, names: [&str; 2], out_shape: &[i32]) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let c = b.tensor("c", &[4], Some(&[1.0, 2.0, 3.0, 4.0]));
    let a = b.tensor(names[0], &[1, 4], None);
    b.op(Op::ADD, &[x, c], &[a]);
    let y = if out_shape == [1, 4] {
        let y = b.tensor(names[1], &[1, 4], None);
        b.op(Op::ADD, &[a, c], &[y]);
        y
    } else {
        let w = b.tensor(
            "w",
            &[out_shape[1], 4],
            Some(&vec![0.5; 4 * out_shape[1] as usize]),
        );
        let y = b.tensor(names[1], out_shape, None);
        b.op(Op::FULLY_CONNECTED, &[a, w], &[y]);
        y
    };
    b.save(path, &[x], &[y])
}

#[test]
fn a_reference_that_is_not_the_float_original_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_float_model(&dir.path().join("m.circle"), ["a", "b"], &[1, 4]);
    let other = small_float_model(&dir.path().join("o.circle"), ["p", "q"], &[1, 4]);
    let verify = |model: &Path, reference: &Path| {
        q_implant()
            .arg("verify")
            .arg(model)
            .arg("--reference")
            .arg(reference)
            .assert()
    };
    // Only the input pairs: the figures are suspect, and the report says so.
    let run = verify(&model, &other).code(0);
    let out = stdout_of(&run);
    assert!(
        out.contains("only 1 of the quantized model's 3 activations"),
        "{out}"
    );
    let doc = json_of(
        &q_implant()
            .args(["verify", "--format", "json"])
            .arg(&model)
            .arg("--reference")
            .arg(&other)
            .assert()
            .code(0),
    );
    assert_eq!(doc["pairing"]["paired"], 1, "{doc}");
    assert_eq!(doc["pairing"]["activations"], 3, "{doc}");
    // The same model pairs every tensor: no warning.
    let out = stdout_of(&verify(&model, &model).code(0));
    assert!(!out.contains("warning"), "{out}");
    // Outputs of other shapes do not pair at all: an error.
    let fc = small_float_model(&dir.path().join("fc.circle"), ["a", "b"], &[1, 2]);
    let err = stderr_of(&verify(&model, &fc).code(2));
    assert!(
        err.contains("outputs of shapes [1, 2]") && err.contains("not the same network"),
        "{err}"
    );
    // A quantized model as the reference: said plainly.
    let set = mlp_set();
    let quantized = dir.path().join("q.circle");
    q_implant()
        .args(["apply", "-q"])
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .arg("-o")
        .arg(&quantized)
        .assert()
        .code(0);
    let err = stderr_of(&verify(&fixture("mlp.circle"), &quantized).code(2));
    assert!(err.contains("is a quantized model"), "{err}");
    assert!(
        err.contains("the reference must be the float model"),
        "{err}"
    );
}
