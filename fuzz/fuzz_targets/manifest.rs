//! `.mf` manifests: parsing arbitrary bytes must never panic; whatever parses writes back to the
//! canonical form, which parses to the same entries.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run manifest`.
#![no_main]

#[path = "../checks/manifest.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
