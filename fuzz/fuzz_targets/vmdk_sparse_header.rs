//! The 512-byte KDMV header: parse must never panic, and a parsed header encodes back to bytes
//! that parse to the same header.
//! Run: `cargo +nightly fuzz run vmdk_sparse_header`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::vmdk::header::SparseHeader;

fuzz_target!(|data: &[u8]| {
    let mut b = [0u8; 512];
    let n = data.len().min(512);
    b[..n].copy_from_slice(&data[..n]);
    if let Ok(h) = SparseHeader::parse(&b) {
        assert_eq!(SparseHeader::parse(&h.to_bytes()).ok(), Some(h));
        let _ = (h.gd_entries(), h.capacity_bytes(), h.gt_coverage_sectors());
    }
});
