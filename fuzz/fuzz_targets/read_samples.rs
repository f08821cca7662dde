//! Any bytes as a sample file for a model's inputs: read or refused,
//! never a panic; what is read holds exactly the inputs' shapes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::read_samples(data));
