//! Deploy to vSphere: a small vSphere Web Services client (SOAP over HTTPS) and the streaming
//! deploy of an OVA to a vCenter or a standalone ESXi host (`import SRC vi://...`).
//!
//! - [`locator`]: ovftool's `vi://USER@HOST/DC/host/CLUSTER` locators;
//! - [`client`]: the SOAP calls (login, inventory, import spec, lease, tasks) and disk uploads;
//! - [`import_spec`]: the import spec's errors and warnings, coded by fault type;
//! - [`deploy`]: one pass from the package to the datastore, verified before the lease
//!   completes, the half-created VM removed on any failure.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use ovftool::net::TlsPolicy;
//! use ovftool::vsphere::{deploy, Locator};
//!
//! let target = deploy::Target {
//!     locator: Locator::parse("vi://admin@vc.example/DC0/host/Cluster")?,
//!     password: std::env::var("OVFTOOL_PASSWORD").unwrap_or_default(),
//!     tls: TlsPolicy::Thumbprint("2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B9".into()),
//!     https: true,
//! };
//! let opts = deploy::DeployOptions { datastore: Some("ds1".into()), ..Default::default() };
//! // An OVA file, a package folder, an `.ovf`, `-` (standard input) or an http(s) URL.
//! let report = deploy::deploy(Path::new("appliance.ova"), &target, &opts)?;
//! println!("{} ({})", report.inventory_path, report.vm);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
pub mod deploy;
pub mod import_spec;
pub mod locator;
pub mod xml;

pub use client::{MoRef, Session};
pub use locator::Locator;
