//! Numpy broadcasting of two operands, with the dimensions coalesced so
//! that the inner loop runs over long contiguous (or repeated) rows.

/// The broadcast shape of `a` and `b`, if they broadcast.
pub fn shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let pa = padded(a, r);
    let pb = padded(b, r);
    pa.iter()
        .zip(&pb)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

fn padded(s: &[usize], r: usize) -> Vec<usize> {
    let mut p = vec![1; r - s.len()];
    p.extend_from_slice(s);
    p
}

/// Strides of `s` broadcast to `out` (0 along broadcast dimensions).
fn broadcast_strides(s: &[usize], out: &[usize]) -> Vec<usize> {
    let p = padded(s, out.len());
    let mut st = vec![0; out.len()];
    let mut acc = 1;
    for i in (0..out.len()).rev() {
        st[i] = if p[i] == 1 { 0 } else { acc };
        acc *= p[i];
    }
    st
}

/// Dimensions and per-operand strides with size-1 dimensions dropped and
/// neighbours that step alike merged. Never empty.
fn coalesce(out: &[usize], strides: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut dims: Vec<usize> = Vec::new();
    let mut st: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for i in (0..out.len()).rev() {
        if out[i] == 1 {
            continue;
        }
        let merge = !dims.is_empty()
            && strides.iter().enumerate().all(|(k, s)| {
                let (d, inner) = (*dims.last().unwrap_or(&1), *st[k].last().unwrap_or(&0));
                s[i] == inner * d
            });
        if merge {
            if let Some(d) = dims.last_mut() {
                *d *= out[i];
            }
        } else {
            dims.push(out[i]);
            for (k, s) in strides.iter().enumerate() {
                st[k].push(s[i]);
            }
        }
    }
    if dims.is_empty() {
        dims.push(1);
        st.iter_mut().for_each(|s| s.push(0));
    }
    dims.reverse();
    st.iter_mut().for_each(|s| s.reverse());
    (dims, st)
}

/// `f(a[i], b[j])` over the broadcast of `a` (shape `sa`) and `b` (shape
/// `sb`) to `out` (which must be their broadcast shape).
pub fn zip<A: Copy, B: Copy, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(A, B) -> O,
) -> Vec<O> {
    let total: usize = out.iter().product();
    let mut res = Vec::with_capacity(total);
    if total == 0 {
        return res;
    }
    if sa == sb {
        res.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y)));
        return res;
    }
    let (dims, st) = coalesce(
        out,
        &[broadcast_strides(sa, out), broadcast_strides(sb, out)],
    );
    let r = dims.len();
    let inner = dims[r - 1];
    let (ia, ib) = (st[0][r - 1], st[1][r - 1]);
    let mut idx = vec![0usize; r - 1];
    let (mut oa, mut ob) = (0usize, 0usize);
    loop {
        match (ia, ib) {
            (1, 1) => res.extend(
                a[oa..oa + inner]
                    .iter()
                    .zip(&b[ob..ob + inner])
                    .map(|(&x, &y)| f(x, y)),
            ),
            (1, 0) => {
                let y = b[ob];
                res.extend(a[oa..oa + inner].iter().map(|&x| f(x, y)));
            }
            (0, 1) => {
                let x = a[oa];
                res.extend(b[ob..ob + inner].iter().map(|&y| f(x, y)));
            }
            _ => res.extend((0..inner).map(|i| f(a[oa + i * ia], b[ob + i * ib]))),
        }
        // The odometer over the outer dimensions.
        let mut d = r - 1;
        loop {
            if d == 0 {
                return res;
            }
            d -= 1;
            idx[d] += 1;
            oa += st[0][d];
            ob += st[1][d];
            if idx[d] < dims[d] {
                break;
            }
            oa -= st[0][d] * dims[d];
            ob -= st[1][d] * dims[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_like_numpy() {
        assert_eq!(shape(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(shape(&[2, 3], &[3, 3]), None);
        assert_eq!(shape(&[], &[5]), Some(vec![5]));
        let a = [1, 2, 3, 4, 5, 6]; // [2, 3]
        let b = [10, 20]; // [2, 1]
        assert_eq!(
            zip(&a, &[2, 3], &b, &[2, 1], &[2, 3], |x, y| x + y),
            vec![11, 12, 13, 24, 25, 26]
        );
        assert_eq!(zip(&[1], &[], &b, &[2], &[2], |x, y| x * y), vec![10, 20]);
    }
}
