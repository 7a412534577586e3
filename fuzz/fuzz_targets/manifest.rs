//! `.mf` manifests: parsing arbitrary bytes must never panic; whatever parses writes back to the
//! canonical form, which parses to the same entries.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run manifest`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::manifest::Manifest;
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::DEFAULT;
    if let Ok(m) = Manifest::parse(data, &limits) {
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
});
