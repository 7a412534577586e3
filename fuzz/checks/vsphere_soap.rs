//! The calls and checks of the fuzz target `vsphere_soap`, in one place:
//! fuzz/fuzz_targets/vsphere_soap.rs runs them on what libFuzzer generates, tests/it/fuzz.rs (on
//! the stable toolchain) on the inputs kept under fuzz/regressions/vsphere_soap/.

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

/// Runs the `vsphere_soap` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
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
}
