//! SOAP answers from a vCenter/ESXi server (untrusted network bytes): the element-tree parser
//! must never panic or expand entities; whatever parses writes back (as an import spec is sent
//! back to `ImportVApp`) to XML that parses to the same tree.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vsphere_soap`.
#![no_main]

#[path = "../checks/vsphere_soap.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
