//! Mixed precision (`--allow-float`): where a float tensor meets a quantized
//! one, `apply` inserts the conversion, or refuses with a finding that names
//! the operator; it never writes an operator that mixes the two (issue 9,
//! item 12).

mod common;

use std::path::{Path, PathBuf};

use common::{empty_set, stderr_of, stdout_of, ModelBuilder, Scene};
use q_implant::graph::{Graph, Tensor};
use q_implant::model::{fb, CircleFile};

/// Whether a tensor holds real numbers as float (`Some(false)`), as
/// quantized integers (`Some(true)`), or is an integer tensor without
/// parameters (shapes, indices) that neither side cares about (`None`).
fn quantized(t: &Tensor<'_>) -> Option<bool> {
    if t.dtype == fb::TensorType::FLOAT32 {
        Some(false)
    } else {
        t.quantization.as_ref().map(|_| true)
    }
}

/// Every operator of the model reads and writes one kind of number, except
/// QUANTIZE (float in, quantized out) and DEQUANTIZE (the reverse).
fn assert_no_operator_mixes_precisions(path: &Path) {
    let file = CircleFile::open(path).unwrap();
    let g = Graph::new(&file);
    for sg in &g.subgraphs {
        for op in &sg.operators {
            let kinds = |ids: &mut dyn Iterator<Item = usize>| -> Vec<bool> {
                ids.filter_map(|i| quantized(&sg.tensors[i])).collect()
            };
            let ins = kinds(&mut op.inputs.iter().flatten().copied());
            let outs = kinds(&mut op.outputs.iter().copied());
            let what = format!("{} #{}", op.opcode, op.index);
            match op.opcode.to_string().as_str() {
                "QUANTIZE" => assert_eq!((ins, outs), (vec![false], vec![true]), "{what}"),
                "DEQUANTIZE" => assert_eq!((ins, outs), (vec![true], vec![false]), "{what}"),
                _ => {
                    let all: Vec<bool> = ins.iter().chain(&outs).copied().collect();
                    assert!(
                        all.iter().all(|&q| q == all[0]),
                        "{what} mixes float and quantized tensors: inputs {ins:?}, outputs {outs:?}"
                    );
                }
            }
        }
    }
}

/// `op` over two graph inputs `a` and `b`, giving `y`, all [1, 4].
fn two_inputs(path: &Path, op: fb::BuiltinOperator) -> PathBuf {
    let mut b = ModelBuilder::default();
    let (a, c) = (b.tensor("a", &[1, 4], None), b.tensor("b", &[1, 4], None));
    let y = if op == fb::BuiltinOperator::CONCATENATION {
        b.tensor("y", &[1, 8], None)
    } else {
        b.tensor("y", &[1, 4], None)
    };
    b.op(op, &[a, c], &[y]);
    b.save(path, &[a, c], &[y])
}

const OPS: [fb::BuiltinOperator; 2] =
    [fb::BuiltinOperator::ADD, fb::BuiltinOperator::CONCATENATION];

fn name(op: fb::BuiltinOperator) -> &'static str {
    op.variant_name().unwrap()
}

/// One input kept float: the operator runs in float, after a DEQUANTIZE of
/// the other input and before a QUANTIZE of its output.
#[test]
fn an_operator_with_one_float_input_runs_in_float_between_conversions() {
    for op in OPS {
        let mut set = empty_set();
        set.add("a", "uint8", 0.05, 128, None);
        set.add("y", "uint8", 0.05, 128, None);
        let sc = Scene::built(|p| two_inputs(p, op), set);
        let run = sc.apply(&["--allow-float", "b"]).success();
        let stderr = stderr_of(&run);
        assert!(
            stderr.contains(&format!(
                "inserted: DEQUANTIZE a -> a::float (before {} #0)",
                name(op)
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "inserted: QUANTIZE y::float -> y (after {} #",
                name(op)
            )),
            "{stderr}"
        );
        assert_no_operator_mixes_precisions(&sc.out());
        let file = CircleFile::open(sc.out()).unwrap();
        let g = Graph::new(&file);
        let sg = &g.subgraphs[0];
        let dtype = |n: &str| {
            sg.tensors
                .iter()
                .find(|t| t.name == n)
                .unwrap()
                .dtype_name()
        };
        assert_eq!(
            (dtype("a"), dtype("b"), dtype("y")),
            ("UINT8", "FLOAT32", "UINT8")
        );
        // The graph still reads `a` and `b` and gives `y`.
        let names =
            |ids: &[usize]| -> Vec<&str> { ids.iter().map(|&i| sg.tensors[i].name).collect() };
        assert_eq!(names(&sg.inputs), ["a", "b"]);
        assert_eq!(names(&sg.outputs), ["y"]);
    }
}

/// Both inputs quantized but the output kept float: the operator would run
/// quantized and needs the output's parameters; refused, naming it.
#[test]
fn a_float_output_behind_quantized_inputs_is_refused_naming_the_operator() {
    for op in OPS {
        let mut set = empty_set();
        set.add("a", "uint8", 0.05, 128, None);
        set.add("b", "uint8", 0.05, 128, None);
        let sc = Scene::built(|p| two_inputs(p, op), set);
        sc.set.save();
        let before = sc.inputs();
        let run = sc.apply(&["--allow-float", "y"]).code(1);
        let stdout = stdout_of(&run);
        assert!(stdout.contains("Q602"), "{stdout}");
        assert!(stdout.contains(&format!("{} #0", name(op))), "{stdout}");
        sc.assert_nothing_written();
        assert!(sc.inputs() == before);
    }
}

/// The same float input kept float on purpose and every other tensor
/// quantized, in a longer chain: FULLY_CONNECTED → ADD(float) → RELU.
#[test]
fn conversions_in_a_chain_leave_every_operator_of_one_precision() {
    let mut set = empty_set();
    set.add("x", "uint8", 0.02, 128, None);
    set.add("w", "uint8", 0.01, 128, Some(("|u1", &[4, 4], &[130; 16])));
    set.add("h", "uint8", 0.05, 128, None);
    set.add("s", "uint8", 0.05, 128, None);
    set.add("y", "uint8", 0.05, 0, None);
    let sc = Scene::built(
        |p| {
            let mut b = ModelBuilder::default();
            let x = b.tensor("x", &[1, 4], None);
            let w = b.tensor("w", &[4, 4], Some(&[0.02; 16]));
            let h = b.tensor("h", &[1, 4], None);
            let f = b.tensor("f", &[1, 4], None);
            let s = b.tensor("s", &[1, 4], None);
            let y = b.tensor("y", &[1, 4], None);
            b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, -1], &[h]);
            b.op(fb::BuiltinOperator::ADD, &[h, f], &[s]);
            b.op(fb::BuiltinOperator::RELU, &[s], &[y]);
            b.save(p, &[x, f], &[y])
        },
        set,
    );
    sc.apply(&["--allow-float", "f"]).success();
    assert_no_operator_mixes_precisions(&sc.out());
}

/// A quantized tensor between two float operators: written by the first
/// through a QUANTIZE, read by the second through a DEQUANTIZE.
#[test]
fn a_quantized_tensor_between_two_float_operators() {
    let mut set = empty_set();
    set.add("a", "uint8", 0.05, 128, None);
    set.add("s", "uint8", 0.05, 128, None);
    set.add("y", "uint8", 0.05, 128, None);
    let sc = Scene::built(
        |p| {
            let mut b = ModelBuilder::default();
            let a = b.tensor("a", &[1, 4], None);
            let f = b.tensor("f", &[1, 4], None);
            let g = b.tensor("g", &[1, 4], None);
            let s = b.tensor("s", &[1, 4], None);
            let y = b.tensor("y", &[1, 4], None);
            b.op(fb::BuiltinOperator::ADD, &[a, f], &[s]);
            b.op(fb::BuiltinOperator::ADD, &[s, g], &[y]);
            b.save(p, &[a, f, g], &[y])
        },
        set,
    );
    for extra in [&[][..], &["--float-io"]] {
        let mut args = vec!["--allow-float", "f,g", "--force"];
        args.extend(extra);
        sc.apply(&args).success();
        assert_no_operator_mixes_precisions(&sc.out());
        let file = CircleFile::open(sc.out()).unwrap();
        let g = Graph::new(&file);
        let mut names: Vec<&str> = g.tensors().map(|t| t.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "tensor names stay unique: {names:?}");
    }
}
