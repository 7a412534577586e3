//! Descriptor text: parse must never panic; whatever parses writes back to text that parses to
//! the same descriptor.
//! Run: `cargo +nightly fuzz run vmdk_descriptor`; replay: `... vmdk_descriptor crash-file`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::vmdk::descriptor::Descriptor;
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_extents: 64,
        ..Limits::DEFAULT
    };
    if let Ok(d) = Descriptor::parse(data, &limits) {
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
});
