//! Fused activations, applied in place to an operator's float output.

use super::super::error::KernelError;
use crate::model::fb::ActivationFunctionType as Act;

/// Applies `act` to `v`.
pub fn apply(act: Act, v: &mut [f32]) -> Result<(), KernelError> {
    match act {
        Act::NONE => {}
        Act::RELU => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Act::RELU_N1_TO_1 => v.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0)),
        Act::RELU6 => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        Act::TANH => v.iter_mut().for_each(|x| *x = x.tanh()),
        other => {
            return Err(KernelError::Unsupported(format!(
                "fused activation {} is not supported",
                other.variant_name().unwrap_or("(unknown)")
            )))
        }
    }
    Ok(())
}

/// Fails for activations [`apply`] cannot do, before any work is done.
pub fn check(act: Act) -> Result<(), KernelError> {
    apply(act, &mut [])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_as_named() {
        let mut v = [-2.0, 0.5, 7.0];
        apply(Act::RELU6, &mut v).unwrap();
        assert_eq!(v, [0.0, 0.5, 6.0]);
        let mut v = [-2.0, 0.5, 7.0];
        apply(Act::RELU_N1_TO_1, &mut v).unwrap();
        assert_eq!(v, [-1.0, 0.5, 1.0]);
        assert!(check(Act::SIGN_BIT).is_err());
    }
}
