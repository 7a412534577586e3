//! streamOptimized in streaming mode: follow the markers of arbitrary bytes, inflate every
//! grain. Must never panic, hang or allocate beyond a grain; grains must ascend.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmdk_stream_reader`.
//! Replay a crash: `cargo fuzz run vmdk_stream_reader artifacts/vmdk_stream_reader/crash-...`.
#![no_main]

#[path = "../checks/vmdk_stream_reader.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
