//! The content sniffer: the first 4 KiB and last 512 bytes of arbitrary files, at their real
//! length and at a length the bytes claim (a header saying the file is far larger than what was
//! read). Must never panic; every class answers with its name and a consistent error choice.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run sniff`.
#![no_main]

#[path = "../checks/sniff.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
