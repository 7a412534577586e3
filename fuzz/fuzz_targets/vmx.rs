//! `.vmx`/`.vmtx` files: strict and lax parsing of arbitrary bytes must never panic; what the
//! lax parser reads writes back to text that parses again to the same text.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmx`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::vmx::Vmx;

fuzz_target!(|data: &[u8]| {
    let _ = Vmx::parse(data);
    if let Ok((v, _)) = Vmx::parse_lax(data) {
        let bytes = v.to_bytes();
        let (again, _) = Vmx::parse_lax(&bytes).expect("written vmx parses");
        assert_eq!(again.to_bytes(), bytes);
    }
});
