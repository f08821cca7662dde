//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR of NHWC input to the
//! [height, width] of the second input, with align_corners and
//! half_pixel_centers as TFLite's reference kernels compute them.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::context::{dim, Inputs, OpContext, OutSpec};
use crate::model::fb::BuiltinOperator as Op;

fn size(inputs: &Inputs<'_>) -> Result<([usize; 4], (usize, usize)), KernelError> {
    let (s, _) = inputs.f32(0)?;
    let [n, h, w, c] = s[..] else {
        return Err(KernelError::Invalid(format!(
            "the input must have rank 4, but has shape {s:?}"
        )));
    };
    let hw = inputs.ints(1)?;
    let &[oh, ow] = &hw[..] else {
        return Err(KernelError::Invalid(format!(
            "the size must be [height, width], found {hw:?}"
        )));
    };
    Ok(([n, h, w, c], (dim(oh, "a height")?, dim(ow, "a width")?)))
}

fn flags(ctx: &OpContext) -> (bool, bool) {
    if ctx.opcode.is(Op::RESIZE_BILINEAR) {
        ctx.options
            .as_resize_bilinear_options()
            .map_or((false, false), |o| (o.align_corners, o.half_pixel_centers))
    } else {
        ctx.options
            .as_resize_nearest_neighbor_options()
            .map_or((false, false), |o| (o.align_corners, o.half_pixel_centers))
    }
}

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let ([n, _, _, c], (oh, ow)) = size(inputs)?;
    Ok(vec![OutSpec::f32(vec![n, oh, ow, c])?])
}

fn scale(input: usize, output: usize, align: bool) -> f32 {
    if align && output > 1 {
        (input as f32 - 1.0) / (output as f32 - 1.0)
    } else {
        input as f32 / output as f32
    }
}

/// Bilinear sampling positions: lower and upper source index and the
/// weight of the upper one.
fn linear(out: usize, input: usize, align: bool, half: bool) -> Vec<(usize, usize, f32)> {
    let s = scale(input, out, align);
    (0..out)
        .map(|i| {
            let v = if half {
                (i as f32 + 0.5) * s - 0.5
            } else {
                i as f32 * s
            };
            let lo = (v.floor() as i64).max(0) as usize;
            let hi = (v.ceil() as i64).clamp(0, input as i64 - 1) as usize;
            (lo.min(input - 1), hi, v - lo as f32)
        })
        .collect()
}

/// Nearest sampling positions.
fn nearest(out: usize, input: usize, align: bool, half: bool) -> Vec<usize> {
    let s = scale(input, out, align);
    let offset = if half { 0.5 } else { 0.0 };
    (0..out)
        .map(|i| {
            let v = (i as f32 + offset) * s;
            let at = if align { v.round() } else { v.floor() } as i64;
            at.clamp(0, input as i64 - 1) as usize
        })
        .collect()
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let ([n, h, w, c], (oh, ow)) = size(inputs)?;
    let (_, x) = inputs.f32(0)?;
    let (align, half) = flags(ctx);
    let mut out = Vec::with_capacity(specs[0].len());
    if specs[0].is_empty() || h == 0 || w == 0 {
        out.resize(specs[0].len(), 0.0);
    } else if ctx.opcode.is(Op::RESIZE_BILINEAR) {
        let (ys, xs) = (linear(oh, h, align, half), linear(ow, w, align, half));
        let px = |b: usize, y: usize, xi: usize| &x[((b * h + y) * w + xi) * c..][..c];
        for b in 0..n {
            for &(y0, y1, dy) in &ys {
                for &(x0, x1, dx) in &xs {
                    let (a, bb, cc, d) =
                        (px(b, y0, x0), px(b, y1, x0), px(b, y0, x1), px(b, y1, x1));
                    out.extend((0..c).map(|k| {
                        a[k] * (1.0 - dy) * (1.0 - dx)
                            + bb[k] * dy * (1.0 - dx)
                            + cc[k] * (1.0 - dy) * dx
                            + d[k] * dy * dx
                    }));
                }
            }
        }
    } else {
        let (ys, xs) = (nearest(oh, h, align, half), nearest(ow, w, align, half));
        for b in 0..n {
            for &y in &ys {
                for &xi in &xs {
                    out.extend_from_slice(&x[((b * h + y) * w + xi) * c..][..c]);
                }
            }
        }
    }
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}
