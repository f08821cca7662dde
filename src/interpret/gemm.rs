//! Matrix products through `matrixmultiply`'s sgemm, behind a safe wrapper
//! that checks every index the product will touch.

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
            c[r * ldc..r * ldc + n].iter_mut().for_each(|x| *x *= beta);
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

#[cfg(test)]
mod tests {
    use super::*;

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
