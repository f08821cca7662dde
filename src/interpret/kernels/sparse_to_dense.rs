//! SPARSE_TO_DENSE: inputs (indices: scalar, [N] or [N, rank]; output
//! shape; values: scalar or [N]; default value). Every index is checked.

use super::super::error::KernelError;
use super::super::value::{strides, Data, Tensor};
use super::context::{dim, Inputs, OpContext, OutSpec};

fn out_shape(inputs: &Inputs<'_>) -> Result<Vec<usize>, KernelError> {
    inputs
        .ints(1)?
        .into_iter()
        .map(|d| dim(d, "an output dimension"))
        .collect()
}

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let values = inputs.get(2)?;
    let default = inputs.get(3)?;
    if default.kind() != values.kind() || default.len() != 1 {
        return Err(KernelError::Invalid(format!(
            "the default value must be one {} value, found {} of shape {:?}",
            values.kind(),
            default.kind(),
            default.shape
        )));
    }
    Ok(vec![OutSpec::new(out_shape(inputs)?, values.kind())?])
}

/// Output offsets of the indices, each checked against `shape`.
fn offsets(inputs: &Inputs<'_>, shape: &[usize]) -> Result<Vec<usize>, KernelError> {
    let it = inputs.get(0)?;
    let ix = inputs.ints(0)?;
    let rank = shape.len();
    let per = match it.shape.len() {
        0 | 1 => 1,
        2 => it.shape[1],
        r => {
            return Err(KernelError::Invalid(format!(
                "indices of rank {r}; at most 2 is allowed"
            )))
        }
    };
    if per != rank.max(1) {
        return Err(KernelError::Invalid(format!(
            "indices of shape {:?} do not address an output of rank {rank}",
            it.shape
        )));
    }
    let st = strides(shape);
    ix.chunks(per)
        .map(|c| {
            c.iter().enumerate().try_fold(0usize, |acc, (d, &i)| {
                let size = shape.get(d).copied().unwrap_or(1);
                match usize::try_from(i) {
                    Ok(i) if i < size => Ok(acc + i * st.get(d).copied().unwrap_or(1)),
                    _ => Err(KernelError::Invalid(format!(
                        "index {i} is out of range for dimension {d} of size {size}"
                    ))),
                }
            })
        })
        .collect()
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let shape = &specs[0].shape;
    let at = offsets(inputs, shape)?;
    let values = inputs.get(2)?;
    if values.len() != 1 && values.len() != at.len() {
        return Err(KernelError::Invalid(format!(
            "{} values for {} indices",
            values.len(),
            at.len()
        )));
    }
    let n = specs[0].len();
    macro_rules! scatter {
        ($variant:ident) => {{
            let (Data::$variant(v), Data::$variant(d)) = (&values.data, &inputs.get(3)?.data)
            else {
                return Err(KernelError::Invalid(
                    "values and default differ in type".into(),
                ));
            };
            let mut out = vec![d[0]; n];
            for (k, &o) in at.iter().enumerate() {
                out[o] = v[if v.len() == 1 { 0 } else { k }];
            }
            Data::$variant(out)
        }};
    }
    let data = match values.kind() {
        super::super::value::Kind::F32 => scatter!(F32),
        super::super::value::Kind::I32 => scatter!(I32),
        super::super::value::Kind::I64 => scatter!(I64),
        super::super::value::Kind::Bool => scatter!(Bool),
    };
    Ok(vec![Tensor {
        shape: shape.clone(),
        data,
    }])
}
