//! # ovftool
//!
//! The library behind `ovftool-rs`: read, check and write virtual appliances.
//!
//! * [`ovf`]: the OVF descriptor (DMTF DSP0243 0.9/1.x/2.x) as a lossless element tree with typed
//!   views, a writer and a validator.
//! * [`ova`], [`manifest`], [`digest`]: the OVA tar container, `.mf` manifests and `.cert`
//!   signatures.
//! * [`vmdk`], [`disk`]: the VMDK engine (every layout, streamOptimized in and out) and the one
//!   disk pipeline every conversion goes through; [`convert()`] converts one disk file into
//!   another layout.
//! * [`vmx`], [`vm`]: the `.vmx` configuration file and the neutral VM model between OVF and VMX.
//!
//! Everything read from a file is untrusted: sizes are bounded by [`limits`], names pass through
//! [`gate`], outputs appear only when complete ([`output`]).
//!
//! # Example
//!
//! Verify a package, import it as a VM folder, and export that VM again as an OVA:
//!
//! ```no_run
//! use std::path::Path;
//!
//! use ovftool::{ExportOptions, ImportOptions, VerifyOptions};
//!
//! # fn main() -> ovftool::Result<()> {
//! // Digests, sizes, descriptor and signature, without writing anything.
//! let report = ovftool::verify(Path::new("appliance.ova"), &VerifyOptions::default())?;
//! if !report.passed() {
//!     for f in report.errors() {
//!         eprintln!("[{}] {}", f.code, f.message);
//!     }
//!     return Ok(());
//! }
//!
//! // Import: a VM folder with a .vmx and thin disks, in deployment option "small".
//! let imported = ovftool::import(
//!     Path::new("appliance.ova"),
//!     Path::new("vms"),
//!     &ImportOptions {
//!         deployment_option: Some("small".into()),
//!         ..ImportOptions::default()
//!     },
//! )?;
//! println!("wrote {}", imported.vmx.display());
//!
//! // Export: OVF 1.0 + SHA-256 manifest + streamOptimized disks in one OVA.
//! let exported = ovftool::export(&imported.vmx, Path::new("copy.ova"), &ExportOptions::default())?;
//! println!("wrote {} ({}, {:?})", exported.output.display(), exported.format, exported.manifest_algorithm);
//! # Ok(())
//! # }
//! ```
//!
//! Progress is optional: set `progress` in the options to a [`progress::Progress`] receiver.
//!
//! Smaller programs per job are in `examples/` (`import`, `export`, `verify`, `convert`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cert;
pub(crate) mod channel;
pub mod codec;
pub mod convert;
pub mod descriptor_source;
pub mod digest;
pub mod disk;
mod disk_open;
pub mod error;
pub mod export;
pub(crate) mod file_reader;
pub mod finding;
pub mod gate;
pub mod import;
pub(crate) mod inflate;
pub mod json_path;
pub mod limits;
pub mod manifest;
#[cfg(feature = "vsphere")]
pub mod net;
pub mod output;
pub mod ova;
pub mod ovf;
pub mod pack;
pub mod package_files;
pub(crate) mod pio;
pub mod progress;
pub mod qcow2;
pub(crate) mod range_copy;
pub(crate) mod scan;
pub mod sniff;
pub mod transform;
pub mod verify;
pub mod vm;
pub mod vmdk;
pub mod vmx;
#[cfg(feature = "vsphere")]
pub mod vsphere;

pub use convert::{convert, ConvertOptions, ConvertReport};
pub use disk_open::open_disk;
pub use error::{Error, ErrorKind, Hint, Location, Result};
pub use export::{export, ExportOptions, ExportReport};
pub use import::{import, ImportOptions, ImportReport};
pub use limits::Limits;
pub use verify::{verify, Report as VerifyReport, VerifyOptions};
