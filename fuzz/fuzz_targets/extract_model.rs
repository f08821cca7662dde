//! Any bytes as a quantized model: extracted or refused, never a panic; a
//! set extracted is written, reads back clean, and `diff` finds it the same
//! as the model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::extract_model(data));
