//! `.cert` files (signature line + PEM certificate): parsing arbitrary bytes must never panic.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run cert`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::cert::CertFile;
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
    let _ = CertFile::parse(data, &Limits::DEFAULT);
});
