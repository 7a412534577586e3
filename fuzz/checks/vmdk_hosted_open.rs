//! The calls and checks of the fuzz target `vmdk_hosted_open`, in one place:
//! fuzz/fuzz_targets/vmdk_hosted_open.rs runs them on what libFuzzer generates, tests/it/fuzz.rs
//! (on the stable toolchain) on the inputs kept under fuzz/regressions/vmdk_hosted_open/.

use ovftool::vmdk::hosted;
use ovftool::Limits;

/// Runs the `vmdk_hosted_open` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
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
}
