//! Every kernel against a plain reference written here with naive loops, on
//! random shapes, strides, paddings, dilations, axes and broadcasting.

// The references index by loop counters on purpose: plain loops are what
// makes them obviously right.
#![allow(clippy::needless_range_loop)]

use proptest::prelude::*;
use q_implant::graph::OpCode;
use q_implant::interpret::kernels::{kernel_for, Declared, Inputs, OpContext};
use q_implant::interpret::{Data, KernelError, Site, Tensor};
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

/// Float32 kernels against float64 references: agreement to this fraction
/// of the result's magnitude is rounding, not a different computation.
const TOLERANCE: f64 = 1e-4;

/// Runs a kernel: shape inference, then the computation, checking that
/// they agree.
fn run(
    op: Op,
    options: O,
    inputs: &[Option<Tensor>],
    out: &[TensorType],
) -> Result<Vec<Tensor>, KernelError> {
    run_code(OpCode::Builtin(op), options, inputs, out)
}

fn run_code(
    code: OpCode,
    options: O,
    inputs: &[Option<Tensor>],
    out: &[TensorType],
) -> Result<Vec<Tensor>, KernelError> {
    let outputs = out
        .iter()
        .enumerate()
        .map(|(i, &dtype)| Declared {
            name: format!("out{i}"),
            dtype,
            kind: q_implant::interpret::constants::kind_of(dtype, false),
            shape: Vec::new(),
        })
        .collect();
    let site = Site {
        opcode: code.to_string(),
        operator: 0,
        subgraph: 0,
    };
    let ctx = OpContext::new(site, code, options, outputs);
    let kernel = kernel_for(&ctx.opcode).expect("a kernel");
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
    let inputs = Inputs::new(&refs);
    let specs = (kernel.shape)(&ctx, &inputs)?;
    let outs = (kernel.eval)(&ctx, &inputs, &specs)?;
    assert_eq!(outs.len(), specs.len());
    for (o, s) in outs.iter().zip(&specs) {
        assert_eq!(
            (&o.shape, o.kind()),
            (&s.shape, s.kind),
            "shape inference and computation differ"
        );
        assert_eq!(o.len(), s.shape.iter().product::<usize>());
    }
    Ok(outs)
}

fn f32s(t: &Tensor) -> &[f32] {
    t.as_f32().expect("float data")
}

fn t(shape: &[usize], v: Vec<f32>) -> Option<Tensor> {
    Some(Tensor::f32(shape.to_vec(), v).expect("consistent tensor"))
}

fn ints(v: &[i32]) -> Option<Tensor> {
    Some(Tensor::new(vec![v.len()], Data::I32(v.to_vec())).unwrap())
}

/// Asserts `got` is `want` (float64) within the tolerance of its magnitude.
fn close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (f64::from(g) - w).abs() <= TOLERANCE * scale
            || (g.is_nan() && w.is_nan())
            || f64::from(g) == w;
        assert!(ok, "element {i}: got {g}, want {w}");
    }
}

fn values(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-2.0f32..2.0, n)
}

fn act(a: Act, x: f64) -> f64 {
    match a {
        Act::RELU => x.max(0.0),
        Act::RELU6 => x.clamp(0.0, 6.0),
        Act::RELU_N1_TO_1 => x.clamp(-1.0, 1.0),
        Act::TANH => x.tanh(),
        _ => x,
    }
}

fn activation() -> impl Strategy<Value = Act> {
    prop::sample::select(vec![
        Act::NONE,
        Act::RELU,
        Act::RELU6,
        Act::RELU_N1_TO_1,
        Act::TANH,
    ])
}

fn padding() -> impl Strategy<Value = Padding> {
    prop::sample::select(vec![Padding::SAME, Padding::VALID])
}

/// Output size and leading padding, from the TensorFlow documentation's
/// definitions: SAME gives ceil(in / stride) outputs, VALID the windows that
/// fit; SAME pads half the excess before (rounded down).
fn spatial(
    p: Padding,
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> Option<(usize, usize)> {
    let eff = (k - 1) * dil + 1;
    if p == Padding::SAME {
        let out = input.div_ceil(stride);
        let need = ((out - 1) * stride + eff).saturating_sub(input);
        Some((out, need / 2))
    } else if input >= eff {
        Some(((input - eff) / stride + 1, 0))
    } else {
        None
    }
}

// A convolution case: NHWC input, OHWI filter.
#[derive(Debug, Clone)]
struct ConvCase {
    n: usize,
    h: usize,
    w: usize,
    groups: usize,
    gc: usize,
    oc_per_group: usize,
    k: (usize, usize),
    stride: (usize, usize),
    dil: (usize, usize),
    pad: Padding,
    bias: bool,
    act: Act,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (
            1usize..3,
            1usize..9,
            1usize..9,
            1usize..3,
            1usize..4,
            1usize..4,
        ),
        (
            1usize..4,
            1usize..4,
            1usize..3,
            1usize..3,
            1usize..3,
            1usize..3,
        ),
        (padding(), any::<bool>(), activation()),
    )
        .prop_map(
            |((n, h, w, groups, gc, ocg), (kh, kw, sh, sw, dh, dw), (pad, bias, act))| ConvCase {
                n,
                h,
                w,
                groups,
                gc,
                oc_per_group: ocg,
                k: (kh, kw),
                stride: (sh, sw),
                dil: (dh, dw),
                pad,
                bias,
                act,
            },
        )
}

fn conv_reference(c: &ConvCase, x: &[f32], f: &[f32], b: &[f32]) -> Option<(Vec<usize>, Vec<f64>)> {
    let (oh, pt) = spatial(c.pad, c.h, c.k.0, c.stride.0, c.dil.0)?;
    let (ow, pl) = spatial(c.pad, c.w, c.k.1, c.stride.1, c.dil.1)?;
    let ic = c.groups * c.gc;
    let oc = c.groups * c.oc_per_group;
    let mut out = Vec::new();
    for n in 0..c.n {
        for y in 0..oh {
            for xo in 0..ow {
                for o in 0..oc {
                    let g = o / c.oc_per_group;
                    let mut s = if c.bias { f64::from(b[o]) } else { 0.0 };
                    for ky in 0..c.k.0 {
                        for kx in 0..c.k.1 {
                            let iy = (y * c.stride.0 + ky * c.dil.0) as isize - pt as isize;
                            let ix = (xo * c.stride.1 + kx * c.dil.1) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= c.h as isize || ix >= c.w as isize {
                                continue;
                            }
                            for i in 0..c.gc {
                                let xv = x[((n * c.h + iy as usize) * c.w + ix as usize) * ic
                                    + g * c.gc
                                    + i];
                                let fv = f[((o * c.k.0 + ky) * c.k.1 + kx) * c.gc + i];
                                s += f64::from(xv) * f64::from(fv);
                            }
                        }
                    }
                    out.push(act(c.act, s));
                }
            }
        }
    }
    Some((vec![c.n, oh, ow, oc], out))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn conv_2d(c in conv_case(), seed in values(4096)) {
        let ic = c.groups * c.gc;
        let oc = c.groups * c.oc_per_group;
        let x: Vec<f32> = seed.iter().cycle().take(c.n * c.h * c.w * ic).copied().collect();
        let f: Vec<f32> = seed.iter().rev().cycle().take(oc * c.k.0 * c.k.1 * c.gc).copied().collect();
        let b: Vec<f32> = seed[..oc].to_vec();
        let options = O::Conv2DOptions(opts!(Conv2DOptionsT {
            padding: c.pad,
            stride_h: c.stride.0 as i32,
            stride_w: c.stride.1 as i32,
            dilation_h_factor: c.dil.0 as i32,
            dilation_w_factor: c.dil.1 as i32,
            fused_activation_function: c.act,
        }));
        let inputs = [
            t(&[c.n, c.h, c.w, ic], x.clone()),
            t(&[oc, c.k.0, c.k.1, c.gc], f.clone()),
            if c.bias { t(&[oc], b.clone()) } else { None },
        ];
        let got = run(Op::CONV_2D, options, &inputs, &[TensorType::FLOAT32]);
        match conv_reference(&c, &x, &f, &b) {
            None => prop_assert!(got.is_err()),
            Some((shape, want)) => {
                let got = got.unwrap();
                prop_assert_eq!(&got[0].shape, &shape);
                close(f32s(&got[0]), &want);
            }
        }
    }

    #[test]
    fn depthwise_conv_2d(
        (n, h, w, ic, mult) in (1usize..3, 1usize..9, 1usize..9, 1usize..5, 1usize..4),
        (kh, kw, sh, sw, dh, dw) in (1usize..4, 1usize..4, 1usize..3, 1usize..3, 1usize..3, 1usize..3),
        (pad, bias, a) in (padding(), any::<bool>(), activation()),
        seed in values(2048),
    ) {
        let oc = ic * mult;
        let x: Vec<f32> = seed.iter().cycle().take(n * h * w * ic).copied().collect();
        let f: Vec<f32> = seed.iter().rev().cycle().take(kh * kw * oc).copied().collect();
        let b: Vec<f32> = seed[..oc].to_vec();
        let options = O::DepthwiseConv2DOptions(opts!(DepthwiseConv2DOptionsT {
            padding: pad,
            stride_h: sh as i32,
            stride_w: sw as i32,
            dilation_h_factor: dh as i32,
            dilation_w_factor: dw as i32,
            depth_multiplier: mult as i32,
            fused_activation_function: a,
        }));
        let inputs = [t(&[n, h, w, ic], x.clone()), t(&[1, kh, kw, oc], f.clone()), if bias { t(&[oc], b.clone()) } else { None }];
        let got = run(Op::DEPTHWISE_CONV_2D, options, &inputs, &[TensorType::FLOAT32]);
        let (Some((oh, pt)), Some((ow, pl))) = (spatial(pad, h, kh, sh, dh), spatial(pad, w, kw, sw, dw)) else {
            prop_assert!(got.is_err());
            return Ok(());
        };
        let mut want = Vec::new();
        for b_ in 0..n {
            for y in 0..oh {
                for xo in 0..ow {
                    for o in 0..oc {
                        let mut s = if bias { f64::from(b[o]) } else { 0.0 };
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (y * sh + ky * dh) as isize - pt as isize;
                                let ix = (xo * sw + kx * dw) as isize - pl as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    let xv = x[((b_ * h + iy as usize) * w + ix as usize) * ic + o / mult];
                                    s += f64::from(xv) * f64::from(f[(ky * kw + kx) * oc + o]);
                                }
                            }
                        }
                        want.push(act(a, s));
                    }
                }
            }
        }
        let got = got.unwrap();
        prop_assert_eq!(&got[0].shape, &vec![n, oh, ow, oc]);
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn transpose_conv(
        (n, h, w, ic, oc) in (1usize..3, 1usize..6, 1usize..6, 1usize..4, 1usize..4),
        (kh, kw, sh, sw) in (1usize..4, 1usize..4, 1usize..4, 1usize..4),
        (pad, bias, extra) in (padding(), any::<bool>(), 0usize..2),
        seed in values(1024),
    ) {
        // The output size a forward convolution would shrink back to (h, w).
        let (oh, ow) = if pad == Padding::SAME {
            (h * sh, w * sw)
        } else {
            ((h - 1) * sh + kh + extra.min(sh - 1), (w - 1) * sw + kw + extra.min(sw - 1))
        };
        let x: Vec<f32> = seed.iter().cycle().take(n * h * w * ic).copied().collect();
        let f: Vec<f32> = seed.iter().rev().cycle().take(oc * kh * kw * ic).copied().collect();
        let b: Vec<f32> = seed[..oc].to_vec();
        let options = O::TransposeConvOptions(opts!(TransposeConvOptionsT {
            padding: pad,
            stride_h: sh as i32,
            stride_w: sw as i32,
        }));
        let inputs = [
            ints(&[n as i32, oh as i32, ow as i32, oc as i32]),
            t(&[oc, kh, kw, ic], f.clone()),
            t(&[n, h, w, ic], x.clone()),
            if bias { t(&[oc], b.clone()) } else { None },
        ];
        let got = run(Op::TRANSPOSE_CONV, options, &inputs, &[TensorType::FLOAT32]).unwrap();
        // Padding as for the forward convolution from the output's size.
        let pt = spatial(pad, oh, kh, sh, 1).unwrap().1;
        let pl = spatial(pad, ow, kw, sw, 1).unwrap().1;
        let mut want = vec![0.0f64; n * oh * ow * oc];
        for b_ in 0..n {
            for iy in 0..h {
                for ix in 0..w {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let y = (iy * sh + ky) as isize - pt as isize;
                            let xo = (ix * sw + kx) as isize - pl as isize;
                            if y < 0 || xo < 0 || y as usize >= oh || xo as usize >= ow {
                                continue;
                            }
                            for o in 0..oc {
                                for i in 0..ic {
                                    want[((b_ * oh + y as usize) * ow + xo as usize) * oc + o] += f64::from(x[((b_ * h + iy) * w + ix) * ic + i])
                                        * f64::from(f[((o * kh + ky) * kw + kx) * ic + i]);
                                }
                            }
                        }
                    }
                }
            }
        }
        if bias {
            for (i, v) in want.iter_mut().enumerate() {
                *v += f64::from(b[i % oc]);
            }
        }
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn fully_connected(
        (lead, k, nout) in (prop::collection::vec(1usize..4, 1..4), 1usize..9, 1usize..9),
        (keep, bias, a) in (any::<bool>(), any::<bool>(), activation()),
        seed in values(1024),
    ) {
        let mut xs = lead.clone();
        xs.push(k);
        let rows: usize = lead.iter().product();
        let x: Vec<f32> = seed.iter().cycle().take(rows * k).copied().collect();
        let w: Vec<f32> = seed.iter().rev().cycle().take(nout * k).copied().collect();
        let b: Vec<f32> = seed[..nout].to_vec();
        let options = O::FullyConnectedOptions(opts!(FullyConnectedOptionsT {
            keep_num_dims: keep,
            fused_activation_function: a,
        }));
        let inputs = [t(&xs, x.clone()), t(&[nout, k], w.clone()), if bias { t(&[nout], b.clone()) } else { None }];
        let got = run(Op::FULLY_CONNECTED, options, &inputs, &[TensorType::FLOAT32]).unwrap();
        let mut want = Vec::new();
        for r in 0..rows {
            for o in 0..nout {
                let s: f64 = (0..k).map(|i| f64::from(x[r * k + i]) * f64::from(w[o * k + i])).sum();
                want.push(act(a, s + if bias { f64::from(b[o]) } else { 0.0 }));
            }
        }
        let shape = if keep { let mut s = lead.clone(); s.push(nout); s } else { vec![rows, nout] };
        prop_assert_eq!(&got[0].shape, &shape);
        close(f32s(&got[0]), &want);
        // Without options: the defaults (no activation, rows flattened).
        if !keep && a == Act::NONE {
            let bare = run(Op::FULLY_CONNECTED, O::NONE, &inputs, &[TensorType::FLOAT32]).unwrap();
            prop_assert_eq!(&bare[0], &got[0]);
        }
    }

    #[test]
    fn batch_matmul(
        (ba, bb) in (prop::collection::vec(1usize..4, 0..3), prop::collection::vec(1usize..4, 0..3)),
        (m, k, n, adj_x, adj_y) in (1usize..5, 1usize..5, 1usize..5, any::<bool>(), any::<bool>()),
        ones in prop::collection::vec(any::<bool>(), 3),
        seed in values(1024),
    ) {
        // Make the batch shapes broadcastable: where both have a dimension,
        // one of them becomes 1 or they agree.
        let r = ba.len().max(bb.len());
        let mut ba = ba;
        let mut bb = bb;
        for i in 0..r {
            let (ia, ib) = ((i + ba.len()).checked_sub(r), (i + bb.len()).checked_sub(r));
            if let (Some(ia), Some(ib)) = (ia, ib) {
                if ones[i] { ba[ia] = 1 } else { bb[ib] = ba[ia] }
            }
        }
        let sa = [ba.clone(), if adj_x { vec![k, m] } else { vec![m, k] }].concat();
        let sb = [bb.clone(), if adj_y { vec![n, k] } else { vec![k, n] }].concat();
        let la: usize = sa.iter().product();
        let lb: usize = sb.iter().product();
        let a: Vec<f32> = seed.iter().cycle().take(la).copied().collect();
        let b: Vec<f32> = seed.iter().rev().cycle().take(lb).copied().collect();
        let options = O::BatchMatMulOptions(opts!(BatchMatMulOptionsT { adjoint_lhs: adj_x, adjoint_rhs: adj_y }));
        let got = run(Op::BATCH_MATMUL, options, &[t(&sa, a.clone()), t(&sb, b.clone())], &[TensorType::FLOAT32]).unwrap();
        // The broadcast batch shape, and each operand's batch index by
        // reducing the output's index modulo its own dimensions.
        let pa: Vec<usize> = [vec![1; r - ba.len()], ba.clone()].concat();
        let pb: Vec<usize> = [vec![1; r - bb.len()], bb.clone()].concat();
        let batch: Vec<usize> = pa.iter().zip(&pb).map(|(&x, &y)| x.max(y)).collect();
        let total: usize = batch.iter().product();
        let mut want = Vec::new();
        for bi in 0..total {
            let mut rem = bi;
            let mut idx = vec![0; r];
            for d in (0..r).rev() { idx[d] = rem % batch[d]; rem /= batch[d]; }
            let flat = |p: &[usize]| idx.iter().zip(p).fold(0, |acc, (&i, &d)| acc * d + i % d);
            let (oa, ob) = (flat(&pa) * m * k, flat(&pb) * k * n);
            for i in 0..m {
                for j in 0..n {
                    let s: f64 = (0..k).map(|q| {
                        let av = if adj_x { a[oa + q * m + i] } else { a[oa + i * k + q] };
                        let bv = if adj_y { b[ob + j * k + q] } else { b[ob + q * n + j] };
                        f64::from(av) * f64::from(bv)
                    }).sum();
                    want.push(s);
                }
            }
        }
        prop_assert_eq!(&got[0].shape, &[batch.clone(), vec![m, n]].concat());
        close(f32s(&got[0]), &want);
    }
}

/// Row-major index of `idx` in `shape`.
fn offset(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |a, (&i, &d)| a * d + i)
}

/// Every index of `shape`, in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = shape.iter().product();
    (0..total)
        .map(|mut f| {
            let mut idx = vec![0; shape.len()];
            for d in (0..shape.len()).rev() {
                idx[d] = f % shape[d];
                f /= shape[d];
            }
            idx
        })
        .collect()
}

/// Two shapes that broadcast: an output shape and, per operand, dimensions
/// replaced by 1 or dropped from the front.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        prop::collection::vec(1usize..4, 0..5),
        prop::collection::vec(0u8..3, 5),
        prop::collection::vec(0u8..3, 5),
        0usize..3,
        0usize..3,
    )
        .prop_map(|(out, ma, mb, da, db)| {
            let shrink = |m: &[u8], drop: usize| -> Vec<usize> {
                out.iter()
                    .enumerate()
                    .skip(drop.min(out.len()))
                    .map(|(i, &d)| if m[i] == 0 { 1 } else { d })
                    .collect()
            };
            (shrink(&ma, da), shrink(&mb, db))
        })
}

/// The value of operand `shape` at output index `idx` under broadcasting.
fn at_broadcast(v: &[f32], shape: &[usize], idx: &[usize]) -> f64 {
    let lead = idx.len() - shape.len();
    let own: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(d, &n)| if n == 1 { 0 } else { idx[lead + d] })
        .collect();
    f64::from(v[offset(&own, shape)])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn binary_broadcasting(
        (sa, sb) in broadcast_pair(),
        which in 0usize..8,
        a in activation(),
        seed in values(512),
    ) {
        let ops = [Op::ADD, Op::SUB, Op::MUL, Op::DIV, Op::MAXIMUM, Op::MINIMUM, Op::POW, Op::SQUARED_DIFFERENCE];
        let op = ops[which];
        let la: usize = sa.iter().product();
        let lb: usize = sb.iter().product();
        // POW gets a positive base; DIV a divisor away from zero.
        let x: Vec<f32> = seed.iter().cycle().take(la).map(|&v| if op == Op::POW { v.abs() + 0.1 } else { v }).collect();
        let y: Vec<f32> = seed.iter().rev().cycle().take(lb).map(|&v| if op == Op::DIV { v.signum() * (v.abs() + 0.5) } else { v }).collect();
        let options = match op {
            Op::ADD => O::AddOptions(opts!(AddOptionsT { fused_activation_function: a })),
            Op::SUB => O::SubOptions(opts!(SubOptionsT { fused_activation_function: a })),
            Op::MUL => O::MulOptions(opts!(MulOptionsT { fused_activation_function: a })),
            Op::DIV => O::DivOptions(opts!(DivOptionsT { fused_activation_function: a })),
            _ => O::NONE,
        };
        let fused = matches!(op, Op::ADD | Op::SUB | Op::MUL | Op::DIV);
        let got = run(op, options, &[t(&sa, x.clone()), t(&sb, y.clone())], &[TensorType::FLOAT32]).unwrap();
        let r = sa.len().max(sb.len());
        let pad = |s: &[usize]| [vec![1; r - s.len()], s.to_vec()].concat();
        let out: Vec<usize> = pad(&sa).iter().zip(pad(&sb)).map(|(&p, q)| p.max(q)).collect();
        prop_assert_eq!(&got[0].shape, &out);
        let want: Vec<f64> = indices(&out).iter().map(|idx| {
            let (p, q) = (at_broadcast(&x, &sa, idx), at_broadcast(&y, &sb, idx));
            let v = match op {
                Op::ADD => p + q, Op::SUB => p - q, Op::MUL => p * q, Op::DIV => p / q,
                Op::MAXIMUM => p.max(q), Op::MINIMUM => p.min(q), Op::POW => p.powf(q), _ => (p - q) * (p - q),
            };
            if fused { act(a, v) } else { v }
        }).collect();
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn binary_on_integers_and_add_v2(
        (sa, sb) in broadcast_pair(),
        seed in prop::collection::vec(-1000i64..1000, 256),
    ) {
        let la: usize = sa.iter().product();
        let lb: usize = sb.iter().product();
        let x: Vec<i64> = seed.iter().cycle().take(la).copied().collect();
        let y: Vec<i64> = seed.iter().rev().cycle().take(lb).copied().collect();
        let inputs = [Tensor::new(sa.clone(), Data::I64(x.clone())), Tensor::new(sb.clone(), Data::I64(y.clone()))];
        let got = run_code(OpCode::Custom("AddV2".into()), O::NONE, &inputs, &[TensorType::INT64]).unwrap();
        let r = sa.len().max(sb.len());
        let pad = |s: &[usize]| [vec![1; r - s.len()], s.to_vec()].concat();
        let out: Vec<usize> = pad(&sa).iter().zip(pad(&sb)).map(|(&p, q)| p.max(q)).collect();
        let get = |v: &[i64], s: &[usize], idx: &[usize]| {
            let lead = idx.len() - s.len();
            let own: Vec<usize> = s.iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { idx[lead + d] }).collect();
            v[offset(&own, s)]
        };
        let want: Vec<i64> = indices(&out).iter().map(|i| get(&x, &sa, i) + get(&y, &sb, i)).collect();
        prop_assert_eq!(&got[0].data, &Data::I64(want));
        let ints32 = [Tensor::new(vec![2], Data::I32(vec![7, -9])), Tensor::new(vec![], Data::I32(vec![2]))];
        let q = run(Op::DIV, O::NONE, &ints32, &[TensorType::INT32]).unwrap();
        prop_assert_eq!(&q[0].data, &Data::I32(vec![3, -4]));
    }

    #[test]
    fn reductions(
        shape in prop::collection::vec(1usize..5, 1..5),
        axes in prop::collection::vec(-5i32..5, 0..4),
        (keep, which) in (any::<bool>(), 0usize..3),
        seed in values(1024),
    ) {
        let r = shape.len() as i32;
        let axes: Vec<i32> = axes.into_iter().filter(|a| (-r..r).contains(a)).collect();
        let op = [Op::MEAN, Op::SUM, Op::REDUCE_MAX][which];
        let len: usize = shape.iter().product();
        let x: Vec<f32> = seed.iter().cycle().take(len).copied().collect();
        let options = O::ReducerOptions(opts!(ReducerOptionsT { keep_dims: keep }));
        let got = run(op, options, &[t(&shape, x.clone()), ints(&axes)], &[TensorType::FLOAT32]).unwrap();
        let reduced: Vec<bool> = (0..r).map(|d| axes.iter().any(|&a| (a + r) % r == d)).collect();
        let out: Vec<usize> = shape.iter().zip(&reduced).filter(|(_, &red)| keep || !red).map(|(&d, &red)| if red { 1 } else { d }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        // Group the input's elements by their output index.
        let kept_shape: Vec<usize> = shape.iter().zip(&reduced).map(|(&d, &red)| if red { 1 } else { d }).collect();
        let mut groups: Vec<Vec<f64>> = vec![Vec::new(); kept_shape.iter().product()];
        for idx in indices(&shape) {
            let k: Vec<usize> = idx.iter().zip(&reduced).map(|(&i, &red)| if red { 0 } else { i }).collect();
            groups[offset(&k, &kept_shape)].push(f64::from(x[offset(&idx, &shape)]));
        }
        let want: Vec<f64> = groups.iter().map(|g| match op {
            Op::MEAN => g.iter().sum::<f64>() / g.len() as f64,
            Op::SUM => g.iter().sum(),
            _ => g.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }).collect();
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn pooling(
        (n, h, w, c) in (1usize..3, 1usize..9, 1usize..9, 1usize..4),
        (fh, fw, sh, sw) in (1usize..4, 1usize..4, 1usize..3, 1usize..3),
        (pad, max, a) in (padding(), any::<bool>(), activation()),
        seed in values(1024),
    ) {
        let x: Vec<f32> = seed.iter().cycle().take(n * h * w * c).copied().collect();
        let options = O::Pool2DOptions(opts!(Pool2DOptionsT {
            padding: pad, stride_h: sh as i32, stride_w: sw as i32,
            filter_height: fh as i32, filter_width: fw as i32, fused_activation_function: a,
        }));
        let op = if max { Op::MAX_POOL_2D } else { Op::AVERAGE_POOL_2D };
        let got = run(op, options, &[t(&[n, h, w, c], x.clone())], &[TensorType::FLOAT32]);
        let (Some((oh, pt)), Some((ow, pl))) = (spatial(pad, h, fh, sh, 1), spatial(pad, w, fw, sw, 1)) else {
            prop_assert!(got.is_err());
            return Ok(());
        };
        let mut want = Vec::new();
        for b in 0..n { for y in 0..oh { for xo in 0..ow { for ch in 0..c {
            let mut cells = Vec::new();
            for ky in 0..fh { for kx in 0..fw {
                let iy = (y * sh + ky) as isize - pt as isize;
                let ix = (xo * sw + kx) as isize - pl as isize;
                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                    cells.push(f64::from(x[((b * h + iy as usize) * w + ix as usize) * c + ch]));
                }
            }}
            let v = if max { cells.iter().copied().fold(f64::NEG_INFINITY, f64::max) } else { cells.iter().sum::<f64>() / cells.len() as f64 };
            want.push(act(a, v));
        }}}}
        close(f32s(&got.unwrap()[0]), &want);
    }

    #[test]
    fn transpose(shape in prop::collection::vec(1usize..5, 0..5), perm_seed in prop::collection::vec(any::<u32>(), 5)) {
        let r = shape.len();
        let mut perm: Vec<usize> = (0..r).collect();
        perm.sort_by_key(|&i| perm_seed[i]);
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        let p32: Vec<i32> = perm.iter().map(|&p| p as i32).collect();
        let got = run(Op::TRANSPOSE, O::NONE, &[t(&shape, x.clone()), ints(&p32)], &[TensorType::FLOAT32]).unwrap();
        let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            let mut src = vec![0; r];
            for (i, &p) in perm.iter().enumerate() { src[p] = o[i]; }
            f64::from(x[offset(&src, &shape)])
        }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn concatenation(shape in prop::collection::vec(1usize..4, 1..5), sizes in prop::collection::vec(0usize..4, 1..4), axis_seed in any::<usize>(), neg in any::<bool>()) {
        let r = shape.len();
        let axis = axis_seed % r;
        let parts: Vec<Tensor> = sizes.iter().enumerate().map(|(k, &s)| {
            let mut sh = shape.clone();
            sh[axis] = s;
            let len: usize = sh.iter().product();
            Tensor::f32(sh, (0..len).map(|v| (k * 100 + v) as f32).collect()).unwrap()
        }).collect();
        let ax = if neg { axis as i32 - r as i32 } else { axis as i32 };
        let options = O::ConcatenationOptions(opts!(ConcatenationOptionsT { axis: ax }));
        let inputs: Vec<Option<Tensor>> = parts.iter().cloned().map(Some).collect();
        let got = run(Op::CONCATENATION, options, &inputs, &[TensorType::FLOAT32]).unwrap();
        let mut out = shape.clone();
        out[axis] = sizes.iter().sum();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            let mut k = 0;
            let mut i = o[axis];
            while i >= sizes[k] { i -= sizes[k]; k += 1; }
            let mut src = o.clone();
            src[axis] = i;
            f64::from(f32s(&parts[k])[offset(&src, &parts[k].shape)])
        }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn split_and_split_v(shape in prop::collection::vec(1usize..5, 1..4), axis_seed in any::<usize>(), n in 1usize..4, v in any::<bool>(), cut in any::<u32>()) {
        let r = shape.len();
        let axis = axis_seed % r;
        let mut shape = shape;
        shape[axis] *= n;
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        let (got, sizes) = if v {
            // Two parts: `first` and the rest, the rest given as -1.
            let first = cut as usize % (shape[axis] + 1);
            let sizes = vec![first, shape[axis] - first];
            let options = O::SplitVOptions(opts!(SplitVOptionsT { num_splits: 2 }));
            let got = run(Op::SPLIT_V, options, &[t(&shape, x.clone()), ints(&[first as i32, -1]), ints(&[axis as i32])], &[TensorType::FLOAT32; 2]);
            (got, sizes)
        } else {
            let options = O::SplitOptions(opts!(SplitOptionsT { num_splits: n as i32 }));
            let outs = vec![TensorType::FLOAT32; n];
            let got = run(Op::SPLIT, options, &[ints(&[axis as i32 - r as i32]), t(&shape, x.clone())], &outs);
            (got, vec![shape[axis] / n; n])
        };
        let got = got.unwrap();
        let mut start = 0;
        for (part, &s) in got.iter().zip(&sizes) {
            let mut sh = shape.clone();
            sh[axis] = s;
            let want: Vec<f64> = indices(&sh).iter().map(|o| {
                let mut src = o.clone();
                src[axis] += start;
                f64::from(x[offset(&src, &shape)])
            }).collect();
            prop_assert_eq!(&part.shape, &sh);
            close(f32s(part), &want);
            start += s;
        }
    }

    #[test]
    fn slice(shape in prop::collection::vec(1usize..6, 0..5), picks in prop::collection::vec((any::<u32>(), any::<u32>(), any::<bool>()), 5)) {
        let r = shape.len();
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        let mut begin = Vec::new();
        let mut size = Vec::new();
        for d in 0..r {
            let b = picks[d].0 as usize % shape[d];
            let s = picks[d].1 as usize % (shape[d] - b + 1);
            begin.push(b as i32);
            size.push(if picks[d].2 { -1 } else { s as i32 });
        }
        let got = run(Op::SLICE, O::NONE, &[t(&shape, x.clone()), ints(&begin), ints(&size)], &[TensorType::FLOAT32]).unwrap();
        let out: Vec<usize> = (0..r).map(|d| if size[d] == -1 { shape[d] - begin[d] as usize } else { size[d] as usize }).collect();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            let src: Vec<usize> = o.iter().zip(&begin).map(|(&i, &b)| i + b as usize).collect();
            f64::from(x[offset(&src, &shape)])
        }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        close(f32s(&got[0]), &want);
    }
}

/// Python's `slice(start, stop, step).indices(n)` followed by `range`, as
/// the language reference defines it; `None` for an omitted bound.
fn python_slice(start: Option<i64>, stop: Option<i64>, step: i64, n: i64) -> Vec<i64> {
    let (lower, upper) = if step < 0 { (-1, n - 1) } else { (0, n) };
    let bound = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(v) if v < 0 => (v + n).max(lower),
        Some(v) => v.min(upper),
    };
    let s = bound(start, if step < 0 { upper } else { lower });
    let e = bound(stop, if step < 0 { lower } else { upper });
    let mut out = Vec::new();
    let mut i = s;
    while (step > 0 && i < e) || (step < 0 && i > e) {
        out.push(i);
        i += step;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Per dimension a random begin, end, stride and mask; an optional
    /// ellipsis, new axis or shrink at a random entry.
    #[test]
    fn strided_slice(
        shape in prop::collection::vec(1usize..6, 1..5),
        dims in prop::collection::vec((-7i64..7, -7i64..7, prop::sample::select(vec![-3i64, -2, -1, 1, 2, 3]), any::<bool>(), any::<bool>()), 5),
        special in (0usize..4, any::<usize>()),
    ) {
        let r = shape.len();
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        let (kind, at) = (special.0, special.1 % r);
        let (mut begin, mut end, mut stride) = (Vec::new(), Vec::new(), Vec::new());
        let (mut bm, mut em, mut ell, mut new, mut shrink) = (0i32, 0i32, 0i32, 0i32, 0i32);
        // Entries: one per input dimension, except that the ellipsis stands
        // for the dimensions from `at` on, and a new axis is an extra entry.
        let entries = match kind { 1 => at + 1, 2 => r + 1, _ => r };
        // Each entry's expectation: a list of source indices for a kept
        // dimension, or a single index for a shrunk one.
        let mut expect: Vec<(Option<usize>, Vec<i64>, bool)> = Vec::new();
        let mut d = 0;
        for i in 0..entries {
            let (b, e, s, mb, me) = dims[i % 5];
            begin.push(b as i32); end.push(e as i32); stride.push(s as i32);
            if kind == 1 && i == at {
                ell |= 1 << i;
                for dd in d..r { expect.push((Some(dd), (0..shape[dd] as i64).collect(), false)); }
                d = r;
                continue;
            }
            if kind == 2 && i == at {
                new |= 1 << i;
                expect.push((None, vec![0], false));
                continue;
            }
            let n = shape[d] as i64;
            if kind == 3 && i == at {
                shrink |= 1 << i;
                let b = b.rem_euclid(n);
                begin[i] = b as i32;
                expect.push((Some(d), vec![b], true));
            } else {
                if mb { bm |= 1 << i; }
                if me { em |= 1 << i; }
                let idx = python_slice((!mb).then_some(b), (!me).then_some(e), s, n);
                expect.push((Some(d), idx, false));
            }
            d += 1;
        }
        for dd in d..r { expect.push((Some(dd), (0..shape[dd] as i64).collect(), false)); }
        let options = O::StridedSliceOptions(opts!(StridedSliceOptionsT {
            begin_mask: bm, end_mask: em, ellipsis_mask: ell, new_axis_mask: new, shrink_axis_mask: shrink,
        }));
        let got = run(Op::STRIDED_SLICE, options, &[t(&shape, x.clone()), ints(&begin), ints(&end), ints(&stride)], &[TensorType::FLOAT32]).unwrap();
        let out: Vec<usize> = expect.iter().filter(|e| !e.2).map(|e| e.1.len()).collect();
        prop_assert_eq!(&got[0].shape, &out);
        let kept: Vec<&(Option<usize>, Vec<i64>, bool)> = expect.iter().filter(|e| !e.2).collect();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            let mut src = vec![0usize; r];
            for e in expect.iter().filter(|e| e.2) { src[e.0.unwrap()] = e.1[0] as usize; }
            for (k, e) in kept.iter().enumerate() {
                if let Some(dd) = e.0 { src[dd] = e.1[o[k]] as usize; }
            }
            f64::from(x[offset(&src, &shape)])
        }).collect();
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn gather(
        shape in prop::collection::vec(1usize..4, 1..4),
        ishape in prop::collection::vec(1usize..4, 0..3),
        (axis_seed, bd_seed, wide) in (any::<usize>(), any::<usize>(), any::<bool>()),
        picks in prop::collection::vec(any::<u32>(), 64),
    ) {
        let r = shape.len();
        let axis = axis_seed % r;
        let bd = bd_seed % (axis.min(ishape.len()) + 1);
        // Indices share the first `bd` dimensions with params.
        let ishape: Vec<usize> = [shape[..bd].to_vec(), ishape[bd.min(ishape.len())..].to_vec()].concat();
        let ilen: usize = ishape.iter().product();
        let idx: Vec<i64> = (0..ilen).map(|i| i64::from(picks[i % 64]) % shape[axis] as i64).collect();
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        let it = if wide { Data::I64(idx.clone()) } else { Data::I32(idx.iter().map(|&v| v as i32).collect()) };
        let options = O::GatherOptions(opts!(GatherOptionsT { axis: axis as i32, batch_dims: bd as i32 }));
        let got = run(Op::GATHER, options, &[t(&shape, x.clone()), Tensor::new(ishape.clone(), it)], &[TensorType::FLOAT32]).unwrap();
        let out: Vec<usize> = [shape[..axis].to_vec(), ishape[bd..].to_vec(), shape[axis + 1..].to_vec()].concat();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            // o = params[:axis] ++ indices[bd:] ++ params[axis+1:]
            let k = ishape.len() - bd;
            let iidx: Vec<usize> = [o[..bd].to_vec(), o[axis..axis + k].to_vec()].concat();
            let mut src = o[..axis].to_vec();
            src.push(idx[offset(&iidx, &ishape)] as usize);
            src.extend_from_slice(&o[axis + k..]);
            f64::from(x[offset(&src, &shape)])
        }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn padding_family(
        shape in prop::collection::vec(1usize..5, 1..4),
        pads in prop::collection::vec((0usize..4, 0usize..4), 4),
        (which, fill) in (0usize..4, -3.0f32..3.0),
    ) {
        let r = shape.len();
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32 + 1.0).collect();
        // 0: PAD, 1: PADV2, 2: REFLECT, 3: SYMMETRIC; mirror pads are kept
        // within what the dimension allows.
        let pads: Vec<(usize, usize)> = (0..r).map(|d| {
            let limit = match which { 2 => shape[d] - 1, 3 => shape[d], _ => 3 };
            (pads[d].0.min(limit), pads[d].1.min(limit))
        }).collect();
        let flat: Vec<i32> = pads.iter().flat_map(|&(a, b)| [a as i32, b as i32]).collect();
        let p = Tensor::new(vec![r, 2], Data::I32(flat));
        let (op, options, extra) = match which {
            0 => (Op::PAD, O::NONE, None),
            1 => (Op::PADV2, O::NONE, t(&[], vec![fill])),
            m => (Op::MIRROR_PAD, O::MirrorPadOptions(opts!(MirrorPadOptionsT { mode: if m == 2 { fb::MirrorPadMode::REFLECT } else { fb::MirrorPadMode::SYMMETRIC } })), None),
        };
        let mut inputs = vec![t(&shape, x.clone()), p];
        if extra.is_some() { inputs.push(extra); }
        let got = run(op, options, &inputs, &[TensorType::FLOAT32]).unwrap();
        let out: Vec<usize> = shape.iter().zip(&pads).map(|(&d, &(a, b))| d + a + b).collect();
        let want: Vec<f64> = indices(&out).iter().map(|o| {
            let mut src = Vec::new();
            for d in 0..r {
                let i = o[d] as i64 - pads[d].0 as i64;
                let n = shape[d] as i64;
                let s = if (0..n).contains(&i) { Some(i) } else {
                    match which {
                        2 => Some(if i < 0 { -i } else { 2 * (n - 1) - i }),
                        3 => Some(if i < 0 { -i - 1 } else { 2 * n - 1 - i }),
                        _ => None,
                    }
                };
                src.push(s);
            }
            if src.iter().all(Option::is_some) {
                let s: Vec<usize> = src.iter().map(|v| v.unwrap() as usize).collect();
                f64::from(x[offset(&s, &shape)])
            } else if which == 1 { f64::from(fill) } else { 0.0 }
        }).collect();
        prop_assert_eq!(&got[0].shape, &out);
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn reshape_squeeze_expand(shape in prop::collection::vec(1usize..4, 0..5), hole in any::<usize>(), axis in -6i32..6, from_options in any::<bool>()) {
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|v| v as f32).collect();
        // RESHAPE to the reversed shape, with one dimension as -1.
        let mut want_shape: Vec<usize> = shape.iter().rev().copied().collect();
        let mut spec: Vec<i32> = want_shape.iter().map(|&d| d as i32).collect();
        if !spec.is_empty() { let h = hole % spec.len(); spec[h] = -1; }
        let (inputs, options) = if from_options {
            (vec![t(&shape, x.clone())], O::ReshapeOptions(opts!(ReshapeOptionsT { new_shape: Some(spec.clone()) })))
        } else {
            (vec![t(&shape, x.clone()), ints(&spec)], O::NONE)
        };
        let got = run(Op::RESHAPE, options, &inputs, &[TensorType::FLOAT32]).unwrap();
        prop_assert_eq!(&got[0].shape, &want_shape);
        prop_assert_eq!(f32s(&got[0]), &x[..]);
        // SQUEEZE of every 1.
        want_shape = shape.iter().copied().filter(|&d| d != 1).collect();
        let got = run(Op::SQUEEZE, O::SqueezeOptions(opts!(SqueezeOptionsT { squeeze_dims: None })), &[t(&shape, x.clone())], &[TensorType::FLOAT32]).unwrap();
        prop_assert_eq!(&got[0].shape, &want_shape);
        // EXPAND_DIMS at a possibly negative axis.
        let r = shape.len() as i32;
        let got = run(Op::EXPAND_DIMS, O::NONE, &[t(&shape, x.clone()), ints(&[axis])], &[TensorType::FLOAT32]);
        if (-r - 1..=r).contains(&axis) {
            let at = if axis < 0 { axis + r + 1 } else { axis } as usize;
            let mut s = shape.clone();
            s.insert(at, 1);
            prop_assert_eq!(&got.unwrap()[0].shape, &s);
        } else {
            prop_assert!(got.is_err());
        }
    }

    #[test]
    fn softmax_and_log_softmax(shape in prop::collection::vec(1usize..6, 1..4), beta in 0.1f32..3.0, log in any::<bool>(), seed in values(256)) {
        let len: usize = shape.iter().product();
        let x: Vec<f32> = seed.iter().cycle().take(len).map(|v| v * 5.0).collect();
        let (op, options) = if log { (Op::LOG_SOFTMAX, O::NONE) } else { (Op::SOFTMAX, O::SoftmaxOptions(opts!(SoftmaxOptionsT { beta: beta }))) };
        let got = run(op, options, &[t(&shape, x.clone())], &[TensorType::FLOAT32]).unwrap();
        let depth = *shape.last().unwrap();
        let mut want = Vec::new();
        for row in x.chunks(depth) {
            let b = if log { 1.0 } else { f64::from(beta) };
            let z: Vec<f64> = row.iter().map(|&v| f64::from(v) * b).collect();
            let sum: f64 = z.iter().map(|v| v.exp()).sum();
            want.extend(z.iter().map(|v| if log { v - sum.ln() } else { v.exp() / sum }));
        }
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn elementwise_functions(which in 0usize..16, seed in values(64), approximate in any::<bool>()) {
        let ops = [Op::LOGISTIC, Op::TANH, Op::RELU, Op::RELU6, Op::RELU_N1_TO_1, Op::LEAKY_RELU, Op::HARD_SWISH, Op::GELU,
            Op::ELU, Op::EXP, Op::LOG, Op::SQRT, Op::RSQRT, Op::SQUARE, Op::ABS, Op::NEG];
        let op = ops[which];
        let positive = matches!(op, Op::LOG | Op::SQRT | Op::RSQRT);
        let x: Vec<f32> = seed.iter().map(|&v| if positive { v.abs() + 0.01 } else { v * 4.0 }).collect();
        let options = match op {
            Op::LEAKY_RELU => O::LeakyReluOptions(opts!(LeakyReluOptionsT { alpha: 0.3 })),
            Op::GELU => O::GeluOptions(opts!(GeluOptionsT { approximate: approximate })),
            _ => O::NONE,
        };
        let got = run(op, options, &[t(&[x.len()], x.clone())], &[TensorType::FLOAT32]).unwrap();
        let want: Vec<f64> = x.iter().map(|&v| {
            let v = f64::from(v);
            match op {
                Op::LOGISTIC => 1.0 / (1.0 + (-v).exp()),
                Op::TANH => v.tanh(),
                Op::RELU => v.max(0.0),
                Op::RELU6 => v.clamp(0.0, 6.0),
                Op::RELU_N1_TO_1 => v.clamp(-1.0, 1.0),
                Op::LEAKY_RELU => if v > 0.0 { v } else { 0.3 * v },
                Op::HARD_SWISH => v * (v + 3.0).clamp(0.0, 6.0) / 6.0,
                // Phi by numerical integration of the normal density
                // (Simpson's rule), independent of any erf formula.
                Op::GELU if !approximate => v * normal_cdf(v),
                Op::GELU => 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh()),
                Op::ELU => if v > 0.0 { v } else { v.exp() - 1.0 },
                Op::EXP => v.exp(),
                Op::LOG => v.ln(),
                Op::SQRT => v.sqrt(),
                Op::RSQRT => 1.0 / v.sqrt(),
                Op::SQUARE => v * v,
                Op::ABS => v.abs(),
                _ => -v,
            }
        }).collect();
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn prelu((sa, sb) in broadcast_pair(), seed in values(256)) {
        // Alpha broadcasts to the input: use the broadcast shape for x.
        let r = sa.len().max(sb.len());
        let pad = |s: &[usize]| [vec![1; r - s.len()], s.to_vec()].concat();
        let xs: Vec<usize> = pad(&sa).iter().zip(pad(&sb)).map(|(&p, q)| p.max(q)).collect();
        let lx: usize = xs.iter().product();
        let la: usize = sb.iter().product();
        let x: Vec<f32> = seed.iter().cycle().take(lx).copied().collect();
        let a: Vec<f32> = seed.iter().rev().cycle().take(la).copied().collect();
        let got = run(Op::PRELU, O::NONE, &[t(&xs, x.clone()), t(&sb, a.clone())], &[TensorType::FLOAT32]).unwrap();
        let want: Vec<f64> = indices(&xs).iter().map(|i| {
            let v = at_broadcast(&x, &xs, i);
            if v >= 0.0 { v } else { v * at_broadcast(&a, &sb, i) }
        }).collect();
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn resize(
        (n, h, w, c) in (1usize..3, 1usize..6, 1usize..6, 1usize..3),
        (oh, ow) in (1usize..10, 1usize..10),
        (bilinear, align, half) in (any::<bool>(), any::<bool>(), any::<bool>()),
        seed in values(256),
    ) {
        // TFLite refuses align_corners together with half_pixel_centers.
        let half = half && !align;
        let x: Vec<f32> = seed.iter().cycle().take(n * h * w * c).copied().collect();
        let (op, options) = if bilinear {
            (Op::RESIZE_BILINEAR, O::ResizeBilinearOptions(opts!(ResizeBilinearOptionsT { align_corners: align, half_pixel_centers: half })))
        } else {
            (Op::RESIZE_NEAREST_NEIGHBOR, O::ResizeNearestNeighborOptions(opts!(ResizeNearestNeighborOptionsT { align_corners: align, half_pixel_centers: half })))
        };
        let got = run(op, options, &[t(&[n, h, w, c], x.clone()), ints(&[oh as i32, ow as i32])], &[TensorType::FLOAT32]).unwrap();
        // Source coordinate of output index i along a dimension, as the
        // TensorFlow resize documentation defines the three conventions.
        let src = |i: usize, input: usize, out: usize| -> f64 {
            let scale = if align && out > 1 { (input as f64 - 1.0) / (out as f64 - 1.0) } else { input as f64 / out as f64 };
            if half && bilinear { (i as f64 + 0.5) * scale - 0.5 } else if half { (i as f64 + 0.5) * scale } else { i as f64 * scale }
        };
        let px = |b: usize, y: usize, xi: usize, ch: usize| f64::from(x[((b * h + y) * w + xi) * c + ch]);
        let mut want = Vec::new();
        for b in 0..n { for y in 0..oh { for xo in 0..ow { for ch in 0..c {
            let (sy, sx) = (src(y, h, oh), src(xo, w, ow));
            if bilinear {
                let clamp = |v: f64, n: usize| v.max(0.0).min(n as f64 - 1.0);
                let (y0, x0) = (clamp(sy.floor(), h), clamp(sx.floor(), w));
                let (y1, x1) = (clamp(sy.ceil(), h), clamp(sx.ceil(), w));
                let (dy, dx) = (sy - y0, sx - x0);
                let (y0, y1, x0, x1) = (y0 as usize, y1 as usize, x0 as usize, x1 as usize);
                want.push(px(b, y0, x0, ch) * (1.0 - dy) * (1.0 - dx) + px(b, y1, x0, ch) * dy * (1.0 - dx)
                    + px(b, y0, x1, ch) * (1.0 - dy) * dx + px(b, y1, x1, ch) * dy * dx);
            } else {
                let pick = |v: f64, n: usize| (if align { v.round() } else { v.floor() }).clamp(0.0, n as f64 - 1.0) as usize;
                want.push(px(b, pick(sy, h), pick(sx, w), ch));
            }
        }}}}
        close(f32s(&got[0]), &want);
    }

    #[test]
    fn instance_norm((n, h, w, c) in (1usize..3, 1usize..5, 1usize..5, 1usize..4), scalar in any::<bool>(), a in activation(), seed in values(512)) {
        let x: Vec<f32> = seed.iter().cycle().take(n * h * w * c).copied().collect();
        let k = if scalar { 1 } else { c };
        let gamma: Vec<f32> = seed[..k].iter().map(|v| v + 1.5).collect();
        let beta: Vec<f32> = seed[k..2 * k].to_vec();
        let options = O::InstanceNormOptions(opts!(InstanceNormOptionsT { epsilon: 1e-3, fused_activation_function: a }));
        let got = run(Op::INSTANCE_NORM, options, &[t(&[n, h, w, c], x.clone()), t(&[k], gamma.clone()), t(&[k], beta.clone())], &[TensorType::FLOAT32]).unwrap();
        let mut want = vec![0.0; x.len()];
        for b in 0..n { for ch in 0..c {
            let cells: Vec<usize> = (0..h * w).map(|i| (b * h * w + i) * c + ch).collect();
            let mean = cells.iter().map(|&i| f64::from(x[i])).sum::<f64>() / cells.len() as f64;
            let var = cells.iter().map(|&i| (f64::from(x[i]) - mean).powi(2)).sum::<f64>() / cells.len() as f64;
            for &i in &cells {
                let g = f64::from(gamma[ch % k]);
                want[i] = act(a, (f64::from(x[i]) - mean) / (var + 1e-3).sqrt() * g + f64::from(beta[ch % k]));
            }
        }}
        close(f32s(&got[0]), &want);
    }
}

/// The standard normal distribution function by Simpson's rule on the
/// density from 0 (1,000 intervals: error far below float32's).
fn normal_cdf(x: f64) -> f64 {
    let n = 1000;
    let h = x / n as f64;
    let f = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let s: f64 = (0..=n)
        .map(|i| {
            let wgt = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            wgt * f(i as f64 * h)
        })
        .sum();
    0.5 + s * h / 3.0
}

#[test]
fn casts_between_types() {
    let x = Tensor::f32(vec![4], vec![-2.7, -0.2, 0.0, 3.9]);
    let got = run(
        Op::CAST,
        O::NONE,
        std::slice::from_ref(&x),
        &[TensorType::INT32],
    )
    .unwrap();
    assert_eq!(got[0].data, Data::I32(vec![-2, 0, 0, 3]));
    let got = run(
        Op::CAST,
        O::NONE,
        std::slice::from_ref(&x),
        &[TensorType::BOOL],
    )
    .unwrap();
    assert_eq!(got[0].data, Data::Bool(vec![true, true, false, true]));
    let big = Tensor::new(vec![2], Data::I64(vec![1 << 40, -5]));
    let got = run(Op::CAST, O::NONE, &[big], &[TensorType::FLOAT32]).unwrap();
    assert_eq!(got[0].data, Data::F32(vec![(1u64 << 40) as f32, -5.0]));
    let i = Tensor::new(vec![2], Data::I32(vec![300, -1]));
    let got = run(
        Op::CAST,
        O::NONE,
        std::slice::from_ref(&i),
        &[TensorType::INT64],
    )
    .unwrap();
    assert_eq!(got[0].data, Data::I64(vec![300, -1]));
    let got = run(Op::CAST, O::NONE, &[i], &[TensorType::UINT8]).unwrap();
    assert_eq!(got[0].data, Data::I32(vec![44, 255]));
}

#[test]
fn shape_fill_and_sparse_to_dense() {
    let x = Tensor::f32(vec![2, 3, 1], vec![0.0; 6]);
    let o = O::ShapeOptions(opts!(ShapeOptionsT {
        out_type: TensorType::INT64
    }));
    let got = run(Op::SHAPE, o, std::slice::from_ref(&x), &[TensorType::INT64]).unwrap();
    assert_eq!(got[0].data, Data::I64(vec![2, 3, 1]));
    let got = run(Op::SHAPE, O::NONE, &[x], &[TensorType::INT32]).unwrap();
    assert_eq!(got[0].data, Data::I32(vec![2, 3, 1]));

    let dims = Tensor::new(vec![2], Data::I64(vec![2, 2]));
    let got = run(
        Op::FILL,
        O::NONE,
        &[dims, Tensor::new(vec![], Data::I32(vec![7]))],
        &[TensorType::INT32],
    )
    .unwrap();
    assert_eq!(
        (got[0].shape.clone(), got[0].data.clone()),
        (vec![2, 2], Data::I32(vec![7; 4]))
    );

    let idx = Tensor::new(vec![2, 2], Data::I32(vec![0, 1, 2, 0]));
    let inputs = [
        idx,
        ints(&[3, 2]),
        t(&[2], vec![5.0, 6.0]),
        t(&[], vec![-1.0]),
    ];
    let got = run(
        Op::SPARSE_TO_DENSE,
        O::NONE,
        &inputs,
        &[TensorType::FLOAT32],
    )
    .unwrap();
    assert_eq!(
        got[0].data,
        Data::F32(vec![-1.0, 5.0, -1.0, -1.0, 6.0, -1.0])
    );
    let bad = [
        Tensor::new(vec![1, 2], Data::I32(vec![3, 0])),
        ints(&[3, 2]),
        t(&[], vec![5.0]),
        t(&[], vec![0.0]),
    ];
    assert!(matches!(
        run(Op::SPARSE_TO_DENSE, O::NONE, &bad, &[TensorType::FLOAT32]),
        Err(KernelError::Invalid(_))
    ));
}

#[test]
fn gather_on_integers_and_out_of_range_indices() {
    let params = Tensor::new(vec![3], Data::I64(vec![10, 20, 30]));
    let got = run(
        Op::GATHER,
        O::NONE,
        &[params.clone(), Tensor::new(vec![2], Data::I64(vec![2, 0]))],
        &[TensorType::INT64],
    )
    .unwrap();
    assert_eq!(got[0].data, Data::I64(vec![30, 10]));
    let bad = run(
        Op::GATHER,
        O::NONE,
        &[params, Tensor::new(vec![1], Data::I32(vec![3]))],
        &[TensorType::INT64],
    );
    assert!(matches!(bad, Err(KernelError::Values(m)) if m.contains("out of range")));
}

#[test]
fn quantize_and_dequantize_keep_real_values() {
    let x = t(&[3], vec![0.1, -0.25, 7.0]);
    for op in [Op::QUANTIZE, Op::DEQUANTIZE] {
        let got = run(
            op,
            O::NONE,
            std::slice::from_ref(&x),
            &[TensorType::FLOAT32],
        )
        .unwrap();
        assert_eq!(got[0].data, Data::F32(vec![0.1, -0.25, 7.0]));
    }
}

#[test]
fn hostile_shapes_are_refused_before_allocation() {
    // A FILL to 2^62 elements and a RESHAPE whose dimensions overflow.
    let dims = Tensor::new(vec![2], Data::I64(vec![1 << 31, 1 << 31]));
    let r = run(
        Op::FILL,
        O::NONE,
        &[dims, t(&[], vec![1.0])],
        &[TensorType::FLOAT32],
    );
    assert!(matches!(r, Err(KernelError::Overflow { .. })), "{r:?}");
    let r = run(
        Op::RESHAPE,
        O::NONE,
        &[
            t(&[2], vec![0.0; 2]),
            Some(Tensor::new(vec![2], Data::I64(vec![i64::MAX, 4])).unwrap()),
        ],
        &[TensorType::FLOAT32],
    );
    assert!(r.is_err());
    let r = run(
        Op::CONV_2D,
        O::NONE,
        &[t(&[1, 2, 2, 1], vec![0.0; 4]), t(&[1, 1, 1, 1], vec![1.0])],
        &[TensorType::FLOAT32],
    );
    assert!(matches!(r, Err(KernelError::Unsupported(m)) if m.contains("no options")));
}
