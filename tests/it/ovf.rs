//! Integration tests: ovf.
