//! Integration tests: hosted VMDK layouts (descriptors, sparse, flat, chains).
