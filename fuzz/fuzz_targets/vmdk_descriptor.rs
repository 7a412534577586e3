//! Descriptor text: parse must never panic; whatever parses writes back to text that parses to
//! the same descriptor.
//! Run: `cargo +nightly fuzz run vmdk_descriptor`; replay: `... vmdk_descriptor crash-file`.
#![no_main]

#[path = "../checks/vmdk_descriptor.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
