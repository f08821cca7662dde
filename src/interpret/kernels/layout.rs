//! Copying elements by strides: the common engine of the operators that
//! move values without arithmetic (TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT).

/// The elements of an output of `shape`, where output index `i` reads
/// `src[start + sum(i[d] * strides[d])]`. The caller guarantees every such
/// position is inside `src`.
pub fn strided<T: Copy>(src: &[T], start: usize, shape: &[usize], strides: &[isize]) -> Vec<T> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let r = shape.len();
    if r == 0 {
        out.push(src[start]);
        return out;
    }
    let inner = shape[r - 1];
    let step = strides[r - 1];
    let mut idx = vec![0usize; r - 1];
    let mut at = start as isize;
    loop {
        if step == 1 {
            let a = at as usize;
            out.extend_from_slice(&src[a..a + inner]);
        } else {
            out.extend((0..inner as isize).map(|i| src[(at + i * step) as usize]));
        }
        let mut d = r - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            at += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            at -= strides[d] * shape[d] as isize;
            idx[d] = 0;
        }
    }
}

/// Row-major strides of `shape` as signed steps.
pub fn signed_strides(shape: &[usize]) -> Vec<isize> {
    super::super::value::strides(shape)
        .into_iter()
        .map(|s| s as isize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_and_reverses() {
        let src: Vec<i32> = (0..6).collect(); // [2, 3]
        assert_eq!(strided(&src, 0, &[3, 2], &[1, 3]), vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(strided(&src, 5, &[2, 3], &[-3, -1]), vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(strided(&src, 4, &[], &[]), vec![4]);
    }
}
