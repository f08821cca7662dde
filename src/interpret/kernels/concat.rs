//! CONCATENATION along an axis (negative counts from the end), with a
//! fused activation on floats.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{axis_index, Inputs, OpContext, OutSpec};

pub(crate) fn plan(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
) -> Result<(usize, Vec<usize>), KernelError> {
    let o = ctx
        .options
        .as_concatenation_options()
        .ok_or_else(|| ctx.missing_options())?;
    let first = inputs.get(0)?;
    let axis = axis_index(i64::from(o.axis), first.shape.len())?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for i in 0..inputs.len() {
        let t = inputs.get(i)?;
        let same = t.kind() == first.kind()
            && t.shape.len() == shape.len()
            && t.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return Err(KernelError::Invalid(format!(
                "input {i} ({} of shape {:?}) does not concatenate with {} of shape {:?} along axis {axis}",
                t.kind(),
                t.shape,
                first.kind(),
                first.shape
            )));
        }
        shape[axis] =
            shape[axis]
                .checked_add(t.shape[axis])
                .ok_or_else(|| KernelError::Overflow {
                    shape: t.shape.clone(),
                })?;
    }
    Ok((axis, shape))
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (_, s) = plan(ctx, inputs)?;
    let kind = inputs.get(0)?.kind();
    if kind == super::super::value::Kind::F32 {
        activation::check(ctx.activation)?;
    }
    Ok(vec![OutSpec::new(s, kind)?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (axis, shape) = plan(ctx, inputs)?;
    let parts: Vec<&Tensor> = (0..inputs.len())
        .map(|i| inputs.get(i))
        .collect::<Result<_, _>>()?;
    macro_rules! join {
        ($variant:ident) => {{
            let mut slices = Vec::with_capacity(parts.len());
            for p in &parts {
                let Data::$variant(v) = &p.data else {
                    return Err(KernelError::Invalid("inputs of different kinds".into()));
                };
                slices.push((v.as_slice(), p.shape[axis]));
            }
            Data::$variant(join(&slices, axis, &shape))
        }};
    }
    let mut data = match specs[0].kind {
        super::super::value::Kind::F32 => join!(F32),
        super::super::value::Kind::I32 => join!(I32),
        super::super::value::Kind::I64 => join!(I64),
        super::super::value::Kind::Bool => join!(Bool),
    };
    if let Data::F32(v) = &mut data {
        activation::apply(ctx.activation, v)?;
    }
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data,
    }])
}

/// The concatenation of `parts` (each its elements and its size along
/// `axis`) into `shape`.
pub(crate) fn join<T: Copy>(parts: &[(&[T], usize)], axis: usize, shape: &[usize]) -> Vec<T> {
    let total: usize = shape.iter().product();
    // An empty output has nothing to copy, however many outer rows it has.
    let outer: usize = if total == 0 {
        0
    } else {
        shape[..axis].iter().product()
    };
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for &(v, d) in parts {
            let n = d * inner;
            out.extend_from_slice(&v[o * n..(o + 1) * n]);
        }
    }
    out
}
