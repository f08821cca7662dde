//! Any bytes as a parameter set (a qparam.json text and npy files) for a
//! fixture model: checked, reported, fixed and implanted, never a panic;
//! a plan the gate passes always implants into a consistent model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::check_set(data));
