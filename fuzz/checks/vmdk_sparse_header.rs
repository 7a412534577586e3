//! The calls and checks of the fuzz target `vmdk_sparse_header`, in one place:
//! fuzz/fuzz_targets/vmdk_sparse_header.rs runs them on what libFuzzer generates, tests/it/fuzz.rs
//! (on the stable toolchain) on the inputs kept under fuzz/regressions/vmdk_sparse_header/.

use ovftool::vmdk::header::SparseHeader;

/// Runs the `vmdk_sparse_header` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let mut b = [0u8; 512];
    let n = data.len().min(512);
    b[..n].copy_from_slice(&data[..n]);
    if let Ok(h) = SparseHeader::parse(&b) {
        assert_eq!(SparseHeader::parse(&h.to_bytes()).ok(), Some(h));
        let _ = (h.gd_entries(), h.capacity_bytes(), h.gt_coverage_sectors());
    }
}
