//! The 512-byte hosted sparse extent header (`KDMV`), kept apart from the readers and writers
//! that interpret it (VDF5 §"Hosted Sparse Extent Header"; docs/FORMATS.md §2.1).
//!
//! [`SparseHeader::parse`] only decodes the bytes and checks what makes the header itself
//! meaningless (magic, version, flag combinations, newline test, grain size and table geometry
//! bounds); cross-checks against the file size belong to the readers.

use crate::error::{Error, Result};
use crate::limits::SECTOR_SIZE;

/// `KDMV` as a little-endian u32 (`0x564d444b`).
pub const SPARSE_MAGIC: u32 = 0x564d_444b;
/// `gdOffset` value meaning "the grain directory is at the end; read the footer" (streamOptimized).
pub const GD_AT_END: u64 = u64::MAX;

/// Flag bit 0: the newline-detection characters are valid.
pub const FLAG_NEWLINE_TEST: u32 = 1 << 0;
/// Flag bit 1: a redundant grain directory is in use (`rgdOffset` valid).
pub const FLAG_REDUNDANT_GD: u32 = 1 << 1;
/// Flag bit 2: zeroed-grain table entries (value 1) may be used.
pub const FLAG_ZEROED_GTE: u32 = 1 << 2;
/// Flag bit 16: grains are compressed (algorithm in `compress_algorithm`).
pub const FLAG_COMPRESSED: u32 = 1 << 16;
/// Flag bit 17: markers present (streamOptimized).
pub const FLAG_MARKERS: u32 = 1 << 17;
/// Compression algorithm DEFLATE (zlib framing in practice, docs/FORMATS.md §3.2).
pub const COMPRESSION_DEFLATE: u16 = 1;

/// Largest grain accepted, in sectors (1 MiB; every writer uses 128).
pub const MAX_GRAIN_SECTORS: u64 = 2048;

/// A decoded hosted sparse extent header. Sizes and offsets are in sectors, as on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SparseHeader {
    /// 1, 2 or 3.
    pub version: u32,
    /// See the `FLAG_*` constants.
    pub flags: u32,
    /// Capacity of the extent, in sectors.
    pub capacity_sectors: u64,
    /// Grain size, in sectors (power of two).
    pub grain_sectors: u64,
    /// Start of the embedded descriptor, in sectors (0 = none).
    pub descriptor_offset_sectors: u64,
    /// Size of the embedded descriptor area, in sectors.
    pub descriptor_size_sectors: u64,
    /// Entries per grain table (512 in every real file).
    pub num_gtes_per_gt: u32,
    /// Redundant grain directory, in sectors.
    pub rgd_offset_sectors: u64,
    /// Grain directory, in sectors, or [`GD_AT_END`].
    pub gd_offset_sectors: u64,
    /// Metadata size, in sectors (first grain starts at or after it).
    pub overhead_sectors: u64,
    /// Whether the extent was not closed cleanly.
    pub unclean_shutdown: bool,
    /// 0 = none, 1 = deflate.
    pub compress_algorithm: u16,
}

fn u32_at(b: &[u8; 512], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8; 512], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

impl SparseHeader {
    /// Decodes and sanity-checks a header.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] for a bad magic, version, flags, newline test, grain size
    /// or table geometry; [`crate::ErrorKind::LimitExceeded`] for a grain above
    /// [`MAX_GRAIN_SECTORS`].
    pub fn parse(b: &[u8; 512]) -> Result<Self> {
        let magic = u32_at(b, 0);
        if magic != SPARSE_MAGIC {
            return Err(Error::corrupt(format!(
                "not a sparse VMDK extent: expected magic KDMV, found {:02x?}",
                &b[0..4]
            ))
            .with_offset(0));
        }
        let h = SparseHeader {
            version: u32_at(b, 4),
            flags: u32_at(b, 8),
            capacity_sectors: u64_at(b, 12),
            grain_sectors: u64_at(b, 20),
            descriptor_offset_sectors: u64_at(b, 28),
            descriptor_size_sectors: u64_at(b, 36),
            num_gtes_per_gt: u32_at(b, 44),
            rgd_offset_sectors: u64_at(b, 48),
            gd_offset_sectors: u64_at(b, 56),
            overhead_sectors: u64_at(b, 64),
            unclean_shutdown: b[72] != 0,
            compress_algorithm: u16::from_le_bytes([b[77], b[78]]),
        };
        if !(1..=3).contains(&h.version) {
            return Err(Error::corrupt(format!(
                "unsupported sparse VMDK version: expected 1, 2 or 3, found {}",
                h.version
            ))
            .with_offset(4));
        }
        // Bits 16-31 are incompatible features: only "compressed" and "markers" exist.
        let incompat = h.flags & 0xffff_0000;
        if incompat & !(FLAG_COMPRESSED | FLAG_MARKERS) != 0 {
            return Err(Error::corrupt(format!(
                "unknown incompatible header flags {:#x}",
                h.flags
            ))
            .with_offset(8));
        }
        if h.flags & FLAG_MARKERS != 0 && h.flags & FLAG_COMPRESSED == 0 {
            return Err(Error::corrupt("header has markers without compression").with_offset(8));
        }
        if h.flags & FLAG_COMPRESSED != 0 && h.compress_algorithm != COMPRESSION_DEFLATE {
            return Err(Error::corrupt(format!(
                "unsupported grain compression: expected 1 (deflate), found {}",
                h.compress_algorithm
            ))
            .with_offset(77));
        }
        if h.flags & FLAG_NEWLINE_TEST != 0
            && (b[73], b[74], b[75], b[76]) != (b'\n', b' ', b'\r', b'\n')
        {
            // Transferred in text mode somewhere: the file is damaged.
            return Err(Error::corrupt(
                "newline test characters damaged (file transferred in text mode?)",
            )
            .with_offset(73));
        }
        if h.grain_sectors == 0 || !h.grain_sectors.is_power_of_two() || h.grain_sectors < 8 {
            return Err(Error::corrupt(format!(
                "bad grain size: expected a power of two of at least 8 sectors, found {}",
                h.grain_sectors
            ))
            .with_offset(20));
        }
        if h.grain_sectors > MAX_GRAIN_SECTORS {
            return Err(
                Error::limit("grain size in sectors", h.grain_sectors, MAX_GRAIN_SECTORS)
                    .with_offset(20),
            );
        }
        if h.num_gtes_per_gt == 0
            || h.num_gtes_per_gt > 4096
            || !h.num_gtes_per_gt.is_power_of_two()
        {
            return Err(Error::corrupt(format!(
                "bad grain table size: expected a power of two up to 4096 entries, found {}",
                h.num_gtes_per_gt
            ))
            .with_offset(44));
        }
        Ok(h)
    }

    /// Encodes the header (newline-test characters always filled in).
    pub fn to_bytes(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..4].copy_from_slice(&SPARSE_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.version.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.capacity_sectors.to_le_bytes());
        b[20..28].copy_from_slice(&self.grain_sectors.to_le_bytes());
        b[28..36].copy_from_slice(&self.descriptor_offset_sectors.to_le_bytes());
        b[36..44].copy_from_slice(&self.descriptor_size_sectors.to_le_bytes());
        b[44..48].copy_from_slice(&self.num_gtes_per_gt.to_le_bytes());
        b[48..56].copy_from_slice(&self.rgd_offset_sectors.to_le_bytes());
        b[56..64].copy_from_slice(&self.gd_offset_sectors.to_le_bytes());
        b[64..72].copy_from_slice(&self.overhead_sectors.to_le_bytes());
        b[72] = u8::from(self.unclean_shutdown);
        b[73] = b'\n';
        b[74] = b' ';
        b[75] = b'\r';
        b[76] = b'\n';
        b[77..79].copy_from_slice(&self.compress_algorithm.to_le_bytes());
        b
    }

    /// Capacity in bytes (checked).
    pub fn capacity_bytes(&self) -> Option<u64> {
        self.capacity_sectors.checked_mul(SECTOR_SIZE)
    }

    /// Grain size in bytes.
    pub fn grain_bytes(&self) -> u64 {
        self.grain_sectors * SECTOR_SIZE
    }

    /// Sectors covered by one grain table (`numGTEsPerGT * grainSize`).
    pub fn gt_coverage_sectors(&self) -> u64 {
        u64::from(self.num_gtes_per_gt) * self.grain_sectors
    }

    /// Number of grain-directory entries: `ceil(capacity / gt_coverage)`.
    pub fn gd_entries(&self) -> u64 {
        self.capacity_sectors.div_ceil(self.gt_coverage_sectors())
    }

    /// Whether grains are compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Whether the extent has markers (streamOptimized).
    pub fn has_markers(&self) -> bool {
        self.flags & FLAG_MARKERS != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_header() -> SparseHeader {
        SparseHeader {
            version: 3,
            flags: FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS,
            capacity_sectors: 2048,
            grain_sectors: 128,
            descriptor_offset_sectors: 1,
            descriptor_size_sectors: 20,
            num_gtes_per_gt: 512,
            rgd_offset_sectors: 0,
            gd_offset_sectors: GD_AT_END,
            overhead_sectors: 128,
            unclean_shutdown: false,
            compress_algorithm: COMPRESSION_DEFLATE,
        }
    }

    #[test]
    fn round_trip() {
        let h = stream_header();
        let b = h.to_bytes();
        assert_eq!(&b[0..4], b"KDMV");
        assert_eq!(SparseHeader::parse(&b).unwrap(), h);
        assert_eq!(h.gd_entries(), 1);
    }

    #[test]
    fn rejects_damage() {
        let good = stream_header().to_bytes();
        let mut b = good;
        b[0] = b'X';
        assert!(SparseHeader::parse(&b).is_err());
        let mut b = good;
        b[4] = 4;
        assert!(SparseHeader::parse(&b).is_err());
        let mut b = good;
        b[75] = b'\n';
        assert!(SparseHeader::parse(&b).is_err());
        let mut b = good;
        b[20] = 3;
        assert!(SparseHeader::parse(&b).is_err());
        let mut b = good;
        b[10] = 0x08; // unknown incompatible flag bit 19
        assert!(SparseHeader::parse(&b).is_err());
    }
}
