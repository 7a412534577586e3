//! Integration tests: OVA container, manifests, signatures, verify/pack/unpack.
//!
//! `craft` builds packages byte by byte (including hostile ones); `attacks` holds one test per
//! attack; `corpus` checks the real third-party packages against their provenance.

mod attacks;
mod corpus;
mod craft;
mod large;
mod pki;
mod roundtrip;
mod stream;
