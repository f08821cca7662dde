//! Any bytes given to the qparam JSON reader and the npy header reader
//! produce a value or an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::parse_qparam(data));
