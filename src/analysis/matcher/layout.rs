//! The layouts converters give framework arrays: how the axes of an
//! exporter's array map onto the axes of the model's tensor.

/// A layout change between a framework's array and the model's tensor:
/// `np.transpose(value, perm)` gives the tensor's layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutChange {
    pub name: &'static str,
    pub perm: Vec<usize>,
}

/// The converter layout changes, by the rank they apply to. A change may
/// also add axes of size 1 (tico runs a Conv1d as a CONV_2D, its [O, I, K]
/// weight stored as [O, K, 1, I]).
const CHANGES: [(&str, &[usize]); 5] = [
    ("OHWI (from PyTorch's OIHW)", &[0, 2, 3, 1]),
    ("1HWC (from PyTorch's C1HW)", &[1, 2, 3, 0]),
    (
        "1HWC (from a depthwise weight permuted to CHW1)",
        &[3, 1, 2, 0],
    ),
    ("the transpose", &[1, 0]),
    ("OK1I (from PyTorch's Conv1d OIK)", &[0, 2, 1]),
];

/// The converter layout change that turns `value` into `tensor`'s shape,
/// if one does (Conv2D OIHW→OHWI, DepthwiseConv2D C1HW→1HWC).
pub fn layout_change(value: &[usize], tensor: &[usize]) -> Option<LayoutChange> {
    layout_changes(value, tensor).into_iter().next()
}

/// Every converter layout change that gives `tensor`'s shape; several can
/// when dimensions coincide (an OIHW [8, 3, 3, 3] is also OHWI-shaped).
/// The identity is never among them.
pub fn layout_changes(value: &[usize], tensor: &[usize]) -> Vec<LayoutChange> {
    CHANGES
        .iter()
        .filter(|(_, p)| p.len() == value.len())
        .filter(|(_, p)| {
            let permuted: Vec<usize> = p.iter().map(|&i| value[i]).collect();
            if value.len() == tensor.len() {
                permuted == tensor
            } else {
                // Axes of size 1 added keep the element order.
                !value.contains(&0) && squeezed(&permuted) == squeezed(tensor)
            }
        })
        .filter(|(_, p)| p.iter().enumerate().any(|(i, &j)| i != j))
        .map(|(name, perm)| LayoutChange {
            name,
            perm: perm.to_vec(),
        })
        .collect()
}

fn squeezed(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

impl LayoutChange {
    /// The tensor axis that axis `axis` of a `value` of that shape lands
    /// on in a tensor of `tensor` shape (which may have more axes, all of
    /// size 1).
    pub fn tensor_axis(&self, axis: usize, value: &[usize], tensor: &[usize]) -> Option<usize> {
        let at = self.perm.iter().position(|&p| p == axis)?;
        let permuted: Vec<usize> = self
            .perm
            .iter()
            .map(|&p| value.get(p).copied())
            .collect::<Option<_>>()?;
        // Match the permuted value's axes to the tensor's in order; a
        // tensor axis of size 1 that does not match is an added one.
        let mut j = 0;
        for (i, &d) in tensor.iter().enumerate() {
            let extra = tensor.len() - i > permuted.len() - j;
            if j < permuted.len()
                && d == permuted[j]
                && !(d == 1 && extra && permuted.get(j) != Some(&1))
            {
                if j == at {
                    return Some(i);
                }
                j += 1;
            } else if d != 1 {
                return None;
            }
        }
        None
    }
}

/// Every converter layout change for arrays of this rank.
pub fn changes_for_rank(rank: usize) -> Vec<LayoutChange> {
    CHANGES
        .iter()
        .filter(|(_, p)| p.len() == rank)
        .map(|(name, perm)| LayoutChange {
            name,
            perm: perm.to_vec(),
        })
        .collect()
}

/// The ways `value` can be laid out as `tensor`: as it is (when the shapes
/// are equal, or differ only by axes of size 1, which keeps the element
/// order) and through each converter layout change.
pub fn layouts(value: &[usize], tensor: &[usize]) -> Vec<Option<LayoutChange>> {
    let mut out: Vec<Option<LayoutChange>> = Vec::new();
    let squeezed = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    if value == tensor || (squeezed(value) == squeezed(tensor) && !value.contains(&0)) {
        out.push(None);
    }
    out.extend(layout_changes(value, tensor).into_iter().map(Some));
    out
}

/// Maps flat indices of the tensor (row-major in its shape) to flat
/// indices of the value array, under a layout change.
#[derive(Clone, Debug)]
pub struct IndexMap {
    /// Tensor dimensions.
    dims: Vec<usize>,
    /// For each tensor axis, the value's stride along the axis it comes from.
    value_strides: Vec<usize>,
}

impl IndexMap {
    pub fn new(value_shape: &[usize], change: Option<&LayoutChange>) -> IndexMap {
        let mut strides = vec![1usize; value_shape.len()];
        for i in (0..value_shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * value_shape[i + 1];
        }
        match change {
            Some(c) => IndexMap {
                dims: c.perm.iter().map(|&p| value_shape[p]).collect(),
                value_strides: c.perm.iter().map(|&p| strides[p]).collect(),
            },
            None => IndexMap {
                dims: value_shape.to_vec(),
                value_strides: strides,
            },
        }
    }

    /// Whether value and tensor share their element order.
    pub fn is_identity(&self) -> bool {
        let mut expected = 1usize;
        for (d, s) in self.dims.iter().zip(&self.value_strides).rev() {
            if *d > 1 && *s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// The value's flat index of the tensor's flat index `flat`.
    pub fn value_index(&self, mut flat: usize) -> usize {
        let mut out = 0;
        for (d, s) in self.dims.iter().zip(&self.value_strides).rev() {
            if *d > 0 {
                out += (flat % d) * s;
                flat /= d;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_converter_layouts() {
        assert_eq!(
            layout_change(&[8, 3, 5, 5], &[8, 5, 5, 3]).unwrap().perm,
            vec![0, 2, 3, 1]
        );
        assert_eq!(
            layout_change(&[8, 1, 3, 3], &[1, 3, 3, 8]).unwrap().perm,
            vec![1, 2, 3, 0]
        );
        assert_eq!(layout_change(&[8, 3], &[3, 8]).unwrap().perm, vec![1, 0]);
        assert!(layout_change(&[8, 3], &[8, 3]).is_none());
        assert_eq!(layouts(&[8], &[1, 1, 1, 8]), vec![None]);
        let conv1d = layout_change(&[8, 3, 5], &[8, 5, 1, 3]).unwrap();
        assert_eq!(conv1d.perm, vec![0, 2, 1]);
        assert_eq!(conv1d.tensor_axis(0, &[8, 3, 5], &[8, 5, 1, 3]), Some(0));
        assert_eq!(conv1d.tensor_axis(1, &[8, 3, 5], &[8, 5, 1, 3]), Some(3));
        assert_eq!(conv1d.tensor_axis(2, &[8, 3, 5], &[8, 5, 1, 3]), Some(1));
    }

    #[test]
    fn index_maps_follow_the_permutation() {
        // value OIHW [2, 3, 1, 2] -> tensor OHWI [2, 1, 2, 3]
        let change = layout_change(&[2, 3, 1, 2], &[2, 1, 2, 3]).unwrap();
        let map = IndexMap::new(&[2, 3, 1, 2], Some(&change));
        assert!(!map.is_identity());
        // tensor (o=1, h=0, w=1, i=2) is value (o=1, i=2, h=0, w=1)
        let flat = |idx: [usize; 4], dims: [usize; 4]| {
            idx.iter().zip(dims).fold(0, |n, (&i, d)| n * d + i)
        };
        let t = flat([1, 0, 1, 2], [2, 1, 2, 3]);
        let v = flat([1, 2, 0, 1], [2, 3, 1, 2]);
        assert_eq!(map.value_index(t), v);
        assert!(IndexMap::new(&[4, 5], None).is_identity());
    }
}
