//! The session on small models built here: fake quantization checked by
//! hand, the step API (values, pins, memory), and hostile models.

use q_implant::graph::Graph;
use q_implant::interpret::{
    Data, InterpretError, Options, Params, Session, SkipReason, State, Tensor,
};
use q_implant::model::fb::{self, BuiltinOperator as Op, BuiltinOptionsT as O, TensorType as T};
use q_implant::model::{writer, CircleFile, Layout, ModelParts, Payload};

#[derive(Default)]
struct Builder {
    tensors: Vec<fb::TensorT>,
    payloads: Vec<Option<Payload<'static>>>,
    codes: Vec<fb::OperatorCodeT>,
    ops: Vec<fb::OperatorT>,
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Builder {
    fn new() -> Builder {
        Builder {
            payloads: vec![None],
            ..Default::default()
        }
    }

    /// A tensor; a constant with `data`; quantized with (scale, zero point).
    fn tensor(
        &mut self,
        name: &str,
        shape: &[i32],
        dtype: T,
        data: Option<Vec<u8>>,
        q: Option<(f32, i64)>,
    ) -> i32 {
        let mut t = fb::TensorT::default();
        t.name = Some(name.into());
        t.shape = Some(shape.to_vec());
        t.type_ = dtype;
        if let Some(d) = data {
            self.payloads.push(Some(d.into()));
            t.buffer = (self.payloads.len() - 1) as u32;
        }
        if let Some((s, z)) = q {
            let mut p = fb::QuantizationParametersT::default();
            p.scale = Some(vec![s]);
            p.zero_point = Some(vec![z]);
            t.quantization = Some(Box::new(p));
        }
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }

    fn float(&mut self, name: &str, shape: &[i32]) -> i32 {
        self.tensor(name, shape, T::FLOAT32, None, None)
    }

    fn op(&mut self, op: Op, custom: Option<&str>, inputs: &[i32], outputs: &[i32], options: O) {
        let code = self
            .codes
            .iter()
            .position(|c| c.builtin_code == op && c.custom_code.as_deref() == custom);
        let index = code.unwrap_or_else(|| {
            let mut c = fb::OperatorCodeT::default();
            c.builtin_code = op;
            c.deprecated_builtin_code = op.0.clamp(0, 127) as i8;
            c.custom_code = custom.map(str::to_string);
            c.version = 1;
            self.codes.push(c);
            self.codes.len() - 1
        });
        let mut o = fb::OperatorT::default();
        o.opcode_index = index as u32;
        o.inputs = Some(inputs.to_vec());
        o.outputs = Some(outputs.to_vec());
        o.builtin_options = options;
        self.ops.push(o);
    }

    fn finish(self, inputs: &[i32], outputs: &[i32]) -> CircleFile {
        self.try_finish(inputs, outputs).unwrap()
    }

    fn try_finish(
        self,
        inputs: &[i32],
        outputs: &[i32],
    ) -> Result<CircleFile, q_implant::model::ModelError> {
        let mut sg = fb::SubGraphT::default();
        sg.tensors = Some(self.tensors);
        sg.inputs = Some(inputs.to_vec());
        sg.outputs = Some(outputs.to_vec());
        sg.operators = Some(self.ops);
        let mut m = fb::ModelT::default();
        m.version = 3;
        m.operator_codes = Some(self.codes);
        m.subgraphs = Some(vec![sg]);
        m.buffers = Some(vec![fb::BufferT::default(); self.payloads.len()]);
        let parts = ModelParts {
            model: m,
            payloads: self.payloads,
        };
        let mut bytes = Vec::new();
        writer::write(&parts, Layout::Plain, &mut bytes).unwrap();
        CircleFile::from_bytes("built.circle", bytes)
    }
}

fn vec4(v: [f32; 4]) -> Tensor {
    Tensor::f32(vec![4], v.to_vec()).unwrap()
}

fn out_of(outputs: &q_implant::interpret::Outputs) -> Vec<f32> {
    outputs[0].as_ref().expect("evaluated")[0]
        .as_f32()
        .unwrap()
        .to_vec()
}

/// float x -> QUANTIZE (uint8, 0.5, 10) -> ADD a uint8 constant (0.25, 0)
/// -> uint8 (0.5, 128) -> DEQUANTIZE -> float.
fn quantized_add() -> CircleFile {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let q = b.tensor("xq", &[4], T::UINT8, None, Some((0.5, 10)));
    let c = b.tensor("c", &[4], T::UINT8, Some(vec![1, 2, 3, 4]), Some((0.25, 0)));
    let s = b.tensor("sum", &[4], T::UINT8, None, Some((0.5, 128)));
    let y = b.float("y", &[4]);
    b.op(Op::QUANTIZE, None, &[x], &[q], O::NONE);
    b.op(Op::ADD, None, &[q, c], &[s], O::AddOptions(Box::default()));
    b.op(Op::DEQUANTIZE, None, &[s], &[y], O::NONE);
    b.finish(&[x], &[y])
}

#[test]
fn a_quantized_model_runs_as_an_integer_runtime_would() {
    let file = quantized_add();
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![vec4([0.3, -0.8, 1.26, 200.0])]]).unwrap();
    let out = s.run_all(&mut |_, _| {}).unwrap();
    // By hand: x/0.5 rounds (half away from zero) to 1, -2, 3, 400; plus 10
    // and clamped to 0..255: 11, 8, 13, 255, i.e. 0.5, -1, 1.5, 122.5. Plus
    // the constant 0.25, 0.5, 0.75, 1: 0.75, -0.5, 2.25, 123.5; over 0.5:
    // 1.5, -1, 4.5, 247 round to 2, -1, 5, 247; plus 128, clamped: 130,
    // 127, 133, 255, i.e. 1, -0.5, 2.5, 63.5.
    assert_eq!(out_of(&out), vec![1.0, -0.5, 2.5, 63.5]);
}

#[test]
fn a_float_model_runs_as_if_quantized_with_supplied_parameters() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let c = b.tensor(
        "c",
        &[4],
        T::FLOAT32,
        Some(f32_bytes(&[0.25, 0.5, 0.8, 1.0])),
        None,
    );
    let y = b.float("y", &[4]);
    b.op(Op::ADD, None, &[x, c], &[y], O::AddOptions(Box::default()));
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let uint8 = |scale, zero| Params {
        scale: vec![scale],
        zero_point: vec![zero],
        axis: 0,
        qmin: 0,
        qmax: 255,
    };
    let plan = move |t: usize| match t {
        0 => Some(uint8(0.5, 10)),
        1 => Some(uint8(0.25, 0)),
        _ => Some(uint8(0.5, 128)),
    };
    let input = vec4([0.3, -0.8, 1.26, 200.0]);
    let mut s = Session::new(&graph, 0, Options::default())
        .unwrap()
        .with_params(plan);
    s.feed(vec![vec![input.clone()]]).unwrap();
    // The constant 0.8 moves to 0.75 on its grid: the same sums as above.
    assert_eq!(
        out_of(&s.run_all(&mut |_, _| {}).unwrap()),
        vec![1.0, -0.5, 2.5, 63.5]
    );
    // Without parameters it is the plain float sum.
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![input]]).unwrap();
    assert_eq!(
        out_of(&s.run_all(&mut |_, _| {}).unwrap()),
        vec![0.55, -0.3, 2.06, 201.0]
    );
}

#[test]
fn quantized_inputs_given_as_integers_are_dequantized() {
    let mut b = Builder::new();
    let x = b.tensor("x", &[4], T::UINT8, None, Some((0.5, 10)));
    let y = b.float("y", &[4]);
    b.op(Op::DEQUANTIZE, None, &[x], &[y], O::NONE);
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    let ints = Tensor::new(vec![4], Data::I32(vec![10, 12, 0, 255])).unwrap();
    s.feed(vec![vec![ints]]).unwrap();
    assert_eq!(
        out_of(&s.run_all(&mut |_, _| {}).unwrap()),
        vec![0.0, 1.0, -5.0, 122.5]
    );
    // An int64 value for a float input is the caller's mistake.
    let mut b = Builder::new();
    let x = b.float("x", &[1]);
    let y = b.float("y", &[1]);
    b.op(Op::RELU, None, &[x], &[y], O::NONE);
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    let e = s
        .feed(vec![
            vec![Tensor::new(vec![1], Data::I64(vec![1])).unwrap()],
        ])
        .unwrap_err();
    assert!(matches!(e, InterpretError::InputType { .. }), "{e}");
    assert!(e.to_string().contains("`x`"), "{e}");
}

/// x -> RELU -> a -> NEG -> b -> ADD(a, b) -> y
fn chain() -> CircleFile {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let a = b.float("a", &[4]);
    let n = b.float("b", &[4]);
    let y = b.float("y", &[4]);
    b.op(Op::RELU, None, &[x], &[a], O::NONE);
    b.op(Op::NEG, None, &[a], &[n], O::NONE);
    b.op(Op::ADD, None, &[a, n], &[y], O::AddOptions(Box::default()));
    b.finish(&[x], &[y])
}

#[test]
fn steps_expose_values_until_their_last_use_and_pins_keep_them() {
    let file = chain();
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    assert!(matches!(s.step(), Err(InterpretError::NotFed)));
    s.feed(vec![
        vec![vec4([1.0, -2.0, 3.0, -4.0])],
        vec![vec4([0.5; 4])],
    ])
    .unwrap();
    s.keep(2); // b
    let step = s.step().unwrap().unwrap();
    assert_eq!(
        (step.operator, step.outputs.clone(), step.evaluated),
        (0, vec![1], true)
    );
    assert_eq!(s.value(1).unwrap()[0], vec4([1.0, 0.0, 3.0, 0.0]));
    assert_eq!(s.value(1).unwrap()[1], vec4([0.5; 4]));
    // x's last use was step 0: readable now, gone once the next step starts.
    assert!(s.value(0).is_some());
    s.step().unwrap();
    assert_eq!(s.state(0), Some(State::Freed));
    s.step().unwrap();
    assert!(s.step().unwrap().is_none());
    // a and b were last used by the ADD: a is freed, b is pinned.
    assert_eq!(s.state(1), Some(State::Freed));
    assert_eq!(s.value(2).unwrap()[0], vec4([-1.0, 0.0, -3.0, 0.0]));
    let (live, peak) = s.memory();
    s.release(2);
    assert_eq!(s.state(2), Some(State::Freed));
    assert!(s.memory().0 < live && peak >= live);
    assert_eq!(s.outputs()[0].as_ref().unwrap()[0], vec4([0.0; 4]));
}

#[test]
fn run_all_observes_inputs_then_each_output_in_order() {
    let file = chain();
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![vec4([1.0; 4])]]).unwrap();
    let mut seen = Vec::new();
    s.run_all(&mut |t, v| seen.push((t, v.len()))).unwrap();
    assert_eq!(seen, vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
}

#[test]
fn an_unknown_operator_leaves_its_branch_unevaluated_and_the_rest_runs() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let f = b.float("foo_out", &[4]);
    let r = b.float("relu_out", &[4]);
    let y = b.float("y", &[4]);
    b.op(Op::CUSTOM, Some("Foo"), &[x], &[f], O::NONE);
    b.op(Op::RELU, None, &[f], &[r], O::NONE);
    b.op(Op::NEG, None, &[x], &[y], O::NONE);
    let file = b.finish(&[x], &[r, y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![vec4([1.0; 4])]]).unwrap();
    let out = s.run_all(&mut |_, _| {}).unwrap();
    assert!(out[0].is_none());
    assert_eq!(out[1].as_ref().unwrap()[0], vec4([-1.0; 4]));
    assert_eq!(s.state(r as usize), Some(State::NotEvaluated));
    let skipped = s.skipped();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        (skipped[0].site.opcode.as_str(), skipped[0].site.operator),
        ("CUSTOM(Foo)", 0)
    );
    assert_eq!(skipped[0].reason, SkipReason::NoKernel);
    assert!(skipped[0]
        .to_string()
        .starts_with("CUSTOM(Foo) #0 (subgraph 0)"));
}

#[test]
fn an_unsupported_option_is_recorded_with_its_reason() {
    let mut b = Builder::new();
    let x = b.float("x", &[1, 4, 4, 1]);
    let w = b.tensor(
        "w",
        &[1, 1, 1, 1],
        T::FLOAT32,
        Some(f32_bytes(&[1.0])),
        None,
    );
    let y = b.float("y", &[1, 4, 4, 1]);
    let mut o = fb::Conv2DOptionsT::default();
    o.stride_h = 1;
    o.stride_w = 1;
    o.dilation_h_factor = 1;
    o.dilation_w_factor = 1;
    o.fused_activation_function = fb::ActivationFunctionType::SIGN_BIT;
    b.op(
        Op::CONV_2D,
        None,
        &[x, w, -1],
        &[y],
        O::Conv2DOptions(Box::new(o)),
    );
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![
        Tensor::f32(vec![1, 4, 4, 1], vec![1.0; 16]).unwrap()
    ]])
    .unwrap();
    assert!(s.run_all(&mut |_, _| {}).unwrap()[0].is_none());
    let text = s.skipped()[0].to_string();
    assert!(
        text.contains("CONV_2D #0 (subgraph 0)") && text.contains("SIGN_BIT"),
        "{text}"
    );
}

#[test]
fn a_cycle_is_refused_naming_an_operator_and_a_tensor() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let p = b.float("p", &[4]);
    let q = b.float("q", &[4]);
    b.op(Op::ADD, None, &[x, q], &[p], O::AddOptions(Box::default()));
    b.op(Op::RELU, None, &[p], &[q], O::NONE);
    let file = b.finish(&[x], &[q]);
    let graph = Graph::new(&file);
    let e = Session::new(&graph, 0, Options::default())
        .err()
        .expect("a cycle");
    assert!(matches!(e, InterpretError::Cycle { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("ADD #0 (subgraph 0)") || text.contains("RELU #1 (subgraph 0)"),
        "{text}"
    );
}

#[test]
fn operators_out_of_file_order_are_scheduled_topologically() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let a = b.float("a", &[4]);
    let y = b.float("y", &[4]);
    b.op(Op::NEG, None, &[a], &[y], O::NONE);
    b.op(Op::RELU, None, &[x], &[a], O::NONE);
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    assert_eq!(s.schedule().order, vec![1, 0]);
    s.feed(vec![vec![vec4([-1.0, 2.0, -3.0, 4.0])]]).unwrap();
    assert_eq!(
        out_of(&s.run_all(&mut |_, _| {}).unwrap()),
        vec![0.0, -2.0, 0.0, -4.0]
    );
}

#[test]
fn an_unproduced_tensor_is_refused() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let ghost = b.float("ghost", &[4]);
    let y = b.float("y", &[4]);
    b.op(
        Op::ADD,
        None,
        &[x, ghost],
        &[y],
        O::AddOptions(Box::default()),
    );
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let e = Session::new(&graph, 0, Options::default()).err().unwrap();
    assert!(
        e.to_string()
            .contains("ADD #0 (subgraph 0) reads tensor `ghost`"),
        "{e}"
    );
}

#[test]
fn a_bad_index_never_reaches_the_interpreter() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let y = b.float("y", &[4]);
    b.op(Op::RELU, None, &[x + 40], &[y], O::NONE);
    // The reader verifies every index when the model is opened (and the
    // schedule checks them again for graphs built otherwise).
    let e = b.try_finish(&[x], &[y]).err().expect("refused");
    assert!(
        e.to_string()
            .contains("operator 0 of subgraph 0 names tensor 40"),
        "{e}"
    );
}

#[test]
fn memory_beyond_the_budget_is_an_error_with_the_figure() {
    // Declared shapes over the budget: refused when the samples are fed.
    let mut b = Builder::new();
    let x = b.float("x", &[1024, 1024]);
    let y = b.float("y", &[1024, 1024]);
    b.op(Op::RELU, None, &[x], &[y], O::NONE);
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(
        &graph,
        0,
        Options {
            max_memory: 16 << 20,
            ..Options::default()
        },
    )
    .unwrap();
    let zeros = || vec![Tensor::f32(vec![1024, 1024], vec![0.0; 1 << 20]).unwrap()];
    let e = s.feed(vec![zeros(), zeros(), zeros()]).unwrap_err();
    assert!(
        matches!(
            e,
            InterpretError::OverBudget {
                needed: 25_165_824,
                budget: 16_777_216,
                ..
            }
        ),
        "{e}"
    );

    // A FILL whose dimensions come from the data: refused when it runs,
    // before anything is allocated (2^40 floats), and one whose size
    // overflows.
    for (dims, too_large) in [([1i32 << 20, 1 << 20], false), ([i32::MAX, i32::MAX], true)] {
        let mut b = Builder::new();
        let d = b.tensor(
            "dims",
            &[3],
            T::INT32,
            Some(i32_bytes(&[dims[0], dims[1], dims[1]])),
            None,
        );
        let v = b.float("v", &[]);
        let y = b.float("y", &[1]);
        b.op(Op::FILL, None, &[d, v], &[y], O::NONE);
        let file = b.finish(&[v], &[y]);
        let graph = Graph::new(&file);
        let mut s = Session::new(&graph, 0, Options::default()).unwrap();
        s.feed(vec![vec![Tensor::f32(vec![], vec![1.0]).unwrap()]])
            .unwrap();
        let e = s.run_all(&mut |_, _| {}).unwrap_err();
        if too_large {
            assert!(matches!(e, InterpretError::TooLarge { .. }), "{e}");
        } else {
            assert!(matches!(e, InterpretError::OverBudget { .. }), "{e}");
            assert!(e.to_string().contains("`y`"), "{e}");
        }
    }
}

#[test]
fn a_constant_whose_data_do_not_match_its_shape_is_named() {
    let mut b = Builder::new();
    let x = b.float("x", &[4]);
    let c = b.tensor(
        "short",
        &[4],
        T::FLOAT32,
        Some(f32_bytes(&[1.0, 2.0])),
        None,
    );
    let y = b.float("y", &[4]);
    b.op(Op::ADD, None, &[x, c], &[y], O::AddOptions(Box::default()));
    let file = b.finish(&[x], &[y]);
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(vec![vec![vec4([0.0; 4])]]).unwrap();
    let e = s.run_all(&mut |_, _| {}).unwrap_err();
    assert!(
        e.to_string().contains("constant `short`") && e.to_string().contains("needs 16 bytes"),
        "{e}"
    );
}

#[test]
fn wrong_inputs_are_the_callers_errors() {
    let file = chain();
    let graph = Graph::new(&file);
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    let e = s
        .feed(vec![vec![Tensor::f32(vec![5], vec![0.0; 5]).unwrap()]])
        .unwrap_err();
    assert!(
        matches!(e, InterpretError::InputShape { .. }) && e.to_string().contains("`x`"),
        "{e}"
    );
    let e = s.feed(vec![vec![]]).unwrap_err();
    assert!(matches!(e, InterpretError::InputCount { .. }), "{e}");
    let broken = Tensor {
        shape: vec![4],
        data: Data::F32(vec![0.0; 3]),
    };
    assert!(matches!(
        s.feed(vec![vec![broken]]),
        Err(InterpretError::InputData { .. })
    ));
    s.feed(vec![vec![vec4([0.0; 4])]]).unwrap();
    assert!(matches!(
        s.feed(vec![vec![vec4([0.0; 4])]]),
        Err(InterpretError::FedTwice)
    ));
    assert!(matches!(
        Session::new(&graph, 3, Options::default()),
        Err(InterpretError::NoSubgraph { index: 3, count: 1 })
    ));
}

/// Feeds every graph input a value of its declared shape (ones), when the
/// shape is small enough to build.
fn ones_for(graph: &Graph<'_>) -> Option<Vec<Tensor>> {
    let sg = &graph.subgraphs[0];
    sg.inputs
        .iter()
        .map(|&i| {
            let t = &sg.tensors[i];
            let shape: Vec<usize> = t
                .shape
                .iter()
                .map(|&d| usize::try_from(d).ok().filter(|&d| d <= 4096))
                .collect::<Option<_>>()?;
            let n = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .filter(|&n| n <= 1 << 20)?;
            let data = match t.dtype {
                T::INT32 if t.quantization.is_none() => Data::I32(vec![1; n]),
                T::INT64 if t.quantization.is_none() => Data::I64(vec![1; n]),
                T::BOOL => Data::Bool(vec![true; n]),
                _ => Data::F32(vec![1.0; n]),
            };
            Tensor::new(shape, data)
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Models with random bytes overwritten: whatever still verifies runs to
    /// an answer or an error, never a panic or an abort in the allocator.
    #[test]
    fn patched_fixtures_never_panic(
        which in 0usize..3,
        patches in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 1..6),
    ) {
        let name = ["convnet", "encoder", "story"][which];
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/{name}.circle"));
        let mut bytes = std::fs::read(path).unwrap();
        for (at, value) in &patches {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        let Ok(file) = CircleFile::from_bytes("patched.circle", bytes) else { return Ok(()) };
        let graph = Graph::new(&file);
        if graph.subgraphs.is_empty() {
            return Ok(());
        }
        let Ok(mut session) = Session::new(&graph, 0, Options { max_memory: 64 << 20, ..Options::default() }) else { return Ok(()) };
        let Some(inputs) = ones_for(&graph) else { return Ok(()) };
        if session.feed(vec![inputs]).is_ok() {
            let _ = session.run_all(&mut |_, _| {});
        }
    }
}
