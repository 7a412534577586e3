//! Disk geometry (CHS) written into descriptors, decided by the disk's [`AdapterType`]
//! (VDF5 §"The Disk Database"; docs/FORMATS.md §1.3).
//!
//! VMware-written descriptors and QEMU agree: 16 heads for IDE, 255 for every other adapter,
//! 63 sectors per track, cylinders = floor(capacity / (heads * 63)), not clamped.

use crate::vm::AdapterType;

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
}
