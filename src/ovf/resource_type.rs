//! The CIM `ResourceType` of a virtual hardware item (`rasd:ResourceType`).
//!
//! The codes are the ValueMap of `CIM_ResourceAllocationSettingData.ResourceType` (DMTF CIM
//! schema 2.x, the `CIM_ResourceAllocationSettingData.xsd` the OVF schemas import: 1..33 named,
//! 0 and 34..32767 "DMTF reserved", 32768..65535 "Vendor Reserved"; docs/FORMATS.md §6.1).
//! Code 35 ("Sound card") is not part of CIM, but VirtualBox writes it and older ovftool
//! versions did too, so it has a name here. Every other code is kept as
//! [`ResourceType::Unknown`], so a descriptor round-trips whatever it says.

use std::fmt;
use std::str::FromStr;

/// A CIM `ResourceType` (an `xs:unsignedShort` on the wire).
///
/// Build one from a number with [`ResourceType::from_code`] or from text with
/// [`str::parse`]; both give the named variant for a named code, so values compare by code
/// ([`PartialEq`] and [`Hash`] use [`ResourceType::code`], even for a hand-made
/// `Unknown(3)`). [`fmt::Display`] writes the number, the form a descriptor holds.
#[derive(Debug, Clone, Copy)]
pub enum ResourceType {
    /// 1: Other (VMware: VMCI, HD audio, and any device without a CIM code).
    Other,
    /// 2: Computer System.
    ComputerSystem,
    /// 3: Processor (virtual CPUs).
    Processor,
    /// 4: Memory.
    Memory,
    /// 5: IDE Controller.
    IdeController,
    /// 6: Parallel SCSI HBA.
    ParallelScsiHba,
    /// 7: FC HBA.
    FcHba,
    /// 8: iSCSI HBA.
    IscsiHba,
    /// 9: IB HCA.
    IbHca,
    /// 10: Ethernet Adapter.
    EthernetAdapter,
    /// 11: Other Network Adapter.
    OtherNetworkAdapter,
    /// 12: I/O Slot.
    IoSlot,
    /// 13: I/O Device.
    IoDevice,
    /// 14: Floppy Drive.
    FloppyDrive,
    /// 15: CD Drive.
    CdDrive,
    /// 16: DVD drive.
    DvdDrive,
    /// 17: Disk Drive.
    DiskDrive,
    /// 18: Tape Drive.
    TapeDrive,
    /// 19: Storage Extent.
    StorageExtent,
    /// 20: Other storage device (VMware: SATA AHCI and NVMe controllers).
    OtherStorageDevice,
    /// 21: Serial port.
    SerialPort,
    /// 22: Parallel port.
    ParallelPort,
    /// 23: USB Controller.
    UsbController,
    /// 24: Graphics controller.
    GraphicsController,
    /// 25: IEEE 1394 Controller.
    Ieee1394Controller,
    /// 26: Partitionable Unit.
    PartitionableUnit,
    /// 27: Base Partitionable Unit.
    BasePartitionableUnit,
    /// 28: Power.
    Power,
    /// 29: Cooling Capacity.
    CoolingCapacity,
    /// 30: Ethernet Switch Port.
    EthernetSwitchPort,
    /// 31: Logical Disk.
    LogicalDisk,
    /// 32: Storage Volume.
    StorageVolume,
    /// 33: Ethernet Connection.
    EthernetConnection,
    /// 35: Sound card: not CIM (DMTF reserved), written by VirtualBox and older ovftool;
    /// accepted on import, never written (VMware writes sound cards as [`ResourceType::Other`]).
    SoundCard,
    /// Any other code: 0, DMTF reserved or vendor reserved (0x8000..=0xFFFF), kept as written.
    Unknown(u16),
}

/// The named codes, in code order (one table for both directions).
const NAMED: [(u16, ResourceType); 34] = [
    (1, ResourceType::Other),
    (2, ResourceType::ComputerSystem),
    (3, ResourceType::Processor),
    (4, ResourceType::Memory),
    (5, ResourceType::IdeController),
    (6, ResourceType::ParallelScsiHba),
    (7, ResourceType::FcHba),
    (8, ResourceType::IscsiHba),
    (9, ResourceType::IbHca),
    (10, ResourceType::EthernetAdapter),
    (11, ResourceType::OtherNetworkAdapter),
    (12, ResourceType::IoSlot),
    (13, ResourceType::IoDevice),
    (14, ResourceType::FloppyDrive),
    (15, ResourceType::CdDrive),
    (16, ResourceType::DvdDrive),
    (17, ResourceType::DiskDrive),
    (18, ResourceType::TapeDrive),
    (19, ResourceType::StorageExtent),
    (20, ResourceType::OtherStorageDevice),
    (21, ResourceType::SerialPort),
    (22, ResourceType::ParallelPort),
    (23, ResourceType::UsbController),
    (24, ResourceType::GraphicsController),
    (25, ResourceType::Ieee1394Controller),
    (26, ResourceType::PartitionableUnit),
    (27, ResourceType::BasePartitionableUnit),
    (28, ResourceType::Power),
    (29, ResourceType::CoolingCapacity),
    (30, ResourceType::EthernetSwitchPort),
    (31, ResourceType::LogicalDisk),
    (32, ResourceType::StorageVolume),
    (33, ResourceType::EthernetConnection),
    (35, ResourceType::SoundCard),
];

impl ResourceType {
    /// The resource type of a code: the named variant when there is one, else
    /// [`ResourceType::Unknown`].
    pub fn from_code(code: u16) -> ResourceType {
        NAMED
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, t)| *t)
            .unwrap_or(ResourceType::Unknown(code))
    }

    /// The code as written in a descriptor.
    pub fn code(self) -> u16 {
        match self {
            ResourceType::Unknown(c) => c,
            named => NAMED
                .iter()
                .find(|(_, t)| std::mem::discriminant(t) == std::mem::discriminant(&named))
                .map(|(c, _)| *c)
                .unwrap_or(0),
        }
    }

    /// Whether items of this type are storage controllers (IDE, parallel SCSI, and the "other
    /// storage device" VMware uses for SATA and NVMe): the parents of disks and drives.
    pub fn is_storage_controller(self) -> bool {
        matches!(
            self,
            ResourceType::IdeController
                | ResourceType::ParallelScsiHba
                | ResourceType::OtherStorageDevice
        )
    }
}

impl Default for ResourceType {
    /// Code 0 (no type): what an item says before one is chosen.
    fn default() -> Self {
        ResourceType::Unknown(0)
    }
}

impl PartialEq for ResourceType {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for ResourceType {}

impl std::hash::Hash for ResourceType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl From<u16> for ResourceType {
    fn from(code: u16) -> Self {
        ResourceType::from_code(code)
    }
}

impl From<ResourceType> for u16 {
    fn from(t: ResourceType) -> Self {
        t.code()
    }
}

impl FromStr for ResourceType {
    type Err = std::num::ParseIntError;

    /// A code as a descriptor writes it (surrounding blanks ignored): a decimal number
    /// 0..=65535, the range of the schema's `xs:unsignedShort`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<u16>().map(ResourceType::from_code)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl serde::Serialize for ResourceType {
    /// As the number.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=u16::MAX {
            let t = ResourceType::from_code(code);
            assert_eq!(t.code(), code);
            assert_eq!(t.to_string().parse::<ResourceType>(), Ok(t));
        }
    }

    #[test]
    fn named_codes_follow_the_cim_value_map() {
        assert_eq!(ResourceType::from_code(3), ResourceType::Processor);
        assert_eq!(ResourceType::from_code(17), ResourceType::DiskDrive);
        assert_eq!(
            ResourceType::from_code(20),
            ResourceType::OtherStorageDevice
        );
        assert_eq!(ResourceType::from_code(35), ResourceType::SoundCard);
        assert!(matches!(
            ResourceType::from_code(34),
            ResourceType::Unknown(34)
        ));
        assert!(matches!(
            ResourceType::from_code(0x8001),
            ResourceType::Unknown(0x8001)
        ));
        // A hand-made Unknown of a named code is that code.
        assert_eq!(ResourceType::Unknown(10), ResourceType::EthernetAdapter);
        let mut seen = std::collections::HashSet::new();
        for (c, t) in NAMED {
            assert!(seen.insert(c), "code {c} named twice");
            assert_eq!(t.code(), c);
        }
    }

    #[test]
    fn text_outside_unsigned_short_is_not_a_resource_type() {
        assert_eq!(
            " 10 ".parse::<ResourceType>(),
            Ok(ResourceType::EthernetAdapter)
        );
        assert!("65536".parse::<ResourceType>().is_err());
        assert!("-1".parse::<ResourceType>().is_err());
        assert!("ten".parse::<ResourceType>().is_err());
    }
}
