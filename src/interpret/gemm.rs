//! Matrix products through `matrixmultiply`'s sgemm, behind a safe wrapper
//! that checks every index the product will touch; a product of a few rows
//! by a matrix whose columns are contiguous (a sample through a
//! FullyConnected layer) as dot products instead.

/// Rows of `a` up to which a product is computed as dot products: sgemm
/// packs all of `b` on every call, which for a few rows costs several
/// times the product itself (a 2048 × 2048 weight is copied to multiply
/// one row by it).
const DOT_ROWS: usize = 4;

/// Partial sums a dot product keeps apart, so that the compiler can keep
/// them in vector registers (a float sum in one accumulator cannot be
/// reordered, so it would not vectorize).
const LANES: usize = 16;

/// A matrix view: `rows x cols` elements of `data`, element `(r, c)` at
/// `r * row_stride + c * col_stride`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view.
    pub fn t(self) -> Mat<'a> {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element is inside `data`.
    fn fits(&self, len: usize) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(a, b)| a.checked_add(b));
        last.is_some_and(|l| l < len)
            && isize::try_from(self.row_stride.max(self.col_stride)).is_ok()
    }
}

/// `c = a * b + beta * c`, with `c` row-major `a.rows x b.cols` (leading
/// dimension `ldc`). Panics only on a caller's bug: shapes that do not chain
/// or views outside their data.
pub fn gemm(a: Mat<'_>, b: Mat<'_>, beta: f32, c: &mut [f32], ldc: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions of a product differ");
    assert!(
        a.fits(a.data.len()) && b.fits(b.data.len()),
        "matrix view out of bounds"
    );
    let c_view = Mat {
        data: c,
        rows: m,
        cols: n,
        row_stride: ldc,
        col_stride: 1,
    };
    assert!(c_view.fits(c.len()), "output view out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for r in 0..m {
            let row = &mut c[r * ldc..r * ldc + n];
            // As BLAS: with beta 0, `c` is not read (it may hold NaN).
            if beta == 0.0 {
                row.fill(0.0);
            } else {
                row.iter_mut().for_each(|x| *x *= beta);
            }
        }
        return;
    }
    if m <= DOT_ROWS && a.col_stride == 1 && b.row_stride == 1 {
        for r in 0..m {
            let row = &a.data[r * a.row_stride..][..k];
            for j in 0..n {
                let col = &b.data[j * b.col_stride..][..k];
                let out = &mut c[r * ldc + j];
                // As BLAS: with beta 0, `c` is not read (it may hold NaN).
                *out = if beta == 0.0 {
                    dot(row, col)
                } else {
                    dot(row, col) + beta * *out
                };
            }
        }
        return;
    }
    // SAFETY: the assertions above show that every element the product reads
    // (a: m x k, b: k x n) and writes (c: m x n) lies inside its slice, and
    // that the strides fit in isize; `c` is borrowed mutably, so it aliases
    // neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        );
    }
}

/// The dot product of two slices of one length.
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xs.zip(ys) {
        for i in 0..LANES {
            lanes[i] += a[i] * b[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dot-product path and sgemm agree (to rounding) on a few rows
    /// against a transposed matrix, with and without beta, at lengths
    /// around the lane width.
    #[test]
    fn dot_products_agree_with_sgemm() {
        for (m, k, n) in [(1, 1, 1), (1, 15, 3), (2, 16, 5), (4, 33, 7), (3, 100, 2)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 8.0)
                .collect();
            for beta in [0.0, 1.0] {
                let mut fast = vec![0.5f32; m * n];
                gemm(
                    Mat::rows(&a, m, k),
                    Mat::rows(&w, n, k).t(),
                    beta,
                    &mut fast,
                    n,
                );
                let mut want = vec![0.5f32; m * n];
                for r in 0..m {
                    for j in 0..n {
                        let s: f64 = (0..k)
                            .map(|i| f64::from(a[r * k + i]) * f64::from(w[j * k + i]))
                            .sum();
                        want[r * n + j] = (s + f64::from(beta) * 0.5) as f32;
                    }
                }
                for (f, w) in fast.iter().zip(&want) {
                    assert!(
                        (f - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "{m}x{k}x{n} {f} {w}"
                    );
                }
            }
        }
        // Beta 0 never reads the output.
        let mut c = [f32::NAN; 1];
        gemm(
            Mat::rows(&[2.0], 1, 1),
            Mat::rows(&[3.0], 1, 1),
            0.0,
            &mut c,
            1,
        );
        assert_eq!(c, [6.0]);
    }

    /// An empty inner dimension leaves `beta * c`; with beta 0 `c` is not
    /// read, as everywhere else (NaN there gives 0, not NaN; -2 gives 0,
    /// not -0), and columns past the product stay as they were.
    #[test]
    fn an_empty_product_with_beta_zero_writes_zeros() {
        let mut c = [f32::NAN, -2.0, -2.0, 7.0];
        gemm(Mat::rows(&[], 2, 0), Mat::rows(&[], 0, 1), 0.0, &mut c, 2);
        let bits = c.map(f32::to_bits);
        assert_eq!(bits, [0.0, -2.0, 0.0, 7.0].map(f32::to_bits));
        let mut c = [4.0];
        gemm(Mat::rows(&[], 1, 0), Mat::rows(&[], 0, 1), 0.5, &mut c, 1);
        assert_eq!(c, [2.0]);
    }

    #[test]
    fn multiplies_with_transposed_views() {
        // a = [[1, 2], [3, 4]], b stored as its transpose.
        let a = [1.0, 2.0, 3.0, 4.0];
        let bt = [5.0, 7.0, 6.0, 8.0];
        let mut c = [1.0; 4];
        gemm(
            Mat::rows(&a, 2, 2),
            Mat::rows(&bt, 2, 2).t(),
            1.0,
            &mut c,
            2,
        );
        assert_eq!(c, [20.0, 23.0, 44.0, 51.0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn refuses_a_view_past_its_data() {
        let a = [1.0; 3];
        let mut c = [0.0; 4];
        gemm(Mat::rows(&a, 2, 2), Mat::rows(&a, 2, 2), 0.0, &mut c, 2);
    }
}
