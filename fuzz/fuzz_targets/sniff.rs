//! The content sniffer: the first 4 KiB and last 512 bytes of arbitrary files, at their real
//! length and at a length the bytes claim (a header saying the file is far larger than what was
//! read). Must never panic; every class answers with its name and a consistent error choice.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run sniff`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::sniff::{classify_bytes, Content};

fuzz_target!(|data: &[u8]| {
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
});
