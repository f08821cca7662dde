//! AVERAGE_POOL_2D and MAX_POOL_2D over NHWC input. Cells in the padding
//! take no part: the average divides by the cells inside the input, as
//! TFLite does.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{Inputs, OpContext, OutSpec};
use super::padding::{window, Window};
use crate::model::fb::BuiltinOperator as Op;

pub(crate) struct Geometry {
    pub shape: [usize; 4],
    pub filter: (usize, usize),
    pub stride: (usize, usize),
    pub h: Window,
    pub w: Window,
}

pub(crate) fn geometry(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Geometry, KernelError> {
    let o = ctx
        .options
        .as_pool_2_doptions()
        .ok_or_else(|| ctx.missing_options())?;
    let x = &inputs.get(0)?.shape;
    let [n, ih, iw, c] = x[..] else {
        return Err(KernelError::Invalid(format!(
            "the input must have rank 4, but has shape {x:?}"
        )));
    };
    let fh = usize::try_from(o.filter_height).unwrap_or(0);
    let fw = usize::try_from(o.filter_width).unwrap_or(0);
    let h = window(o.padding, ih, fh, o.stride_h, 1)?;
    let w = window(o.padding, iw, fw, o.stride_w, 1)?;
    Ok(Geometry {
        shape: [n, ih, iw, c],
        filter: (fh, fw),
        stride: (o.stride_h as usize, o.stride_w as usize),
        h,
        w,
    })
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let g = geometry(ctx, inputs)?;
    Ok(vec![OutSpec::f32(vec![
        g.shape[0], g.h.out, g.w.out, g.shape[3],
    ])?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let g = geometry(ctx, inputs)?;
    let (_, x) = inputs.f32(0)?;
    let max = ctx.opcode.is(Op::MAX_POOL_2D);
    let c = g.shape[3];
    let mut out = vec![0.0; specs[0].len()];
    let mut acc = vec![0.0f32; c];
    windows(&g, |at, cells| {
        acc.fill(if max { f32::NEG_INFINITY } else { 0.0 });
        for &from in cells {
            let row = &x[from..from + c];
            if max {
                acc.iter_mut().zip(row).for_each(|(a, &v)| *a = a.max(v));
            } else {
                acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
        }
        let n = cells.len() as f32;
        let dst = &mut out[at..at + c];
        if max {
            dst.copy_from_slice(&acc);
        } else {
            dst.iter_mut().zip(&acc).for_each(|(d, &a)| *d = a / n);
        }
    });
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}

/// Calls `f(at, cells)` for each output pixel: `at` is the offset of its
/// channels in the output, `cells` the offsets of the input pixels under
/// its window (the padding left out).
pub(crate) fn windows(g: &Geometry, mut f: impl FnMut(usize, &[usize])) {
    let [n, ih, iw, c] = g.shape;
    let mut cells = Vec::with_capacity(g.filter.0 * g.filter.1);
    for b in 0..n {
        for oy in 0..g.h.out {
            let y0 = (oy * g.stride.0) as isize - g.h.pad as isize;
            let ys = y0.max(0) as usize..((y0 + g.filter.0 as isize).max(0) as usize).min(ih);
            for ox in 0..g.w.out {
                let x0 = (ox * g.stride.1) as isize - g.w.pad as isize;
                let xs = x0.max(0) as usize..((x0 + g.filter.1 as isize).max(0) as usize).min(iw);
                cells.clear();
                for iy in ys.clone() {
                    cells.extend(xs.clone().map(|ix| ((b * ih + iy) * iw + ix) * c));
                }
                f(((b * g.h.out + oy) * g.w.out + ox) * c, &cells);
            }
        }
    }
}
