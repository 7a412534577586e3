//! The calls and checks of the fuzz target `cert`, in one place: fuzz/fuzz_targets/cert.rs runs
//! them on what libFuzzer generates, tests/it/fuzz.rs (on the stable toolchain) on the inputs kept
//! under fuzz/regressions/cert/.

use ovftool::cert::CertFile;
use ovftool::Limits;

/// Runs the `cert` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let parsed = CertFile::parse(data, &Limits::DEFAULT);
    if let Err(e) = &parsed {
        // Bytes in memory that do not parse are the input's fault: never an I/O or usage error.
        assert!(
            e.kind().is_input_failure(),
            "expected an input error, found {:?}: {e}",
            e.kind()
        );
    }
}
