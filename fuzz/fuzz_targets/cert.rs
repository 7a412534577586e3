//! `.cert` files (signature line + PEM certificate): parsing arbitrary bytes must never panic.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run cert`.
#![no_main]

#[path = "../checks/cert.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
