//! An OVA read from a stream: the tar reader, the entry-name policy, the manifest, certificate
//! and descriptor checks and the disk header check, on arbitrary bytes. Must never panic, hang
//! or allocate beyond the limits; a package that passes must list only members it holds.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run ova_stream`.
#![no_main]

#[path = "../checks/ova_stream.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
