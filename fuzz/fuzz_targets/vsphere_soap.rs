//! SOAP answers from a vCenter/ESXi server (untrusted network bytes): the element-tree parser
//! must never panic or expand entities; whatever parses writes back (as an import spec is sent
//! back to `ImportVApp`) to XML that parses to the same tree.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vsphere_soap`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::vsphere::xml::{parse, El};
use ovftool::vsphere::MoRef;

fn walk(e: &El) {
    let _ = (
        e.local(),
        e.xsi_type(),
        e.find("returnval"),
        MoRef::from_el(e),
    );
    for c in &e.children {
        walk(c);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(root) = parse(text) {
        walk(&root);
        let mut once = String::new();
        root.write(&mut once);
        let again = parse(&once).expect("what we wrote parses");
        let mut twice = String::new();
        again.write(&mut twice);
        assert_eq!(once, twice, "writing back is lossless");
    }
});
