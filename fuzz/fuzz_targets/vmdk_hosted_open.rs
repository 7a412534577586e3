//! A whole hosted sparse (KDMV/COWD) file or descriptor: open it and read every grain. Must
//! never panic, hang or allocate beyond what the file can hold.
//! Run: `cargo +nightly fuzz run vmdk_hosted_open`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::vmdk::hosted;
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.vmdk");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = Limits {
        // Keep one run short: at most 1 GiB of virtual disk to walk.
        max_disk_capacity_bytes: 1 << 30,
        ..Limits::DEFAULT
    };
    if let Ok(mut src) = hosted::open_chain(&path, &limits) {
        while let Ok(Some(g)) = src.next_grain() {
            let _ = g;
        }
    }
    let _ = hosted::inspect(&path, &limits);
});
