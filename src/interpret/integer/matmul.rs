//! Exact integer products through float32 GEMM. Integers below 2^24 in
//! magnitude, and every sum of them, are exact in float32, in any order
//! and with fused multiply-adds; so the inner dimension is cut into blocks
//! short enough that no partial sum of one block can reach 2^24, each
//! block is multiplied by sgemm, and the blocks are added in int32.

use super::super::gemm::{gemm, Mat};

/// Float32 holds every integer up to this magnitude.
const EXACT_IN_F32: f32 = (1u32 << 24) as f32;

/// `acc += a * b`, exactly, where `a` and `b` hold integers no larger in
/// magnitude than `a_max` and `b_max`; `acc` is row-major `a.rows x
/// b.cols` with leading dimension `ldc`, and wraps as int32 accumulators
/// do. `scratch` is reused between calls.
pub fn accumulate_product(
    a: Mat<'_>,
    b: Mat<'_>,
    (a_max, b_max): (f32, f32),
    acc: &mut [i32],
    ldc: usize,
    scratch: &mut Vec<f32>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let per_term = a_max * b_max;
    let block = if per_term > 0.0 {
        ((EXACT_IN_F32 / per_term) as usize).clamp(1, k)
    } else {
        k
    };
    scratch.clear();
    scratch.resize(m * n, 0.0);
    let mut k0 = 0;
    while k0 < k {
        let kb = block.min(k - k0);
        let a_block = Mat {
            data: &a.data[k0 * a.col_stride..],
            cols: kb,
            ..a
        };
        let b_block = Mat {
            data: &b.data[k0 * b.row_stride..],
            rows: kb,
            ..b
        };
        gemm(a_block, b_block, 0.0, scratch, n);
        for (r, row) in scratch.chunks_exact(n).enumerate() {
            let dst = &mut acc[r * ldc..r * ldc + n];
            for (d, &v) in dst.iter_mut().zip(row) {
                *d = d.wrapping_add(v as i32);
            }
        }
        k0 += kb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_products_stay_exact() {
        // 1000 terms of 255 * 255 sum to 65,025,000, beyond float32's exact
        // integers: one sgemm would round, the blocks do not.
        let k = 1000;
        let a = vec![255.0f32; k];
        let mut b = vec![255.0f32; k];
        b[0] = 254.0;
        let mut acc = [7i32];
        let mut scratch = Vec::new();
        accumulate_product(
            Mat::rows(&a, 1, k),
            Mat::rows(&b, k, 1),
            (255.0, 255.0),
            &mut acc,
            1,
            &mut scratch,
        );
        assert_eq!(acc[0], 7 + 255 * 255 * 1000 - 255);
    }

    #[test]
    fn transposed_views_and_a_leading_dimension() {
        // a = [[1, -2, 3]], b stored as its transpose [[4, 5, 6], [7, 8, 9]].
        let a = [1.0, -2.0, 3.0];
        let bt = [4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut acc = [0, 0, 100];
        let mut scratch = Vec::new();
        accumulate_product(
            Mat::rows(&a, 1, 3),
            Mat::rows(&bt, 2, 3).t(),
            (3.0, 9.0),
            &mut acc,
            3,
            &mut scratch,
        );
        assert_eq!(acc, [12, 18, 100]);
    }
}
