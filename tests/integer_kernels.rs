//! The integer kernels against onert: one small model per operator (and
//! scheme, granularity, special case), run on the integers onert was given,
//! must give onert's output integers exactly (tests/integer-reference/,
//! written by scripts/integer_reference.py).

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use q_implant::graph::{Graph, OpCode};
use q_implant::interpret::{Arithmetic, Data, Options, Session, Tensor};
use q_implant::model::fb::BuiltinOperator as Op;
use q_implant::model::CircleFile;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integer-reference")
}

/// An npy file of uint8, int8 or float32, as a tensor: integers as int32
/// (the session dequantizes them), floats as they are.
fn npy(path: &Path) -> Tensor {
    if let Ok(a) = ndarray_npy::read_npy::<_, ArrayD<u8>>(path) {
        let v = a.iter().map(|&q| i32::from(q)).collect();
        return Tensor::new(a.shape().to_vec(), Data::I32(v)).unwrap();
    }
    if let Ok(a) = ndarray_npy::read_npy::<_, ArrayD<i8>>(path) {
        let v = a.iter().map(|&q| i32::from(q)).collect();
        return Tensor::new(a.shape().to_vec(), Data::I32(v)).unwrap();
    }
    let a: ArrayD<f32> = ndarray_npy::read_npy(path).unwrap();
    Tensor::f32(a.shape().to_vec(), a.iter().copied().collect()).unwrap()
}

/// The runs of a case: each run's inputs and onert's output.
fn runs(dir: &Path) -> Vec<(Vec<Tensor>, Tensor)> {
    (0..)
        .map(|k| dir.join(format!("r{k}.out.npy")))
        .take_while(|p| p.exists())
        .enumerate()
        .map(|(k, out)| {
            let inputs = (0..)
                .map(|i| dir.join(format!("r{k}.in{i}.npy")))
                .take_while(|p| p.exists())
                .map(|p| npy(&p))
                .collect();
            (inputs, npy(&out))
        })
        .collect()
}

/// The integers behind the session's real output, or the floats of a float
/// output, to compare with onert's.
fn integers_of(graph: &Graph<'_>, got: &Tensor) -> Vec<f64> {
    let sg = &graph.subgraphs[0];
    let v = got.as_f32().unwrap();
    match sg.tensors[sg.outputs[0]].quantization.as_ref() {
        Some(q) if !q.scale.is_empty() => {
            let (s, z) = (f64::from(q.scale[0]), q.zero_point[0] as f64);
            v.iter().map(|&x| (f64::from(x) / s).round() + z).collect()
        }
        _ => v.iter().map(|&x| f64::from(x)).collect(),
    }
}

/// Runs one case; returns how its outputs differ from onert's, if they do.
fn check(dir: &Path) -> Option<String> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let file = CircleFile::open(dir.join("model.circle")).unwrap();
    let graph = Graph::new(&file);
    let cases = runs(dir);
    assert!(!cases.is_empty(), "{name}: no runs");
    let (inputs, want): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    let mut session = Session::new(&graph, 0, Options::default()).unwrap();
    session.feed(inputs).unwrap();
    let op = &graph.subgraphs[0].operators[0];
    let float_side = [Op::QUANTIZE, Op::DEQUANTIZE]
        .iter()
        .any(|&o| op.opcode == OpCode::Builtin(o));
    let step = session.step().unwrap().unwrap();
    assert!(step.evaluated, "{name}: {:?}", session.skipped());
    // QUANTIZE from and DEQUANTIZE to float32 have no integer kernel: the
    // grid is the computation.
    assert_eq!(
        step.integer, !float_side,
        "{name}: not on its integer kernel"
    );
    let got = &session.outputs()[0].as_ref().unwrap().clone();
    let mut worst = (0.0f64, 0usize);
    for (g, w) in got.iter().zip(&want) {
        let ours = integers_of(&graph, g);
        let theirs = w.data.to_f64();
        assert_eq!(ours.len(), theirs.len(), "{name}: output sizes differ");
        for (a, b) in ours.iter().zip(&theirs) {
            let d = (a - b).abs();
            worst.0 = worst.0.max(d);
            worst.1 += usize::from(d > 0.0);
        }
    }
    (worst.1 > 0).then(|| format!("{name}: {} values differ, by {} at most", worst.1, worst.0))
}

#[test]
fn every_integer_kernel_gives_onerts_integers() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reference_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 40, "only {} cases", dirs.len());
    let failures: Vec<String> = dirs.iter().filter_map(|d| check(d)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same cases run with fake quantization differ from onert somewhere:
/// the comparison above can tell the two modes apart.
#[test]
fn fake_quantization_is_not_what_onert_computes() {
    let dir = reference_dir().join("CONV_2D.uint8.per-tensor.k7s2valid-c3x8-h70");
    let file = CircleFile::open(dir.join("model.circle")).unwrap();
    let graph = Graph::new(&file);
    let (inputs, want): (Vec<_>, Vec<_>) = runs(&dir).into_iter().unzip();
    let options = Options {
        arithmetic: Arithmetic::FakeQuant,
        ..Options::default()
    };
    let mut session = Session::new(&graph, 0, options).unwrap();
    session.feed(inputs).unwrap();
    let outputs = session.run_all(&mut |_, _| {}).unwrap();
    let differ = outputs[0]
        .as_ref()
        .unwrap()
        .iter()
        .zip(&want)
        .flat_map(|(g, w)| {
            integers_of(&graph, g)
                .into_iter()
                .zip(w.data.to_f64())
                .map(|(a, b)| (a - b).abs())
        })
        .fold(0.0f64, f64::max);
    assert!(differ >= 1.0, "fake quantization matched onert exactly");
}
