//! PAD (zeros), PADV2 (a given constant) and MIRROR_PAD (REFLECT leaves the
//! edge out, SYMMETRIC repeats it); paddings are [rank, 2] integers.

use super::super::error::KernelError;
use super::super::value::{map_data, Data, Tensor};
use super::context::{dim, Inputs, OpContext, OutSpec};
use crate::model::fb::{BuiltinOperator as Op, MirrorPadMode};

/// Per dimension, the source index of each output index (`None` = fill).
type Maps = Vec<Vec<Option<usize>>>;

fn paddings(inputs: &Inputs<'_>) -> Result<Vec<(usize, usize)>, KernelError> {
    let x = inputs.get(0)?;
    let p = inputs.ints(1)?;
    if p.len() != 2 * x.shape.len() {
        return Err(KernelError::Invalid(format!(
            "paddings {p:?} must be [rank, 2] for shape {:?}",
            x.shape
        )));
    }
    p.chunks(2)
        .map(|c| Ok((dim(c[0], "a padding")?, dim(c[1], "a padding")?)))
        .collect()
}

fn out_shape(x: &[usize], pads: &[(usize, usize)]) -> Result<Vec<usize>, KernelError> {
    x.iter()
        .zip(pads)
        .map(|(&d, &(a, b))| {
            d.checked_add(a)
                .and_then(|v| v.checked_add(b))
                .ok_or_else(|| KernelError::Overflow { shape: x.to_vec() })
        })
        .collect()
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let x = inputs.get(0)?;
    let pads = paddings(inputs)?;
    if ctx.opcode.is(Op::MIRROR_PAD) {
        let symmetric = mode(ctx)?;
        for (&d, &(a, b)) in x.shape.iter().zip(&pads) {
            let limit = if symmetric { d } else { d.saturating_sub(1) };
            if a > limit || b > limit {
                return Err(KernelError::Invalid(format!(
                    "mirror padding of {a} and {b} exceeds what a dimension of {d} allows"
                )));
            }
        }
    }
    Ok(vec![OutSpec::new(out_shape(&x.shape, &pads)?, x.kind())?])
}

/// Whether the mirror mode is SYMMETRIC.
fn mode(ctx: &OpContext) -> Result<bool, KernelError> {
    match ctx.options.as_mirror_pad_options().map(|o| o.mode) {
        Some(MirrorPadMode::REFLECT) => Ok(false),
        Some(MirrorPadMode::SYMMETRIC) => Ok(true),
        _ => Err(KernelError::Unsupported(
            "unknown mirror padding mode".into(),
        )),
    }
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let pads = paddings(inputs)?;
    let mirror = if ctx.opcode.is(Op::MIRROR_PAD) {
        Some(mode(ctx)?)
    } else {
        None
    };
    let shape = &specs[0].shape;
    if specs[0].is_empty() {
        return Ok(vec![Tensor {
            shape: shape.clone(),
            data: Data::zeros(x.kind(), 0),
        }]);
    }
    let maps: Maps = x
        .shape
        .iter()
        .zip(&pads)
        .zip(shape)
        .map(|((&d, &(before, _)), &n)| {
            (0..n)
                .map(|o| source(o as i64 - before as i64, d as i64, mirror))
                .collect()
        })
        .collect();
    let fill = match (inputs.opt(2), ctx.opcode.is(Op::PADV2)) {
        (Some(v), true) => Some(v),
        _ => None,
    };
    let data = match (&x.data, fill.map(|f| &f.data)) {
        (Data::F32(v), Some(Data::F32(f))) => Data::F32(pad(v, &x.shape, &maps, first(f)?)),
        (Data::I32(v), Some(Data::I32(f))) => Data::I32(pad(v, &x.shape, &maps, first(f)?)),
        (Data::I64(v), Some(Data::I64(f))) => Data::I64(pad(v, &x.shape, &maps, first(f)?)),
        (_, Some(f)) => {
            return Err(KernelError::Invalid(format!(
                "a {} fill value for {} values",
                f.kind(),
                x.kind()
            )))
        }
        (data, None) => map_data!(data, v => pad(v, &x.shape, &maps, Default::default())),
    };
    Ok(vec![Tensor {
        shape: shape.clone(),
        data,
    }])
}

fn first<T: Copy>(v: &[T]) -> Result<T, KernelError> {
    v.first()
        .copied()
        .ok_or_else(|| KernelError::Invalid("the fill value is empty".into()))
}

/// The source index for offset `i` from the start of a dimension of `d`.
fn source(i: i64, d: i64, mirror: Option<bool>) -> Option<usize> {
    if (0..d).contains(&i) {
        return Some(i as usize);
    }
    let symmetric = mirror?;
    let edge = if symmetric { 1 } else { 0 };
    let s = if i < 0 {
        -i - edge
    } else {
        2 * d - i - 2 + edge
    };
    (0..d).contains(&s).then_some(s as usize)
}

fn pad<T: Copy>(v: &[T], shape: &[usize], maps: &Maps, fill: T) -> Vec<T> {
    let out_shape: Vec<usize> = maps.iter().map(Vec::len).collect();
    let total: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let r = shape.len();
    if total == 0 || r == 0 {
        out.extend(v.first().copied().filter(|_| total > 0));
        return out;
    }
    let st = super::super::value::strides(shape);
    let last = &maps[r - 1];
    let mut idx = vec![0usize; r - 1];
    loop {
        // The source row under this output row, if it is not all padding.
        let base = (0..r - 1).try_fold(0usize, |a, d| maps[d][idx[d]].map(|s| a + s * st[d]));
        match base {
            None => out.extend(std::iter::repeat_n(fill, last.len())),
            Some(b) => out.extend(last.iter().map(|s| s.map_or(fill, |s| v[b + s]))),
        }
        let mut d = r - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_sources() {
        // [a b c]: REFLECT pads "c b | a b c | b a", SYMMETRIC "b a | a b c | c b".
        let reflect: Vec<_> = (-2..5).map(|i| source(i, 3, Some(false))).collect();
        assert_eq!(reflect, [2, 1, 0, 1, 2, 1, 0].map(Some));
        let symmetric: Vec<_> = (-2..5).map(|i| source(i, 3, Some(true))).collect();
        assert_eq!(symmetric, [1, 0, 0, 1, 2, 2, 1].map(Some));
        assert_eq!(source(-1, 3, None), None);
    }
}
