//! Operators that change a shape and keep the elements: RESHAPE (new shape
//! from the second input or the options, one -1 inferred), SQUEEZE,
//! EXPAND_DIMS.

use super::super::error::KernelError;
use super::super::value::{element_count, Tensor};
use super::context::{axis_index, dim, Inputs, OpContext, OutSpec};
use crate::model::fb::BuiltinOperator as Op;

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let x = inputs.get(0)?;
    let s = if ctx.opcode.is(Op::RESHAPE) {
        reshape(ctx, inputs, x)?
    } else if ctx.opcode.is(Op::SQUEEZE) {
        squeeze(ctx, &x.shape)?
    } else if ctx.opcode.is(Op::EXPAND_DIMS) {
        expand(inputs, &x.shape)?
    } else {
        return Err(KernelError::Unsupported(format!(
            "{} does not reshape",
            ctx.opcode
        )));
    };
    Ok(vec![OutSpec::new(s, x.kind())?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: inputs.get(0)?.data.clone(),
    }])
}

fn reshape(ctx: &OpContext, inputs: &Inputs<'_>, x: &Tensor) -> Result<Vec<usize>, KernelError> {
    let from_input = match inputs.opt(1) {
        Some(t) if t.shape.len() == 1 => Some(inputs.ints(1)?),
        _ => None,
    };
    let wanted: Vec<i64> = match from_input {
        Some(s) => s,
        None => match ctx
            .options
            .as_reshape_options()
            .and_then(|o| o.new_shape.clone())
        {
            Some(s) => s.into_iter().map(i64::from).collect(),
            // Neither given: the declared output shape is all there is.
            None => ctx
                .outputs
                .first()
                .map(|d| d.shape.iter().map(|&v| i64::from(v)).collect())
                .unwrap_or_default(),
        },
    };
    infer(&wanted, x.len())
}

/// A shape with at most one -1, which takes what the others leave of
/// `count` elements.
pub fn infer(wanted: &[i64], count: usize) -> Result<Vec<usize>, KernelError> {
    let mut unknown = None;
    let mut known = 1usize;
    let mut out = Vec::with_capacity(wanted.len());
    for (i, &d) in wanted.iter().enumerate() {
        if d == -1 && unknown.is_none() {
            unknown = Some(i);
            out.push(1);
        } else {
            let d = dim(d, "a dimension of the new shape")?;
            known = known
                .checked_mul(d)
                .ok_or_else(|| KernelError::Overflow { shape: out.clone() })?;
            out.push(d);
        }
    }
    if let Some(i) = unknown {
        if known == 0 || !count.is_multiple_of(known) {
            return Err(KernelError::Invalid(format!(
                "{count} elements cannot take the shape {wanted:?}"
            )));
        }
        out[i] = count / known;
    }
    if element_count(&out) != Some(count) {
        return Err(KernelError::Invalid(format!(
            "{count} elements cannot take the shape {wanted:?}"
        )));
    }
    Ok(out)
}

fn squeeze(ctx: &OpContext, shape: &[usize]) -> Result<Vec<usize>, KernelError> {
    let dims = ctx
        .options
        .as_squeeze_options()
        .and_then(|o| o.squeeze_dims.clone())
        .unwrap_or_default();
    let mut drop = vec![false; shape.len()];
    if dims.is_empty() {
        drop = shape.iter().map(|&d| d == 1).collect();
    }
    for d in dims {
        let a = axis_index(i64::from(d), shape.len())?;
        if shape[a] != 1 {
            return Err(KernelError::Invalid(format!(
                "dimension {d} of shape {shape:?} is not 1 and cannot be squeezed"
            )));
        }
        drop[a] = true;
    }
    Ok(shape
        .iter()
        .zip(&drop)
        .filter(|(_, &x)| !x)
        .map(|(&d, _)| d)
        .collect())
}

fn expand(inputs: &Inputs<'_>, shape: &[usize]) -> Result<Vec<usize>, KernelError> {
    let axis = inputs.ints(1)?;
    let &[a] = &axis[..] else {
        return Err(KernelError::Invalid(format!(
            "the axis must be one value, found {axis:?}"
        )));
    };
    let at = axis_index(a, shape.len() + 1)?;
    let mut out = shape.to_vec();
    out.insert(at, 1);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_one_unknown_dimension() {
        assert_eq!(infer(&[-1, 4], 12).unwrap(), vec![3, 4]);
        assert_eq!(infer(&[2, 6], 12).unwrap(), vec![2, 6]);
        assert!(infer(&[-1, 5], 12).is_err());
        assert!(infer(&[-1, -1], 12).is_err());
        assert!(infer(&[-1, 0], 0).is_err());
        assert!(infer(&[i64::MAX, 4], 12).is_err());
    }
}
