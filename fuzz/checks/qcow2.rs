//! The calls and checks of the fuzz target `qcow2`, in one place: fuzz/fuzz_targets/qcow2.rs
//! runs them on what libFuzzer generates, tests/it/fuzz.rs (on the stable toolchain) on the
//! inputs kept under fuzz/regressions/qcow2/.

use ovftool::disk::DiskSource;
use ovftool::qcow2::Qcow2Source;
use ovftool::Limits;

/// Runs the `qcow2` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.qcow2");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = Limits {
        // Keep one run short: at most 1 GiB of virtual disk to walk.
        max_disk_capacity_bytes: 1 << 30,
        ..Limits::DEFAULT
    };
    let Ok(mut src) = Qcow2Source::open(&path, &limits) else {
        return;
    };
    let capacity = src.capacity_bytes();
    let mut last = None;
    while let Ok(Some(g)) = src.next_grain() {
        assert!(last.is_none_or(|l| g.offset > l), "grains must ascend");
        assert!(
            g.offset + u64::from(g.len) <= capacity,
            "grain past the capacity"
        );
        last = Some(g.offset);
    }
}
