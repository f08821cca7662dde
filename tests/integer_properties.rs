//! The integer kernels of CONV_2D, FULLY_CONNECTED, ADD, SUB and MUL
//! against plain references written here: naive loops accumulating in
//! int64, then the same fixed-point steps (the multipliers `Multiplier`
//! builds, applied with `Multiplier::apply`, whose roundings the library's
//! unit tests pin to hand-computed values), on random shapes, strides,
//! paddings, broadcasts, parameters and activations.

// The references index by loop counters on purpose: plain loops are what
// makes them obviously right.
#![allow(clippy::needless_range_loop)]

use proptest::prelude::*;
use q_implant::graph::OpCode;
use q_implant::interpret::integer::fixed_point::Multiplier;
use q_implant::interpret::integer::{self, Constant, Given};
use q_implant::interpret::kernels::{kernel_for, Declared, Inputs, OpContext};
use q_implant::interpret::{KernelError, Kind, Params, Site, Tensor};
use q_implant::model::fb::{
    self, ActivationFunctionType as Act, BuiltinOperator as Op, BuiltinOptionsT as O, Padding,
    TensorType,
};

/// Options tables are non-exhaustive: built from their defaults.
macro_rules! opts {
    ($ty:ident { $($f:ident : $v:expr),* $(,)? }) => {{
        let mut o = fb::$ty::default();
        $(o.$f = $v;)*
        Box::new(o)
    }};
}

/// A quantized value: its integers and parameters.
#[derive(Clone, Debug)]
struct Q {
    shape: Vec<usize>,
    q: Vec<i64>,
    params: Params,
}

impl Q {
    fn real(&self) -> Tensor {
        let v = self.params.dequantize(&self.shape, &self.q).unwrap();
        Tensor::f32(self.shape.clone(), v).unwrap()
    }
}

fn params(scale: Vec<f32>, zero: Vec<i64>, axis: usize, (qmin, qmax): (i64, i64)) -> Params {
    Params {
        scale,
        zero_point: zero,
        axis,
        qmin,
        qmax,
    }
}

const UINT8: (i64, i64) = (0, 255);
const INT8: (i64, i64) = (-128, 127);
const INT32: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

/// Runs the integer kernel of `op` on `inputs` (constants given as
/// such where `constant[i]`); returns the output's integers, or the
/// kernel's refusal.
fn run(
    op: Op,
    options: O,
    inputs: &[Option<Q>],
    out: &Params,
    constant: &[bool],
) -> Result<Vec<i64>, KernelError> {
    let ctx = OpContext::new(
        Site {
            opcode: format!("{op:?}"),
            operator: 0,
            subgraph: 0,
        },
        OpCode::Builtin(op),
        options,
        vec![Declared {
            name: "out".into(),
            dtype: TensorType::UINT8,
            kind: Some(Kind::F32),
            shape: Vec::new(),
        }],
    );
    let reals: Vec<Option<Tensor>> = inputs.iter().map(|i| i.as_ref().map(Q::real)).collect();
    let refs: Vec<Option<&Tensor>> = reals.iter().map(Option::as_ref).collect();
    let ins = Inputs::new(&refs);
    let given: Vec<Given<'_>> = inputs
        .iter()
        .map(|i| {
            i.as_ref()
                .map_or(Given::Absent, |q| Given::Quantized(&q.params))
        })
        .collect();
    let plan = integer::plan(&ctx, &given, &[Some(out)]).expect("an integer kernel");
    let constants: Vec<Option<Constant>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| match (x, constant.get(i)) {
            (Some(x), Some(true)) => {
                let q = x.q.iter().map(|&v| v as i32).collect();
                Some(plan.constant(i, &x.shape, q, &x.params, out))
            }
            _ => None,
        })
        .collect();
    let kernel = kernel_for(&ctx.opcode).unwrap();
    let specs = (kernel.shape)(&ctx, &ins)?;
    let params: Vec<Option<&Params>> = inputs
        .iter()
        .map(|i| i.as_ref().map(|q| &q.params))
        .collect();
    let y = integer::run(&plan, &ctx, &ins, &params, &constants, out, &specs[0])?;
    let (s, z) = out.first();
    Ok(y.as_f32()
        .unwrap()
        .iter()
        .map(|&v| (f64::from(v) / f64::from(s)).round() as i64 + z)
        .collect())
}

/// The fused activation's clamp in the output's integers, by its
/// definition: the dtype's range, from `z + round(0 / s)` for RELU, to
/// `z + round(6 / s)` for RELU6.
fn clamp_range(act: Act, out: &Params) -> (i64, i64) {
    let (s, z) = out.first();
    let q = |bound: f32| z + (bound / s).round() as i64;
    match act {
        Act::RELU => (out.qmin.max(q(0.0)), out.qmax),
        Act::RELU6 => (out.qmin.max(q(0.0)), out.qmax.min(q(6.0))),
        _ => (out.qmin, out.qmax),
    }
}

/// An int32 accumulator (wrapped as the runtime's) to the output's
/// integers.
fn requantize(acc: i64, m: Multiplier, out: &Params, act: Act) -> i64 {
    let (lo, hi) = clamp_range(act, out);
    (i64::from(m.apply(acc as i32)) + out.first().1).clamp(lo, hi)
}

/// `s_in * s_w / s_out`: with one uint8 weight scale, the product of the
/// two scales in float32 (as onert's per-tensor kernels take it); else in
/// float64.
fn weighted_multiplier(x: &Params, w: &Params, out: &Params, c: usize) -> Multiplier {
    let (s_in, s_out) = (x.first().0, f64::from(out.first().0));
    if w.scale.len() == 1 && x.qmin == 0 {
        return Multiplier::new(f64::from(s_in * w.scale[0]) / s_out);
    }
    let s_w = w.scale[c.min(w.scale.len() - 1)];
    Multiplier::new(f64::from(s_in) * f64::from(s_w) / s_out)
}

/// A weight's `q - z`: uint8 per channel (or channel 0's zero point when
/// `first`), int8 without its zero point.
fn weight_level(w: &Params, q: i64, c: usize, first: bool) -> i64 {
    if w.qmin != 0 {
        return q;
    }
    let z = if first {
        w.zero_point[0]
    } else {
        w.zero_point[c.min(w.zero_point.len() - 1)]
    };
    q - z
}

fn activation() -> impl Strategy<Value = Act> {
    prop::sample::select(vec![Act::NONE, Act::RELU, Act::RELU6])
}

/// Random integers over a range, with their shape.
fn ints(shape: Vec<usize>, (lo, hi): (i64, i64)) -> impl Strategy<Value = (Vec<usize>, Vec<i64>)> {
    let n: usize = shape.iter().product();
    prop::collection::vec(lo..=hi, n).prop_map(move |q| (shape.clone(), q))
}

/// A scale over the magnitudes calibrations give.
fn scale() -> impl Strategy<Value = f32> {
    1e-4f32..0.1
}

/// Parameters for an 8-bit value of `range`, `channels` scales and zero
/// points (zero points 0 for int8 weights, as the spec has them).
fn qparams(range: (i64, i64), channels: usize, symmetric: bool) -> impl Strategy<Value = Params> {
    let zeros = if symmetric { 0..=0 } else { range.0..=range.1 };
    (
        prop::collection::vec(scale(), channels),
        prop::collection::vec(zeros, channels),
    )
        .prop_map(move |(s, z)| params(s, z, 0, range))
}

/// A convolution case: NHWC input, OHWI weights, an int32 bias.
#[derive(Clone, Debug)]
struct Conv {
    x: Q,
    w: Q,
    b: Option<Q>,
    out: Params,
    stride: (usize, usize),
    dil: (usize, usize),
    same: bool,
    act: Act,
}

fn conv_case() -> impl Strategy<Value = Conv> {
    // Up to 47 input channels of 3x3: inner dimensions past 2^24 / 255^2,
    // where one float32 GEMM would round.
    let dims = (
        1usize..3,
        1usize..8,
        1usize..8,
        1usize..48,
        1usize..6,
        1usize..4,
        1usize..4,
    );
    let geometry = (
        1usize..3,
        1usize..3,
        1usize..3,
        1usize..3,
        any::<bool>(),
        activation(),
    );
    (dims, geometry, any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(
        |(
            (n, h, w, ic, oc, kh, kw),
            (sth, stw, dh, dw, same, act),
            unsigned,
            per_channel,
            bias,
        )| {
            let range = if unsigned { UINT8 } else { INT8 };
            let channels = if per_channel { oc } else { 1 };
            (
                ints(vec![n, h, w, ic], range),
                ints(vec![oc, kh, kw, ic], range),
                ints(vec![oc], (-50_000, 50_000)),
                qparams(range, 1, false),
                qparams(range, channels, !unsigned),
                qparams(range, 1, false),
            )
                .prop_map(move |(x, wq, bq, xp, wp, out)| {
                    let b_scale: Vec<f32> = wp.scale.iter().map(|&s| xp.scale[0] * s).collect();
                    let bp = params(b_scale.clone(), vec![0; b_scale.len()], 0, INT32);
                    Conv {
                        x: Q {
                            shape: x.0,
                            q: x.1,
                            params: xp,
                        },
                        w: Q {
                            shape: wq.0,
                            q: wq.1,
                            params: wp,
                        },
                        b: bias.then(|| Q {
                            shape: bq.0.clone(),
                            q: bq.1.clone(),
                            params: bp,
                        }),
                        out,
                        stride: (sth, stw),
                        dil: (dh, dw),
                        same,
                        act,
                    }
                })
        },
    )
}

/// Output size and leading padding of one spatial dimension, from the
/// TensorFlow definitions: SAME gives ceil(in / stride) outputs and pads
/// half the excess before (rounded down); VALID the windows that fit.
fn spatial(
    same: bool,
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> Option<(usize, usize)> {
    let eff = (k - 1) * dil + 1;
    if same {
        let out = input.div_ceil(stride);
        let need = ((out - 1) * stride + eff).saturating_sub(input);
        Some((out, need / 2))
    } else if input >= eff {
        Some(((input - eff) / stride + 1, 0))
    } else {
        None
    }
}

/// Each output's accumulator and channel.
fn conv_accumulators(c: &Conv) -> Option<Vec<(i64, usize)>> {
    let [n, h, w, ic] = c.x.shape[..] else {
        return None;
    };
    let [oc, kh, kw, _] = c.w.shape[..] else {
        return None;
    };
    let (oh, pt) = spatial(c.same, h, kh, c.stride.0, c.dil.0)?;
    let (ow, pl) = spatial(c.same, w, kw, c.stride.1, c.dil.1)?;
    let zx = c.x.params.first().1;
    let mut out = Vec::new();
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..oc {
                    let mut acc: i64 = c.b.as_ref().map_or(0, |b| b.q[o]);
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * c.stride.0 + ky * c.dil.0) as i64 - pt as i64;
                            let ix = (ox * c.stride.1 + kx * c.dil.1) as i64 - pl as i64;
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                continue;
                            }
                            for i in 0..ic {
                                let xq = c.x.q[((b * h + iy as usize) * w + ix as usize) * ic + i];
                                let wq = c.w.q[((o * kh + ky) * kw + kx) * ic + i];
                                acc += (xq - zx) * weight_level(&c.w.params, wq, o, false);
                            }
                        }
                    }
                    out.push((acc, o));
                }
            }
        }
    }
    Some(out)
}

/// An output scale that spreads accumulators up to `max_acc` (times the
/// input and first weight scale) over about `spread` steps: most outputs
/// then land inside the range, where every rounding shows.
fn output_scale(max_acc: i64, s_in: f32, s_w: f32, spread: f32) -> f32 {
    (max_acc.max(1) as f32 * s_in * s_w / spread).max(1e-6)
}

fn spread() -> impl Strategy<Value = f32> {
    20.0f32..400.0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn conv_2d_is_the_integer_reference(
        mut c in conv_case(),
        spread in spread(),
        constant in any::<bool>(),
    ) {
        let options = O::Conv2DOptions(opts!(Conv2DOptionsT {
            padding: if c.same { Padding::SAME } else { Padding::VALID },
            stride_h: c.stride.0 as i32,
            stride_w: c.stride.1 as i32,
            dilation_h_factor: c.dil.0 as i32,
            dilation_w_factor: c.dil.1 as i32,
            fused_activation_function: c.act,
        }));
        let accs = conv_accumulators(&c);
        if let Some(accs) = &accs {
            let max = accs.iter().map(|(a, _)| a.abs()).max().unwrap_or(1);
            c.out.scale = vec![output_scale(max, c.x.params.scale[0], c.w.params.scale[0], spread)];
        }
        let inputs = [Some(c.x.clone()), Some(c.w.clone()), c.b.clone()];
        let got = run(Op::CONV_2D, options, &inputs, &c.out, &[false, constant, constant]);
        match accs {
            None => prop_assert!(got.is_err()),
            Some(accs) => {
                let want: Vec<i64> = accs
                    .iter()
                    .map(|&(acc, o)| {
                        let m = weighted_multiplier(&c.x.params, &c.w.params, &c.out, o);
                        requantize(acc, m, &c.out, c.act)
                    })
                    .collect();
                prop_assert_eq!(got.unwrap(), want);
            }
        }
    }
}

/// A FULLY_CONNECTED case: [rows, K] input, [N, K] weights.
fn fc_case() -> impl Strategy<Value = (Q, Q, Option<Q>, Act)> {
    // K up to 700: inner dimensions past 2^24 / 255^2.
    let dims = (1usize..4, 1usize..700, 1usize..9);
    (
        dims,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        activation(),
    )
        .prop_flat_map(|((rows, k, n), unsigned, per_channel, bias, act)| {
            let range = if unsigned { UINT8 } else { INT8 };
            (
                ints(vec![rows, k], range),
                ints(vec![n, k], range),
                ints(vec![n], (-50_000, 50_000)),
                qparams(range, 1, false),
                qparams(range, if per_channel { n } else { 1 }, !unsigned),
            )
                .prop_map(move |(x, w, b, xp, wp)| {
                    let bp = params(vec![xp.scale[0] * wp.scale[0]], vec![0], 0, INT32);
                    (
                        Q {
                            shape: x.0,
                            q: x.1,
                            params: xp,
                        },
                        Q {
                            shape: w.0,
                            q: w.1,
                            params: wp,
                        },
                        bias.then_some(Q {
                            shape: b.0,
                            q: b.1,
                            params: bp,
                        }),
                        act,
                    )
                })
        })
}

/// A binary operator's operands: `b`'s shape is `a`'s with some
/// dimensions 1 and maybe fewer of them, or the other way round.
fn binary_case() -> impl Strategy<Value = (Q, Q)> {
    let shape = prop::collection::vec(1usize..5, 1..5);
    (
        shape,
        prop::collection::vec(any::<bool>(), 4),
        0usize..3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(a, ones, drop, swap, unsigned)| {
            let mut b: Vec<usize> = a
                .iter()
                .zip(&ones)
                .map(|(&d, &one)| if one { 1 } else { d })
                .collect();
            b.drain(..drop.min(b.len() - 1));
            let (a, b) = if swap { (b, a) } else { (a, b) };
            let range = if unsigned { UINT8 } else { INT8 };
            (
                ints(a, range),
                ints(b, range),
                qparams(range, 1, false),
                qparams(range, 1, false),
            )
                .prop_map(|(a, b, pa, pb)| {
                    (
                        Q {
                            shape: a.0,
                            q: a.1,
                            params: pa,
                        },
                        Q {
                            shape: b.0,
                            q: b.1,
                            params: pb,
                        },
                    )
                })
        })
}

/// `f(a[i], b[j])` over numpy's broadcast of the two shapes, by index
/// arithmetic.
fn broadcast(a: &Q, b: &Q, f: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    let r = a.shape.len().max(b.shape.len());
    let pad = |s: &[usize]| {
        let mut p = vec![1; r - s.len()];
        p.extend_from_slice(s);
        p
    };
    let (sa, sb) = (pad(&a.shape), pad(&b.shape));
    let out: Vec<usize> = sa.iter().zip(&sb).map(|(&x, &y)| x.max(y)).collect();
    let total: usize = out.iter().product();
    let index = |shape: &[usize], at: &[usize]| {
        at.iter()
            .zip(shape)
            .fold(0, |i, (&k, &d)| i * d + if d == 1 { 0 } else { k })
    };
    let mut values = Vec::with_capacity(total);
    for flat in 0..total {
        let mut at = vec![0; r];
        let mut rest = flat;
        for d in (0..r).rev() {
            at[d] = rest % out[d];
            rest /= out[d];
        }
        values.push(f(a.q[index(&sa, &at)], b.q[index(&sb, &at)]));
    }
    values
}

fn fc_reference(x: &Q, w: &Q, b: Option<&Q>, out: &Params, act: Act) -> Vec<i64> {
    let (rows, k, n) = (x.shape[0], x.shape[1], w.shape[0]);
    let zx = x.params.first().1;
    // A per-tensor kernel: channel 0's parameters for every channel.
    let first = params(
        vec![w.params.scale[0]],
        vec![w.params.zero_point[0]],
        0,
        (w.params.qmin, w.params.qmax),
    );
    let m = weighted_multiplier(&x.params, &first, out, 0);
    let mut values = Vec::new();
    for r in 0..rows {
        for o in 0..n {
            let mut acc = b.map_or(0, |b| b.q[o]);
            for i in 0..k {
                acc += (x.q[r * k + i] - zx) * weight_level(&w.params, w.q[o * k + i], o, true);
            }
            values.push(requantize(acc, m, out, act));
        }
    }
    values
}

/// ADD and SUB: both operands shifted left by 20 bits and rescaled to
/// twice the larger scale, summed, rescaled to the output.
fn add_reference(a: &Q, b: &Q, out: &Params, act: Act, sub: bool) -> Vec<i64> {
    let ((s1, z1), (s2, z2), (s_out, z_out)) = (a.params.first(), b.params.first(), out.first());
    let norm = f64::from(2.0 * s1.max(s2));
    let m1 = Multiplier::new(f64::from(s1) / norm);
    let mut m2 = Multiplier::new(f64::from(s2) / norm);
    if sub {
        m2.significand = -m2.significand;
    }
    let m_out = Multiplier::new(norm / f64::from(s_out * (1 << 20) as f32));
    let (lo, hi) = clamp_range(act, out);
    broadcast(a, b, |q1, q2| {
        let x = m1.apply(((q1 - z1) as i32) << 20);
        let y = m2.apply(((q2 - z2) as i32) << 20);
        (i64::from(m_out.apply(x + y)) + z_out).clamp(lo, hi)
    })
}

fn mul_reference(a: &Q, b: &Q, out: &Params, act: Act) -> Vec<i64> {
    let ((s1, z1), (s2, z2), (s_out, z_out)) = (a.params.first(), b.params.first(), out.first());
    let m = Multiplier::new(f64::from(s1 * s2 / s_out));
    let (lo, hi) = clamp_range(act, out);
    broadcast(a, b, |q1, q2| {
        (i64::from(m.apply(((q1 - z1) * (q2 - z2)) as i32)) + z_out).clamp(lo, hi)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fully_connected_is_the_integer_reference(
        (x, w, b, act) in fc_case(),
        spread in spread(),
        zero in 0.0f64..1.0,
        constant in any::<bool>(),
    ) {
        let range = (x.params.qmin, x.params.qmax);
        let k = x.shape[1] as i64;
        let max_acc = k * 255 * 128 / 4;
        let z = range.0 + ((range.1 - range.0) as f64 * zero) as i64;
        let out = params(vec![output_scale(max_acc, x.params.scale[0], w.params.scale[0], spread)], vec![z], 0, range);
        let options = O::FullyConnectedOptions(opts!(FullyConnectedOptionsT {
            fused_activation_function: act,
        }));
        let inputs = [Some(x.clone()), Some(w.clone()), b.clone()];
        let got = run(Op::FULLY_CONNECTED, options, &inputs, &out, &[false, constant, constant]);
        prop_assert_eq!(got.unwrap(), fc_reference(&x, &w, b.as_ref(), &out, act));
    }

    #[test]
    fn add_and_sub_are_the_integer_reference(
        (a, b) in binary_case(),
        (spread, zero, act, sub) in (spread(), 0.0f64..1.0, activation(), any::<bool>()),
        constant in any::<bool>(),
    ) {
        let range = (a.params.qmin, a.params.qmax);
        let s_out = (a.params.scale[0] + b.params.scale[0]) * 255.0 / spread.min(255.0);
        let z = range.0 + ((range.1 - range.0) as f64 * zero) as i64;
        let out = params(vec![s_out], vec![z], 0, range);
        let (op, options) = if sub {
            (Op::SUB, O::SubOptions(opts!(SubOptionsT { fused_activation_function: act })))
        } else {
            (Op::ADD, O::AddOptions(opts!(AddOptionsT { fused_activation_function: act })))
        };
        let got = run(op, options, &[Some(a.clone()), Some(b.clone())], &out, &[false, constant]);
        prop_assert_eq!(got.unwrap(), add_reference(&a, &b, &out, act, sub));
    }

    #[test]
    fn mul_is_the_integer_reference(
        (a, b) in binary_case(),
        (spread, zero, act) in (spread(), 0.0f64..1.0, activation()),
        constant in any::<bool>(),
    ) {
        let range = (a.params.qmin, a.params.qmax);
        let s_out = a.params.scale[0] * b.params.scale[0] * 65025.0 / spread;
        let z = range.0 + ((range.1 - range.0) as f64 * zero) as i64;
        let out = params(vec![s_out], vec![z], 0, range);
        let options = O::MulOptions(opts!(MulOptionsT { fused_activation_function: act }));
        let got = run(Op::MUL, options, &[Some(a.clone()), Some(b.clone())], &out, &[false, constant]);
        prop_assert_eq!(got.unwrap(), mul_reference(&a, &b, &out, act));
    }
}
