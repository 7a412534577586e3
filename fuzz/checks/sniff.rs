//! The calls and checks of the fuzz target `sniff`, in one place: fuzz/fuzz_targets/sniff.rs runs
//! them on what libFuzzer generates, tests/it/fuzz.rs (on the stable toolchain) on the inputs kept
//! under fuzz/regressions/sniff/.

use ovftool::sniff::{classify_bytes, Content};

/// Runs the `sniff` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let head = &data[..data.len().min(4096)];
    let tail = if data.len() >= 1024 {
        &data[data.len() - 512..]
    } else {
        &[][..]
    };
    let claimed = data
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        .unwrap_or(0);
    for len in [data.len() as u64, claimed, u64::MAX] {
        let c = classify_bytes(head, tail, len);
        assert!(!c.name().is_empty());
        assert_eq!(c.is_disk(), c.not_a_disk_error().is_none());
        if matches!(c, Content::Ovf | Content::Ova | Content::Raw) {
            assert!(c.not_a_package_error().is_none());
        }
    }
}
