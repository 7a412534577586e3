//! Integration tests: vmdk.
