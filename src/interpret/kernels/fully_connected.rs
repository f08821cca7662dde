//! FULLY_CONNECTED: input rows of K values times an [N, K] weight, plus an
//! optional bias; the output is [rows, N], or keeps the input's leading
//! dimensions with `keep_num_dims`. With GGML weights (GGML_Q4_0,
//! GGML_Q8_0) the input is first rounded to Q8_0 blocks, as ggml's kernels
//! (and onert's, which are ggml's) do.

use super::super::error::KernelError;
use super::super::gemm::{gemm, Mat};
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{Inputs, OpContext, OutSpec};
use super::conv::{check_bias, prefilled};
use crate::model::fb::{self, FullyConnectedOptionsWeightsFormat as Format};
use crate::packed::round_to_q8_0;

/// Rows of the input, K and N: the product is [rows, K] x [K, N].
pub(crate) type Dims = (usize, usize, usize);

/// The product's dimensions and the output shape.
pub(crate) fn geometry(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
) -> Result<(Dims, Vec<usize>), KernelError> {
    // No options at all means the defaults, as in TFLite's reference:
    // no activation, the default weights format, rows flattened.
    let defaults;
    let o = match (&ctx.options, ctx.options.as_fully_connected_options()) {
        (_, Some(o)) => o,
        (fb::BuiltinOptionsT::NONE, None) => {
            defaults = fb::FullyConnectedOptionsT::default();
            &defaults
        }
        _ => return Err(ctx.missing_options()),
    };
    if o.weights_format != Format::DEFAULT {
        return Err(KernelError::Unsupported(format!(
            "weights format {} is not supported",
            o.weights_format.variant_name().unwrap_or("(unknown)")
        )));
    }
    let x = &inputs.get(0)?.shape;
    let w = &inputs.get(1)?.shape;
    if w.len() != 2 || w[1] == 0 {
        return Err(KernelError::Invalid(format!(
            "the weight must have shape [N, K] with K > 0, found {w:?}"
        )));
    }
    let (n, k) = (w[0], w[1]);
    let total: usize = x.iter().product();
    if !total.is_multiple_of(k) || x.last().is_some_and(|&d| o.keep_num_dims && d != k) {
        return Err(KernelError::Invalid(format!(
            "an input of shape {x:?} cannot be read as rows of {k} values"
        )));
    }
    check_bias(inputs.opt(2), n)?;
    let rows = total / k;
    let shape = if o.keep_num_dims {
        let mut s = x.clone();
        if let Some(l) = s.last_mut() {
            *l = n;
        }
        s
    } else {
        vec![rows, n]
    };
    Ok(((rows, k, n), shape))
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let (_, s) = geometry(ctx, inputs)?;
    Ok(vec![OutSpec::f32(s)?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let ((rows, k, n), _) = geometry(ctx, inputs)?;
    let (_, x) = inputs.f32(0)?;
    let (_, w) = inputs.f32(1)?;
    let ggml = matches!(
        ctx.input_type(1),
        Some(fb::TensorType::GGML_Q4_0 | fb::TensorType::GGML_Q8_0)
    );
    let rounded: Vec<f32>;
    let x = if ggml {
        let mut r = x.to_vec();
        r.chunks_mut(k).for_each(round_to_q8_0);
        rounded = r;
        &rounded[..]
    } else {
        x
    };
    let bias = match inputs.opt(2) {
        Some(_) => Some(inputs.f32(2)?.1),
        None => None,
    };
    let mut out = prefilled(rows * n, bias, n);
    let beta = if bias.is_some() { 1.0 } else { 0.0 };
    gemm(
        Mat::rows(x, rows, k),
        Mat::rows(w, n, k).t(),
        beta,
        &mut out,
        n,
    );
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}
