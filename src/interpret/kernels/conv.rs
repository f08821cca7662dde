//! CONV_2D: NHWC input, OHWI filter (grouped when the filter has fewer
//! input channels than the input), optional bias, SAME/VALID padding with
//! strides and dilations. Computed as im2col + sgemm, in row blocks so the
//! patch matrix stays small; a 1x1 stride-1 convolution multiplies the
//! input directly.

use super::super::error::KernelError;
use super::super::gemm::{gemm, Mat};
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{Inputs, OpContext, OutSpec};
use super::padding::{window, Window};

/// Elements of patch matrix built at a time: 4 MiB, enough for long gemm
/// panels, small enough to stay in cache-friendly territory and never to
/// grow with the image.
const PATCH_BLOCK: usize = 1 << 20;

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub out_c: usize,
    pub h: Window,
    pub w: Window,
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
}

impl Geometry {
    pub fn out_shape(&self) -> Vec<usize> {
        vec![self.batch, self.h.out, self.w.out, self.out_c]
    }
}

fn rank4<'a>(t: &'a Tensor, what: &str) -> Result<&'a [usize], KernelError> {
    if t.shape.len() == 4 {
        Ok(&t.shape)
    } else {
        Err(KernelError::Invalid(format!(
            "the {what} must have rank 4, but has shape {:?}",
            t.shape
        )))
    }
}

/// Checks an optional bias against `channels` output channels.
pub(crate) fn check_bias(bias: Option<&Tensor>, channels: usize) -> Result<(), KernelError> {
    match bias {
        Some(b) if b.len() != channels => Err(KernelError::Invalid(format!(
            "the bias has {} values for {channels} output channels",
            b.len()
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn geometry(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Geometry, KernelError> {
    let o = ctx
        .options
        .as_conv_2_doptions()
        .ok_or_else(|| ctx.missing_options())?;
    let x = rank4(inputs.get(0)?, "input")?;
    let f = rank4(inputs.get(1)?, "filter")?;
    let (in_c, f_c) = (x[3], f[3]);
    // The input's channels split into groups of the filter's depth; each
    // group has as many filters.
    if f_c == 0 || in_c < f_c || !in_c.is_multiple_of(f_c) || !f[0].is_multiple_of(in_c / f_c) {
        return Err(KernelError::Invalid(format!(
            "a filter of shape {f:?} does not fit an input of {in_c} channels"
        )));
    }
    check_bias(inputs.opt(2), f[0])?;
    let h = window(o.padding, x[1], f[1], o.stride_h, o.dilation_h_factor)?;
    let w = window(o.padding, x[2], f[2], o.stride_w, o.dilation_w_factor)?;
    Ok(Geometry {
        batch: x[0],
        in_h: x[1],
        in_w: x[2],
        in_c,
        k_h: f[1],
        k_w: f[2],
        out_c: f[0],
        h,
        w,
        stride: (o.stride_h as usize, o.stride_w as usize),
        dilation: (o.dilation_h_factor as usize, o.dilation_w_factor as usize),
    })
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let g = geometry(ctx, inputs)?;
    Ok(vec![OutSpec::f32(g.out_shape())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let g = geometry(ctx, inputs)?;
    let (_, x) = inputs.f32(0)?;
    let (f_shape, f) = inputs.f32(1)?;
    let bias = match inputs.opt(2) {
        Some(_) => Some(inputs.f32(2)?.1),
        None => None,
    };
    let mut out = prefilled(specs[0].len(), bias, g.out_c);
    let groups = g.in_c / f_shape[3];
    let beta = if bias.is_some() { 1.0 } else { 0.0 };
    convolve(&g, groups, x, f, &mut out, &mut |a, b, c, ldc| {
        gemm(a, b, beta, c, ldc)
    });
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}

/// `len` floats holding the bias repeated per pixel, or zeros.
pub(crate) fn prefilled(len: usize, bias: Option<&[f32]>, channels: usize) -> Vec<f32> {
    match bias {
        Some(b) if channels > 0 => b.iter().copied().cycle().take(len).collect(),
        _ => vec![0.0; len],
    }
}

/// Adds the product of two matrices to a row-major output of the given
/// leading dimension.
pub(crate) type Product<'p, T> = dyn FnMut(Mat<'_>, Mat<'_>, &mut [T], usize) + 'p;

/// Adds `x (*) f` to `out` through im2col: `product(a, b, c, ldc)` must
/// add `a * b` to the `c` it is given (row-major, leading dimension
/// `ldc`); float32 for the float kernel, int32 for the integer one.
pub(crate) fn convolve<T>(
    g: &Geometry,
    groups: usize,
    x: &[f32],
    f: &[f32],
    out: &mut [T],
    product: &mut Product<'_, T>,
) {
    let gc = g.in_c / groups;
    let goc = g.out_c / groups;
    let k = g.k_h * g.k_w * gc;
    let pixels = g.h.out * g.w.out;
    let direct = groups == 1
        && g.k_h == 1
        && g.k_w == 1
        && g.stride == (1, 1)
        && g.h.pad == 0
        && g.w.pad == 0;
    let block = (PATCH_BLOCK / k.max(1)).clamp(1, pixels.max(1));
    let mut patches = if direct {
        Vec::new()
    } else {
        vec![0.0; block * k]
    };
    for n in 0..g.batch {
        let xs = &x[n * g.in_h * g.in_w * g.in_c..(n + 1) * g.in_h * g.in_w * g.in_c];
        let os = &mut out[n * pixels * g.out_c..(n + 1) * pixels * g.out_c];
        for grp in 0..groups {
            let w = Mat::rows(&f[grp * goc * k..(grp + 1) * goc * k], goc, k).t();
            if direct {
                product(Mat::rows(xs, pixels, k), w, &mut os[grp * goc..], g.out_c);
                continue;
            }
            let mut start = 0;
            while start < pixels {
                let rows = block.min(pixels - start);
                im2col(g, xs, grp * gc, gc, start, rows, &mut patches[..rows * k]);
                let c = &mut os[start * g.out_c + grp * goc..];
                product(Mat::rows(&patches[..rows * k], rows, k), w, c, g.out_c);
                start += rows;
            }
        }
    }
}

/// Fills `rows` rows of the patch matrix from output pixel `start` on:
/// each row is the window under that pixel (taps in KH, KW order, `gc`
/// channels from `c0` each), zero where it hangs over the padding.
fn im2col(
    g: &Geometry,
    x: &[f32],
    c0: usize,
    gc: usize,
    start: usize,
    rows: usize,
    patches: &mut [f32],
) {
    let k = g.k_h * g.k_w * gc;
    for r in 0..rows {
        let p = start + r;
        let (oy, ox) = (p / g.w.out, p % g.w.out);
        let row = &mut patches[r * k..(r + 1) * k];
        for ky in 0..g.k_h {
            let iy = (oy * g.stride.0 + ky * g.dilation.0).checked_sub(g.h.pad);
            for kx in 0..g.k_w {
                let ix = (ox * g.stride.1 + kx * g.dilation.1).checked_sub(g.w.pad);
                let dst = &mut row[(ky * g.k_w + kx) * gc..(ky * g.k_w + kx + 1) * gc];
                match (iy, ix) {
                    (Some(iy), Some(ix)) if iy < g.in_h && ix < g.in_w => {
                        let at = (iy * g.in_w + ix) * g.in_c + c0;
                        dst.copy_from_slice(&x[at..at + gc]);
                    }
                    _ => dst.fill(0.0),
                }
            }
        }
    }
}
