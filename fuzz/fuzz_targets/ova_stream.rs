//! An OVA read from a stream: the tar reader, the entry-name policy, the manifest, certificate
//! and descriptor checks and the disk header check, on arbitrary bytes. Must never panic, hang
//! or allocate beyond the limits; a package that passes must list only members it holds.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run ova_stream`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ovftool::ova::Reader;
use ovftool::verify::{verify_stream, VerifyOptions};
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
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
});
