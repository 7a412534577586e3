//! The calls and checks of the fuzz target `ovf_descriptor`, in one place:
//! fuzz/fuzz_targets/ovf_descriptor.rs runs them on what libFuzzer generates, tests/it/fuzz.rs (on
//! the stable toolchain) on the inputs kept under fuzz/regressions/ovf_descriptor/.

use ovftool::ovf::{Envelope, ParseOptions, ValidateOptions};

/// Runs the `ovf_descriptor` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let mut opts = ParseOptions::default();
    opts.limits.max_descriptor_bytes = 1 << 20;
    if let Ok(env) = Envelope::parse_with(data, &opts) {
        let _ = env.validate(&ValidateOptions { lax: false });
        let _ = env.validate(&ValidateOptions { lax: true });
        for d in env.disks() {
            let _ = d.capacity_bytes(&env);
        }
        let out = env.to_bytes().expect("serialise");
        let again = Envelope::parse_with(&out, &opts).expect("re-parse what we wrote");
        assert_eq!(again.document(), env.document());
    }
}
