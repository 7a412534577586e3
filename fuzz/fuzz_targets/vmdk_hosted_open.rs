//! A whole hosted sparse (KDMV/COWD) file or descriptor: open it and read every grain. Must
//! never panic, hang or allocate beyond what the file can hold.
//! Run: `cargo +nightly fuzz run vmdk_hosted_open`.
#![no_main]

#[path = "../checks/vmdk_hosted_open.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
