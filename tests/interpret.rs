//! The interpreter end to end: every float fixture against onert's outputs
//! (tests/interpret-reference/, written by scripts/interpret_reference.py).

mod common;

use ndarray::ArrayD;
use q_implant::graph::Graph;
use q_implant::interpret::{Arithmetic, Data, Options, Session, Tensor};
use q_implant::model::CircleFile;

/// onert computes in float32 with its own summation order; agreement to
/// this fraction of the output's largest magnitude is float32 rounding.
const TOLERANCE: f32 = 1e-4;

const MODELS: [&str; 8] = [
    "convnet",
    "mlp",
    "story",
    "resnet18",
    "resnet18q",
    "encoder",
    "encoder_qkv",
    "multi",
];

fn npy(path: &std::path::Path) -> Tensor {
    let a: ArrayD<f32> = ndarray_npy::read_npy(path).unwrap();
    Tensor::f32(a.shape().to_vec(), a.iter().copied().collect()).unwrap()
}

fn reference(name: &str, what: &str) -> Vec<Tensor> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interpret-reference");
    (0..)
        .map(|i| dir.join(format!("{name}.{what}{i}.npy")))
        .take_while(|p| p.exists())
        .map(|p| npy(&p))
        .collect()
}

/// The largest difference relative to the reference's largest magnitude.
fn relative_error(got: &Tensor, want: &Tensor) -> f32 {
    assert_eq!(got.shape, want.shape);
    let (Data::F32(g), Data::F32(w)) = (&got.data, &want.data) else {
        panic!("float outputs expected");
    };
    let scale = w.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    g.iter()
        .zip(w)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

#[test]
fn float_fixtures_agree_with_onert() {
    for name in MODELS {
        let file = CircleFile::open(common::fixture(&format!("{name}.circle"))).unwrap();
        let graph = Graph::new(&file);
        let inputs = reference(name, "in");
        let want = reference(name, "out");
        assert!(
            !inputs.is_empty() && !want.is_empty(),
            "{name}: no reference"
        );
        let mut session = Session::new(&graph, 0, Options::default()).unwrap();
        session.feed(vec![inputs]).unwrap();
        let mut seen = 0;
        let outputs = session.run_all(&mut |_, _| seen += 1).unwrap();
        assert!(
            session.skipped().is_empty(),
            "{name}: {:?}",
            session.skipped()
        );
        assert!(
            seen > graph.subgraphs[0].operators.len(),
            "{name}: observer not called"
        );
        for (k, (got, want)) in outputs.iter().zip(&want).enumerate() {
            let got = &got.as_ref().unwrap()[0];
            let err = relative_error(got, want);
            assert!(
                err <= TOLERANCE,
                "{name} output {k}: off by {err:e} of its magnitude"
            );
        }
    }
}

#[test]
fn samples_are_independent() {
    let file = CircleFile::open(common::fixture("resnet18.circle")).unwrap();
    let graph = Graph::new(&file);
    let x = reference("resnet18", "in").remove(0);
    let want = reference("resnet18", "out").remove(0);
    let Data::F32(v) = &x.data else { panic!() };
    let doubled = Tensor::f32(x.shape.clone(), v.iter().map(|a| a * 2.0).collect()).unwrap();
    let mut session = Session::new(&graph, 0, Options::default()).unwrap();
    session.feed(vec![vec![doubled], vec![x]]).unwrap();
    let outputs = session.run_all(&mut |_, _| {}).unwrap();
    let per_sample = outputs[0].as_ref().unwrap();
    assert_eq!(per_sample.len(), 2);
    assert!(relative_error(&per_sample[1], &want) <= TOLERANCE);
    assert!(relative_error(&per_sample[0], &want) > 0.01);
}

/// Fake quantization rounds real values once per tensor where onert's
/// uint8 kernels requantize with integer multipliers and shifts: the two
/// may part by one quantization step where a value lies near a rounding
/// boundary...
const FAKE_QUANT_MAX_STEPS: f32 = 1.0;
/// ...and rarely so: on average they agree to a small fraction of a step.
const FAKE_QUANT_MEAN_STEPS: f32 = 0.1;

/// The largest and the mean difference, in steps of the output, between a
/// run of stored quantized model `name` and onert's output.
fn steps_from_onert(name: &str, arithmetic: Arithmetic) -> (f32, f32) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interpret-reference");
    let file = CircleFile::open(dir.join(format!("{name}.circle"))).unwrap();
    let graph = Graph::new(&file);
    let sg = &graph.subgraphs[0];
    let x: ArrayD<u8> = ndarray_npy::read_npy(dir.join(format!("{name}.in0.npy"))).unwrap();
    let y: ArrayD<u8> = ndarray_npy::read_npy(dir.join(format!("{name}.out0.npy"))).unwrap();
    // The input as its integers: the session dequantizes them.
    let ints = Data::I32(x.iter().map(|&v| i32::from(v)).collect());
    let options = Options {
        arithmetic,
        ..Options::default()
    };
    let mut session = Session::new(&graph, 0, options).unwrap();
    session
        .feed(vec![vec![Tensor::new(x.shape().to_vec(), ints).unwrap()]])
        .unwrap();
    let outputs = session.run_all(&mut |_, _| {}).unwrap();
    assert!(
        session.skipped().is_empty(),
        "{name}: {:?}",
        session.skipped()
    );
    let got = &outputs[0].as_ref().unwrap()[0];
    let q = sg.tensors[sg.outputs[0]].quantization.as_ref().unwrap();
    let (scale, zero) = (q.scale[0], q.zero_point[0] as f32);
    let steps: Vec<f32> = got
        .as_f32()
        .unwrap()
        .iter()
        .zip(y.iter())
        .map(|(&ours, &theirs)| (ours / scale - (f32::from(theirs) - zero)).abs())
        .collect();
    let max = steps.iter().fold(0.0f32, |m, &s| m.max(s));
    (max, steps.iter().sum::<f32>() / steps.len() as f32)
}

#[test]
fn quantized_models_compute_what_onerts_integer_kernels_compute() {
    for name in ["mlpq", "convnetq"] {
        // The integer kernels: onert's integers exactly (a difference of
        // a step would be 1.0; float32 division leaves far less).
        let (max, _) = steps_from_onert(name, Arithmetic::Integer);
        assert!(max < 1e-3, "{name}: {max} steps at worst");
        let (max, mean) = steps_from_onert(name, Arithmetic::FakeQuant);
        assert!(
            max <= FAKE_QUANT_MAX_STEPS + 1e-3,
            "{name}: fake quantization {max} steps at worst"
        );
        assert!(
            mean <= FAKE_QUANT_MEAN_STEPS,
            "{name}: fake quantization {mean} steps on average"
        );
    }
}

/// The decoder quantized fully: its GGML_Q4_0 and GGML_Q8_0 weights, one
/// layer's weights as INT4 per channel, and every activation uint8. The
/// integer kernels take 8-bit weights only, so the layers reading packed
/// weights run their float kernels on the stored values while the ADDs
/// and LOGISTICs between them run in integers: every operator is
/// evaluated, nothing panics, and the result stays within a few output
/// steps of fake quantization.
#[test]
fn packed_weights_under_quantized_activations() {
    let mut set = common::QSet::copy_of("decoder");
    let up = "tico::p_blocks_1_up_weight";
    set.entry(up).remove("block_size");
    set.set_npy(up, "scale", "<f4", &[128], &common::f32s(&[0.05; 128]));
    set.set_npy(up, "zerop", "<i8", &[128], &common::i64s(&[0; 128]));
    let file = CircleFile::open(common::fixture("decoder.circle")).unwrap();
    let graph = Graph::new(&file);
    let activations: Vec<String> = graph.subgraphs[0]
        .tensors
        .iter()
        .filter(|t| !t.is_constant() && t.dtype == q_implant::model::fb::TensorType::FLOAT32)
        .map(|t| t.name.to_string())
        .collect();
    for name in &activations {
        set.add(name, "uint8", 0.05, 128, None);
    }
    set.save();
    let analysis = q_implant::analysis::check(&graph, &set.path(), &Default::default()).unwrap();
    let implanted = q_implant::implant::implant(&file, &graph, &analysis.plan).unwrap();
    let mut bytes = Vec::new();
    q_implant::model::writer::write(
        &implanted.parts,
        q_implant::model::Layout::Plain,
        &mut bytes,
    )
    .unwrap();
    let quantized = CircleFile::from_bytes("decoder-q.circle", bytes).unwrap();
    let graph = Graph::new(&quantized);
    let sg = &graph.subgraphs[0];
    let types: Vec<_> = sg.tensors.iter().map(|t| t.dtype_name()).collect();
    for packed in ["GGML_Q4_0", "GGML_Q8_0", "INT4"] {
        assert!(types.contains(&packed), "{types:?}");
    }
    let run = |arithmetic| {
        let options = Options {
            arithmetic,
            ..Options::default()
        };
        let mut session = Session::new(&graph, 0, options).unwrap();
        let ids = Tensor::new(vec![4], Data::I32(vec![1, 5, 9, 95])).unwrap();
        session.feed(vec![vec![ids]]).unwrap();
        let outputs = session.run_all(&mut |_, _| {}).unwrap();
        assert!(session.skipped().is_empty(), "{:?}", session.skipped());
        let out = outputs[0].as_ref().unwrap()[0].clone();
        out.as_f32().unwrap().to_vec()
    };
    let (integer, fake) = (run(Arithmetic::Integer), run(Arithmetic::FakeQuant));
    assert!(integer.iter().all(|v| v.is_finite()));
    let steps = integer
        .iter()
        .zip(&fake)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs() / 0.05));
    assert!(
        steps <= PACKED_MAX_STEPS,
        "{steps} steps from fake quantization"
    );
}

/// Integer and fake-quantized runs of the packed decoder part by a step
/// where a value lies near a rounding boundary, and such a step moves
/// what the next layers compute by a few more.
const PACKED_MAX_STEPS: f32 = 4.0;
