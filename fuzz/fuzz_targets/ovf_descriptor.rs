//! OVF descriptor bytes: parse must never panic; whatever parses validates without panicking and
//! writes back to bytes that parse to an equal tree (the lossless round trip).
//! Run: `cargo +nightly fuzz run ovf_descriptor`; replay: `... ovf_descriptor crash-file`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::ovf::{Envelope, ParseOptions, ValidateOptions};

fuzz_target!(|data: &[u8]| {
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
});
