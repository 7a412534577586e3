//! streamOptimized in seekable mode (grain directory, footer): arbitrary bytes as a file.
//! Must never panic, hang or allocate more than the file can hold.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmdk_stream_file`.
#![no_main]

#[path = "../checks/vmdk_stream_file.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
