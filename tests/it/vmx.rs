//! Integration tests: vmx.
