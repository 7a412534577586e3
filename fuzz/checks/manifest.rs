//! The calls and checks of the fuzz target `manifest`, in one place: fuzz/fuzz_targets/manifest.rs
//! runs them on what libFuzzer generates, tests/it/fuzz.rs (on the stable toolchain) on the inputs
//! kept under fuzz/regressions/manifest/.

use ovftool::manifest::Manifest;
use ovftool::Limits;

/// Runs the `manifest` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let limits = Limits::DEFAULT;
    let parsed = Manifest::parse(data, &limits);
    if let Err(e) = &parsed {
        // Bytes in memory that do not parse are the input's fault: never an I/O or usage error.
        assert!(
            e.kind().is_input_failure(),
            "expected an input error, found {:?}: {e}",
            e.kind()
        );
    }
    if let Ok(m) = parsed {
        let canonical = m.to_bytes();
        let again = Manifest::parse(&canonical, &limits).expect("canonical form parses");
        assert_eq!(again.entries.len(), m.entries.len());
        for (a, b) in again.entries.iter().zip(&m.entries) {
            assert_eq!(
                (a.algorithm, &a.name, &a.digest),
                (b.algorithm, &b.name, &b.digest)
            );
        }
        assert_eq!(again.to_bytes(), canonical);
    }
}
