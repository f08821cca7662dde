//! Any bytes given to the model reader produce a model or an error, never a
//! panic; a model that opens can be viewed, inspected and written again.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::read_model(data));
