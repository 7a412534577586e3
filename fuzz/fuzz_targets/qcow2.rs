//! qcow2 images read through imago (`ovftool::qcow2`): arbitrary bytes as a file.
//! Must never panic, hang or allocate without bound.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run qcow2`.
#![no_main]

#[path = "../checks/qcow2.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
