//! Integration tests: ova.
