//! The calls and checks of the fuzz target `vmdk_descriptor`, in one place:
//! fuzz/fuzz_targets/vmdk_descriptor.rs runs them on what libFuzzer generates, tests/it/fuzz.rs (on
//! the stable toolchain) on the inputs kept under fuzz/regressions/vmdk_descriptor/.

use ovftool::vmdk::descriptor::Descriptor;
use ovftool::Limits;

/// Runs the `vmdk_descriptor` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let limits = Limits {
        max_extents: 64,
        ..Limits::DEFAULT
    };
    let parsed = Descriptor::parse(data, &limits);
    if let Err(e) = &parsed {
        // Bytes in memory that do not parse are the input's fault: never an I/O or usage error.
        assert!(
            e.kind().is_input_failure(),
            "expected an input error, found {:?}: {e}",
            e.kind()
        );
    }
    if let Ok(d) = parsed {
        let text = d.to_text();
        // Names or values holding quotes or newlines cannot round-trip through the text form.
        let clean = |s: &str| !s.contains('"') && !s.contains('\n') && !s.contains('\r');
        let round_trippable = d
            .extents
            .iter()
            .all(|e| e.file_name.as_deref().is_none_or(clean) && e.extra.iter().all(|x| clean(x)))
            && d.ddb
                .iter()
                .chain(d.header.iter())
                .all(|(k, v)| clean(k) && clean(v))
            && d.parent_file_name_hint.as_deref().is_none_or(clean);
        if round_trippable {
            if let Ok(again) = Descriptor::parse(text.as_bytes(), &limits) {
                assert_eq!(again.extents, d.extents);
                assert_eq!(again.cid, d.cid);
                assert_eq!(again.parent_cid, d.parent_cid);
            }
        }
    }
}
