//! Output sizes and padding of windowed operators, as TFLite computes them.

use super::super::error::KernelError;
use crate::model::fb::Padding;

/// One spatial dimension of a windowed operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub out: usize,
    /// Padding before the first element; the rest (if any) goes after.
    pub pad: usize,
}

/// Output size and leading padding for `input` elements under a filter of
/// `filter` taps, `stride` and `dilation`.
pub fn window(
    padding: Padding,
    input: usize,
    filter: usize,
    stride: i32,
    dilation: i32,
) -> Result<Window, KernelError> {
    if stride < 1 || dilation < 1 || filter < 1 {
        return Err(KernelError::Invalid(format!(
            "stride {stride}, dilation {dilation} and filter size {filter} must all be at least 1"
        )));
    }
    let (input, filter, stride, dilation) = (
        input as i128,
        filter as i128,
        stride as i128,
        dilation as i128,
    );
    let effective = (filter - 1) * dilation + 1;
    let out = match padding {
        Padding::SAME => (input + stride - 1) / stride,
        Padding::VALID => (input + stride - effective) / stride,
        other => {
            return Err(KernelError::Unsupported(format!(
                "padding {} is not supported",
                other.0
            )))
        }
    };
    if out < 1 {
        return Err(KernelError::Invalid(format!(
            "a window of {effective} elements does not fit in an input of {input} with VALID padding"
        )));
    }
    let total = ((out - 1) * stride + effective - input).max(0);
    Ok(Window {
        out: out as usize,
        pad: (total / 2) as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_and_valid_as_tflite() {
        assert_eq!(
            window(Padding::SAME, 5, 3, 2, 1).unwrap(),
            Window { out: 3, pad: 1 }
        );
        assert_eq!(
            window(Padding::SAME, 4, 3, 2, 1).unwrap(),
            Window { out: 2, pad: 0 }
        );
        assert_eq!(
            window(Padding::VALID, 7, 3, 2, 2).unwrap(),
            Window { out: 2, pad: 0 }
        );
        assert!(window(Padding::VALID, 2, 3, 1, 1).is_err());
        assert!(window(Padding::SAME, 2, 3, 0, 1).is_err());
    }
}
