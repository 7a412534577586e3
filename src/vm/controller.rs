//! Storage controller kinds and their unit limits: the one table used by the OVF validator, the
//! neutral model's validation, import and export; and the [`AdapterType`] a disk records for the
//! controller it was made for.
//!
//! Limits (vSphere configuration maximums, docs/FORMATS.md §6–7): LSI Logic, BusLogic and LSI Logic
//! SAS have 16 SCSI targets with unit 7 taken by the controller itself (15 usable); PVSCSI has 64
//! (unit 7 reserved too); IDE has 2 units per channel; SATA (AHCI) 30; NVMe 15 (64 on newer
//! hardware versions, but 15 is the portable limit).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vm::BusFamily;

/// A kind of storage controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControllerKind {
    /// IDE channel (`ideN` in .vmx; OVF ResourceType 5).
    Ide,
    /// LSI Logic parallel SCSI (`lsilogic`).
    LsiLogic,
    /// LSI Logic SAS (`lsisas1068`; OVF `lsilogicsas`).
    LsiLogicSas,
    /// BusLogic parallel SCSI (`buslogic`).
    BusLogic,
    /// VMware paravirtual SCSI (`pvscsi`; OVF `VirtualSCSI`).
    Pvscsi,
    /// SATA AHCI (`sataN`; OVF `vmware.sata.ahci`).
    Sata,
    /// NVMe (`nvmeN`; OVF `vmware.nvme.controller`).
    Nvme,
}

/// Unit-number rules of one controller kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitLimits {
    /// Highest usable unit number plus one (units are `0..unit_count`).
    pub unit_count: u32,
    /// A unit number taken by the controller itself, if any (SCSI: 7).
    pub reserved_unit: Option<u32>,
    /// Devices that can be attached (`unit_count` minus the reserved unit).
    pub max_devices: u32,
}

impl ControllerKind {
    /// Every kind, in a stable order.
    pub const ALL: [ControllerKind; 7] = [
        ControllerKind::Ide,
        ControllerKind::LsiLogic,
        ControllerKind::LsiLogicSas,
        ControllerKind::BusLogic,
        ControllerKind::Pvscsi,
        ControllerKind::Sata,
        ControllerKind::Nvme,
    ];

    /// The unit limits of this kind (the one table).
    pub fn limits(self) -> UnitLimits {
        match self {
            ControllerKind::Ide => UnitLimits {
                unit_count: 2,
                reserved_unit: None,
                max_devices: 2,
            },
            ControllerKind::LsiLogic | ControllerKind::LsiLogicSas | ControllerKind::BusLogic => {
                UnitLimits {
                    unit_count: 16,
                    reserved_unit: Some(7),
                    max_devices: 15,
                }
            }
            ControllerKind::Pvscsi => UnitLimits {
                unit_count: 65,
                reserved_unit: Some(7),
                max_devices: 64,
            },
            ControllerKind::Sata => UnitLimits {
                unit_count: 30,
                reserved_unit: None,
                max_devices: 30,
            },
            ControllerKind::Nvme => UnitLimits {
                unit_count: 15,
                reserved_unit: None,
                max_devices: 15,
            },
        }
    }

    /// Whether `unit` may hold a device on this kind of controller.
    pub fn unit_is_usable(self, unit: u32) -> bool {
        let l = self.limits();
        unit < l.unit_count && l.reserved_unit != Some(unit)
    }

    /// Whether this is one of the SCSI kinds.
    pub fn is_scsi(self) -> bool {
        matches!(
            self,
            ControllerKind::LsiLogic
                | ControllerKind::LsiLogicSas
                | ControllerKind::BusLogic
                | ControllerKind::Pvscsi
        )
    }
}

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

impl std::fmt::Display for AdapterType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_names() {
        assert_eq!(AdapterType::parse("IDE").unwrap(), AdapterType::Ide);
        assert_eq!(
            AdapterType::parse("legacyESX").unwrap(),
            AdapterType::LegacyEsx
        );
        assert!(AdapterType::parse("floppy").is_err());
    }

    #[test]
    fn scsi_unit_seven_is_reserved() {
        for k in ControllerKind::ALL.into_iter().filter(|k| k.is_scsi()) {
            assert!(!k.unit_is_usable(7));
            assert!(k.unit_is_usable(6) && k.unit_is_usable(8));
        }
        assert!(ControllerKind::LsiLogic.unit_is_usable(15));
        assert!(!ControllerKind::LsiLogic.unit_is_usable(16));
        assert!(ControllerKind::Pvscsi.unit_is_usable(64));
        assert!(!ControllerKind::Ide.unit_is_usable(2));
        assert!(
            ControllerKind::Sata.unit_is_usable(29) && !ControllerKind::Sata.unit_is_usable(30)
        );
        assert!(
            ControllerKind::Nvme.unit_is_usable(14) && !ControllerKind::Nvme.unit_is_usable(15)
        );
    }

    #[test]
    fn max_devices_match_unit_counts() {
        for k in ControllerKind::ALL {
            let l = k.limits();
            let usable = (0..l.unit_count).filter(|u| k.unit_is_usable(*u)).count() as u32;
            assert_eq!(usable, l.max_devices, "{k:?}");
        }
    }
}
