//! # ovftool
//!
//! The library behind `ovftool-rs`: read, check and write virtual appliances.
//!
//! * [`ovf`]: the OVF descriptor (DMTF DSP0243 0.9/1.x/2.x) as a lossless element tree with typed
//!   views, a writer and a validator.
//! * [`ova`], [`manifest`], [`digest`]: the OVA tar container, `.mf` manifests and `.cert`
//!   signatures.
//! * [`vmdk`], [`disk`]: the VMDK engine (every layout, streamOptimized in and out) and the one
//!   disk pipeline every conversion goes through.
//! * [`vmx`], [`vm`]: the `.vmx` configuration file and the neutral VM model between OVF and VMX.
//!
//! Everything read from a file is untrusted: sizes are bounded by [`limits`], names pass through
//! [`gate`], outputs appear only when complete ([`output`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cert;
pub mod digest;
pub mod disk;
pub mod error;
pub mod export;
pub mod gate;
pub mod import;
pub mod json_path;
pub mod limits;
pub mod manifest;
pub mod output;
pub mod ova;
pub mod ovf;
pub mod pack;
pub mod package_files;
pub mod progress;
pub mod range_copy;
pub mod sniff;
pub mod transform;
pub mod verify;
pub mod vm;
pub mod vmdk;
pub mod vmx;

pub use error::{Error, ErrorKind, Location, Result};
pub use limits::Limits;
