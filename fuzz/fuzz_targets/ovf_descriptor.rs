//! OVF descriptor bytes: parse must never panic; whatever parses validates without panicking and
//! writes back to bytes that parse to an equal tree (the lossless round trip).
//! Run: `cargo +nightly fuzz run ovf_descriptor`; replay: `... ovf_descriptor crash-file`.
#![no_main]

#[path = "../checks/ovf_descriptor.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
