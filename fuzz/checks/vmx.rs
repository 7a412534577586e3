//! The calls and checks of the fuzz target `vmx`, in one place: fuzz/fuzz_targets/vmx.rs runs them
//! on what libFuzzer generates, tests/it/fuzz.rs (on the stable toolchain) on the inputs kept under
//! fuzz/regressions/vmx/.

use ovftool::vmx::Vmx;

/// Runs the `vmx` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let _ = Vmx::parse(data);
    if let Ok((v, _)) = Vmx::parse_lax(data) {
        let bytes = v.to_bytes();
        let (again, _) = Vmx::parse_lax(&bytes).expect("written vmx parses");
        assert_eq!(again.to_bytes(), bytes);
    }
}
