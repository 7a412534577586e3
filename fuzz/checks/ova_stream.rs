//! The calls and checks of the fuzz target `ova_stream`, in one place:
//! fuzz/fuzz_targets/ova_stream.rs runs them on what libFuzzer generates, tests/it/fuzz.rs (on the
//! stable toolchain) on the inputs kept under fuzz/regressions/ova_stream/.

use ovftool::ova::Reader;
use ovftool::verify::{verify_stream, VerifyOptions};
use ovftool::Limits;
use std::path::Path;

/// Runs the `ova_stream` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let limits = Limits {
        max_ova_entries: 64,
        ..Limits::DEFAULT
    };
    // The reader alone: names it hands out are plain, data starts inside the input.
    let mut r = Reader::new(data, limits);
    while let Ok(Some(e)) = r.next_entry() {
        let h = e.header().clone();
        assert!(h.data_offset <= data.len() as u64);
        assert!(!h.name.is_empty() && !h.name.contains('/') && !h.name.contains('\0'));
    }
    let opts = VerifyOptions {
        limits,
        ..Default::default()
    };
    let mut src = data;
    if let Ok(report) = verify_stream(&mut src, Path::new("fuzz.ova"), &opts) {
        if report.passed() {
            assert!(report.descriptor.is_some());
        }
    }
}
