//! `.vmx`/`.vmtx` files: strict and lax parsing of arbitrary bytes must never panic; what the
//! lax parser reads writes back to text that parses again to the same text.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmx`.
#![no_main]

#[path = "../checks/vmx.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
