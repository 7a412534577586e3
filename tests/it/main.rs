//! The one integration-test harness. Modules per area; helpers in [`support`].

mod architecture;
mod cli;
mod cli_habits;
mod cross_command;
mod export;
mod fuzz;
mod import;
mod ova;
mod ovf;
mod package_files;
mod qcow2;
mod reliability;
mod sniff;
mod support;
mod transform;
mod vbox_firmware;
mod vmdk;
mod vmdk_hosted;
mod vmx;
#[cfg(feature = "vsphere")]
mod vsphere;
