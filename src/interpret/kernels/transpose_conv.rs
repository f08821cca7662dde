//! TRANSPOSE_CONV: inputs (output shape, OHWI filter, NHWC input, optional
//! bias as tico writes it). Each input pixel's contribution to every tap
//! is one sgemm (input rows times the filter laid out as [IC, taps x OC]);
//! the contributions are then scattered onto the output (col2im), in row
//! blocks so the scratch stays small.

use super::super::error::KernelError;
use super::super::gemm::{gemm, Mat};
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{dim, Inputs, OpContext, OutSpec};
use super::conv::check_bias;
use super::padding::{window, Window};

/// Elements of contribution matrix computed at a time (4 MiB).
const COLUMN_BLOCK: usize = 1 << 20;

struct Geometry {
    batch: usize,
    in_h: usize,
    in_w: usize,
    in_c: usize,
    k_h: usize,
    k_w: usize,
    out_c: usize,
    h: Window,
    w: Window,
    out_h: usize,
    out_w: usize,
    stride: (usize, usize),
}

fn geometry(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Geometry, KernelError> {
    let o = ctx
        .options
        .as_transpose_conv_options()
        .ok_or_else(|| ctx.missing_options())?;
    let shape = inputs.ints(0)?;
    let f = &inputs.get(1)?.shape;
    let x = &inputs.get(2)?.shape;
    if shape.len() != 4 || f.len() != 4 || x.len() != 4 || f[3] != x[3] {
        return Err(KernelError::Invalid(format!(
            "expected an output shape of 4 values, an OHWI filter and an NHWC input with as many channels, found {shape:?}, {f:?} and {x:?}"
        )));
    }
    let out: Vec<usize> = shape
        .iter()
        .map(|&d| dim(d, "an output dimension"))
        .collect::<Result<_, _>>()?;
    if out[0] != x[0] || out[3] != f[0] {
        return Err(KernelError::Invalid(format!(
            "output shape {out:?} does not match a batch of {} and {} filters",
            x[0], f[0]
        )));
    }
    check_bias(inputs.opt(3), f[0])?;
    // TFLite pads as the forward convolution of the output would.
    let h = window(o.padding, out[1], f[1], o.stride_h, 1)?;
    let w = window(o.padding, out[2], f[2], o.stride_w, 1)?;
    Ok(Geometry {
        batch: x[0],
        in_h: x[1],
        in_w: x[2],
        in_c: x[3],
        k_h: f[1],
        k_w: f[2],
        out_c: f[0],
        h,
        w,
        out_h: out[1],
        out_w: out[2],
        stride: (o.stride_h as usize, o.stride_w as usize),
    })
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let g = geometry(ctx, inputs)?;
    Ok(vec![OutSpec::f32(vec![
        g.batch, g.out_h, g.out_w, g.out_c,
    ])?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let g = geometry(ctx, inputs)?;
    let (_, f) = inputs.f32(1)?;
    let (_, x) = inputs.f32(2)?;
    let taps = g.k_h * g.k_w;
    let j = taps * g.out_c;
    // The filter as [IC, tap, OC], so that a row of the product holds one
    // input pixel's contribution to each tap, output channels contiguous.
    let mut wt = vec![0.0; g.in_c * j];
    for oc in 0..g.out_c {
        for t in 0..taps {
            for ic in 0..g.in_c {
                wt[ic * j + t * g.out_c + oc] = f[(oc * taps + t) * g.in_c + ic];
            }
        }
    }
    let mut out = vec![0.0; specs[0].len()];
    let pixels = g.in_h * g.in_w;
    let block = (COLUMN_BLOCK / j.max(1)).clamp(1, pixels.max(1));
    let mut cols = vec![0.0; block * j];
    for n in 0..g.batch {
        let xs = &x[n * pixels * g.in_c..(n + 1) * pixels * g.in_c];
        let os = &mut out[n * g.out_h * g.out_w * g.out_c..(n + 1) * g.out_h * g.out_w * g.out_c];
        let mut start = 0;
        while start < pixels {
            let rows = block.min(pixels - start);
            let a = Mat::rows(&xs[start * g.in_c..(start + rows) * g.in_c], rows, g.in_c);
            gemm(a, Mat::rows(&wt, g.in_c, j), 0.0, &mut cols[..rows * j], j);
            scatter(&g, start, rows, &cols, os);
            start += rows;
        }
    }
    if let Some(b) = inputs.opt(3) {
        let b = b
            .as_f32()
            .ok_or_else(|| KernelError::Unsupported("the bias must hold float32 values".into()))?;
        for px in out.chunks_exact_mut(g.out_c.max(1)) {
            px.iter_mut().zip(b).for_each(|(o, &b)| *o += b);
        }
    }
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}

/// Adds the contributions of input pixels `start..start + rows` to the
/// output pixels their taps land on.
fn scatter(g: &Geometry, start: usize, rows: usize, cols: &[f32], out: &mut [f32]) {
    let j = g.k_h * g.k_w * g.out_c;
    for r in 0..rows {
        let (iy, ix) = ((start + r) / g.in_w, (start + r) % g.in_w);
        for ky in 0..g.k_h {
            let Some(oy) = (iy * g.stride.0 + ky).checked_sub(g.h.pad) else {
                continue;
            };
            if oy >= g.out_h {
                continue;
            }
            for kx in 0..g.k_w {
                let Some(ox) = (ix * g.stride.1 + kx).checked_sub(g.w.pad) else {
                    continue;
                };
                if ox >= g.out_w {
                    continue;
                }
                let src = &cols[r * j + (ky * g.k_w + kx) * g.out_c..][..g.out_c];
                let dst = &mut out[(oy * g.out_w + ox) * g.out_c..][..g.out_c];
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
            }
        }
    }
}
