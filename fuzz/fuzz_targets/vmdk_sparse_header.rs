//! The 512-byte KDMV header: parse must never panic, and a parsed header encodes back to bytes
//! that parse to the same header.
//! Run: `cargo +nightly fuzz run vmdk_sparse_header`.
#![no_main]

#[path = "../checks/vmdk_sparse_header.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
