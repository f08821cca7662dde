//! BATCH_MATMUL: `[..., M, K] x [..., K, N]` with either side transposed
//! (adj_x, adj_y) and the batch dimensions broadcast; one sgemm per batch
//! entry.

use super::super::error::KernelError;
use super::super::gemm::{gemm, Mat};
use super::super::value::{Data, Tensor};
use super::broadcast;
use super::context::{Inputs, OpContext, OutSpec};

struct Geometry {
    m: usize,
    k: usize,
    n: usize,
    adj: (bool, bool),
    batch_a: Vec<usize>,
    batch_b: Vec<usize>,
    batch: Vec<usize>,
}

fn geometry(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Geometry, KernelError> {
    let (adj_a, adj_b) = ctx
        .options
        .as_batch_mat_mul_options()
        .map_or((false, false), |o| (o.adjoint_lhs, o.adjoint_rhs));
    let a = &inputs.get(0)?.shape;
    let b = &inputs.get(1)?.shape;
    if a.len() < 2 || b.len() < 2 {
        return Err(KernelError::Invalid(format!(
            "both operands need rank 2 or more, found {a:?} and {b:?}"
        )));
    }
    let (ra, rb) = (a.len(), b.len());
    let (m, ka) = if adj_a {
        (a[ra - 1], a[ra - 2])
    } else {
        (a[ra - 2], a[ra - 1])
    };
    let (kb, n) = if adj_b {
        (b[rb - 1], b[rb - 2])
    } else {
        (b[rb - 2], b[rb - 1])
    };
    let batch = broadcast::shape(&a[..ra - 2], &b[..rb - 2]);
    match batch {
        Some(batch) if ka == kb => Ok(Geometry {
            m,
            k: ka,
            n,
            adj: (adj_a, adj_b),
            batch_a: a[..ra - 2].to_vec(),
            batch_b: b[..rb - 2].to_vec(),
            batch,
        }),
        _ => Err(KernelError::Invalid(format!(
            "operands of shapes {a:?} and {b:?} (adj_x {adj_a}, adj_y {adj_b}) cannot be multiplied"
        ))),
    }
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let g = geometry(ctx, inputs)?;
    let mut s = g.batch.clone();
    s.extend([g.m, g.n]);
    Ok(vec![OutSpec::f32(s)?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let g = geometry(ctx, inputs)?;
    let (_, a) = inputs.f32(0)?;
    let (_, b) = inputs.f32(1)?;
    let (mk, kn, mn) = (g.m * g.k, g.k * g.n, g.m * g.n);
    let mut out = vec![0.0; specs[0].len()];
    if out.is_empty() || g.k == 0 {
        // Nothing to multiply; with m, k, n > 0 below, the batch counts are
        // bounded by the operands' lengths.
        return Ok(vec![Tensor {
            shape: specs[0].shape.clone(),
            data: Data::F32(out),
        }]);
    }
    let ids_a: Vec<usize> = (0..g.batch_a.iter().product()).collect();
    let ids_b: Vec<usize> = (0..g.batch_b.iter().product()).collect();
    let pairs = broadcast::zip(&ids_a, &g.batch_a, &ids_b, &g.batch_b, &g.batch, |i, j| {
        (i, j)
    });
    for (o, &(i, j)) in pairs.iter().enumerate() {
        let ma = if g.adj.0 {
            Mat::rows(&a[i * mk..(i + 1) * mk], g.k, g.m).t()
        } else {
            Mat::rows(&a[i * mk..(i + 1) * mk], g.m, g.k)
        };
        let mb = if g.adj.1 {
            Mat::rows(&b[j * kn..(j + 1) * kn], g.n, g.k).t()
        } else {
            Mat::rows(&b[j * kn..(j + 1) * kn], g.k, g.n)
        };
        gemm(ma, mb, 0.0, &mut out[o * mn..(o + 1) * mn], g.n);
    }
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}
