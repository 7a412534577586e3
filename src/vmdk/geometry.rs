//! Disk geometry (CHS) written into descriptors, and the adapter types that decide it
//! (VDF5 §"The Disk Database"; docs/FORMATS.md §1.3).
//!
//! VMware-written descriptors and QEMU agree: 16 heads for IDE, 255 for every other adapter,
//! 63 sectors per track, cylinders = floor(capacity / (heads * 63)), not clamped.

use std::fmt;

use crate::error::{Error, Result};
use crate::vm::{BusFamily, ControllerKind};

/// `ddb.adapterType`: the controller a disk was made for (only a hint for geometry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdapterType {
    /// `ide`
    Ide,
    /// `buslogic`
    BusLogic,
    /// `lsilogic` (also what ESXi writes for SAS/PVSCSI disks)
    #[default]
    LsiLogic,
    /// `legacyESX`
    LegacyEsx,
}

impl AdapterType {
    /// The value as written in `ddb.adapterType`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdapterType::Ide => "ide",
            AdapterType::BusLogic => "buslogic",
            AdapterType::LsiLogic => "lsilogic",
            AdapterType::LegacyEsx => "legacyESX",
        }
    }

    /// The `ddb.adapterType` of a disk on a controller of `family` and `kind` (`None` when the
    /// machine names no such controller): VMware writes `ide` for IDE disks, `buslogic` for
    /// BusLogic and `lsilogic` for SCSI, SAS, PVSCSI, SATA and NVMe ones.
    pub fn for_controller(family: BusFamily, kind: Option<ControllerKind>) -> Self {
        match (family, kind) {
            (BusFamily::Ide, _) | (_, Some(ControllerKind::Ide)) => AdapterType::Ide,
            (_, Some(ControllerKind::BusLogic)) => AdapterType::BusLogic,
            _ => AdapterType::LsiLogic,
        }
    }

    /// Parses a `ddb.adapterType` value (case-insensitive). `pvscsi`, `lsisas1068` and
    /// `lsilogicsas` map to `lsilogic`, which is what ESXi writes for such disks.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for an unknown name.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ide" | "ata" | "sata" => Ok(AdapterType::Ide),
            "buslogic" => Ok(AdapterType::BusLogic),
            "lsilogic" | "lsilogicsas" | "lsisas1068" | "pvscsi" | "scsi" | "nvme" => {
                Ok(AdapterType::LsiLogic)
            }
            "legacyesx" => Ok(AdapterType::LegacyEsx),
            _ => Err(Error::usage(format!(
                "unknown adapter type {s:?}: expected ide, buslogic, lsilogic or legacyESX"
            ))),
        }
    }
}

impl fmt::Display for AdapterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cylinders/heads/sectors as written in `ddb.geometry.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// `ddb.geometry.cylinders`
    pub cylinders: u64,
    /// `ddb.geometry.heads`
    pub heads: u32,
    /// `ddb.geometry.sectors`
    pub sectors: u32,
}

impl Geometry {
    /// The geometry VMware and QEMU write for a disk of `capacity_sectors` on `adapter`.
    pub fn for_capacity(capacity_sectors: u64, adapter: AdapterType) -> Self {
        let heads: u32 = if adapter == AdapterType::Ide { 16 } else { 255 };
        let sectors: u32 = 63;
        Geometry {
            cylinders: capacity_sectors / (u64::from(heads) * u64::from(sectors)),
            heads,
            sectors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmware_samples() {
        // VDF5 example and ESXi samples (docs/FORMATS.md §1.3).
        let g = Geometry::for_capacity(10_485_760, AdapterType::Ide);
        assert_eq!((g.cylinders, g.heads, g.sectors), (10402, 16, 63));
        assert_eq!(
            Geometry::for_capacity(75_497_472, AdapterType::Ide).cylinders,
            74898
        );
        assert_eq!(
            Geometry::for_capacity(67_108_864, AdapterType::LsiLogic).cylinders,
            4177
        );
        assert_eq!(
            Geometry::for_capacity(268_435_456, AdapterType::BusLogic).cylinders,
            16709
        );
    }

    #[test]
    fn adapter_names() {
        assert_eq!(AdapterType::parse("IDE").unwrap(), AdapterType::Ide);
        assert_eq!(
            AdapterType::parse("legacyESX").unwrap(),
            AdapterType::LegacyEsx
        );
        assert!(AdapterType::parse("floppy").is_err());
    }
}
