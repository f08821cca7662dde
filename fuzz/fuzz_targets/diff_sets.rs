//! Any bytes as a parameter set (a qparam.json text and npy files): compared
//! with itself (the same) and with a fixture set, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::diff_sets(data));
