//! DEPTHWISE_CONV_2D: NHWC input, 1HWC filter with `multiplier` output
//! channels per input channel (output channel `c * multiplier + m` reads
//! input channel `c`). Computed directly, one output pixel at a time, the
//! inner loops running over contiguous channels.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{Inputs, OpContext, OutSpec};
use super::conv::{check_bias, prefilled, Geometry};
use super::padding::window;

pub(crate) fn geometry(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
) -> Result<(Geometry, usize), KernelError> {
    let o = ctx
        .options
        .as_depthwise_conv_2_doptions()
        .ok_or_else(|| ctx.missing_options())?;
    let x = &inputs.get(0)?.shape;
    let f = &inputs.get(1)?.shape;
    if x.len() != 4 || f.len() != 4 || f[0] != 1 {
        return Err(KernelError::Invalid(format!(
            "expected an input of rank 4 and a filter of shape [1, KH, KW, C], found {x:?} and {f:?}"
        )));
    }
    let (in_c, out_c) = (x[3], f[3]);
    if in_c == 0 || out_c % in_c != 0 {
        return Err(KernelError::Invalid(format!(
            "a filter of {out_c} channels is not a multiple of the input's {in_c} channels"
        )));
    }
    // Converters write 0 or a stale value in `depth_multiplier` at times;
    // TFLite derives the multiplier from the shapes, and so does this.
    let multiplier = out_c / in_c;
    check_bias(inputs.opt(2), out_c)?;
    let h = window(o.padding, x[1], f[1], o.stride_h, o.dilation_h_factor)?;
    let w = window(o.padding, x[2], f[2], o.stride_w, o.dilation_w_factor)?;
    let g = Geometry {
        batch: x[0],
        in_h: x[1],
        in_w: x[2],
        in_c,
        k_h: f[1],
        k_w: f[2],
        out_c,
        h,
        w,
        stride: (o.stride_h as usize, o.stride_w as usize),
        dilation: (o.dilation_h_factor as usize, o.dilation_w_factor as usize),
    };
    Ok((g, multiplier))
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let (g, _) = geometry(ctx, inputs)?;
    Ok(vec![OutSpec::f32(g.out_shape())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (g, mult) = geometry(ctx, inputs)?;
    let (_, x) = inputs.f32(0)?;
    let (_, f) = inputs.f32(1)?;
    let bias = match inputs.opt(2) {
        Some(_) => Some(inputs.f32(2)?.1),
        None => None,
    };
    let mut out = prefilled(specs[0].len(), bias, g.out_c);
    convolve(&g, mult, x, f, &mut out);
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}

/// A multiply-accumulate: in float32 for the float kernel, in int32
/// (wrapping, as a runtime's accumulators do) for the integer one.
pub(crate) trait Mac: Copy {
    fn mac(self, x: Self, w: Self) -> Self;
}

impl Mac for f32 {
    fn mac(self, x: f32, w: f32) -> f32 {
        self + x * w
    }
}

impl Mac for i32 {
    fn mac(self, x: i32, w: i32) -> i32 {
        self.wrapping_add(x.wrapping_mul(w))
    }
}

/// Adds the depthwise convolution of `x` with filter `f` to `out` (which
/// holds the bias, or zeros).
pub(crate) fn convolve<T: Mac>(g: &Geometry, mult: usize, x: &[T], f: &[T], out: &mut [T]) {
    for n in 0..g.batch {
        for oy in 0..g.h.out {
            for ox in 0..g.w.out {
                let at = ((n * g.h.out + oy) * g.w.out + ox) * g.out_c;
                let acc = &mut out[at..at + g.out_c];
                accumulate(g, mult, x, f, n, oy, ox, acc);
            }
        }
    }
}

/// Adds every tap of the window under output pixel (`oy`, `ox`) to `acc`.
#[allow(clippy::too_many_arguments)]
fn accumulate<T: Mac>(
    g: &Geometry,
    mult: usize,
    x: &[T],
    f: &[T],
    n: usize,
    oy: usize,
    ox: usize,
    acc: &mut [T],
) {
    for ky in 0..g.k_h {
        let Some(iy) = (oy * g.stride.0 + ky * g.dilation.0).checked_sub(g.h.pad) else {
            continue;
        };
        if iy >= g.in_h {
            continue;
        }
        for kx in 0..g.k_w {
            let Some(ix) = (ox * g.stride.1 + kx * g.dilation.1).checked_sub(g.w.pad) else {
                continue;
            };
            if ix >= g.in_w {
                continue;
            }
            let xa = ((n * g.in_h + iy) * g.in_w + ix) * g.in_c;
            let xs = &x[xa..xa + g.in_c];
            let fa = (ky * g.k_w + kx) * g.out_c;
            let fs = &f[fa..fa + g.out_c];
            if mult == 1 {
                for ((a, &xv), &w) in acc.iter_mut().zip(xs).zip(fs) {
                    *a = a.mac(xv, w);
                }
            } else {
                for ((a, w), &xv) in acc
                    .chunks_exact_mut(mult)
                    .zip(fs.chunks_exact(mult))
                    .zip(xs)
                {
                    for (a, &w) in a.iter_mut().zip(w) {
                        *a = a.mac(xv, w);
                    }
                }
            }
        }
    }
}
