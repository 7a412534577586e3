//! Reader of hosted sparse extents (`KDMV`, versions 1–3, uncompressed): grain directory, grain
//! tables, zeroed-grain entries (VDF5 §"Hosted Sparse Extents"; docs/FORMATS.md §2.3); and of ESXi
//! `COWD` redo logs (vmfsSparse), which differ only in header layout and table size; and of
//! compressed (streamOptimized) extents through their tables, so a delta may sit on one.
//!
//! # Security
//! Every table offset and grain offset read from the file is checked against the file length
//! before it is used; the grain directory is allocated only after checking that it fits in the
//! file, and grain tables are loaded one at a time, so memory is bounded by the file, not by
//! what the header claims.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::codec::Inflater;
use crate::disk::GRAIN_BYTES;
use crate::error::{Error, Result};
use crate::limits::{Limits, SECTOR_SIZE};
use crate::pio::read_exact_at;
use crate::vmdk::extent::{ExtentRead, Run};
use crate::vmdk::header::{SparseHeader, FLAG_REDUNDANT_GD, GD_AT_END, MAX_GRAIN_SECTORS};

/// An open hosted sparse extent.
#[derive(Debug)]
pub struct SparseExtent {
    file: File,
    path: PathBuf,
    file_len: u64,
    header: SparseHeader,
    gd_offset_bytes: u64,
    gd: Vec<u32>,
    /// The last grain table read: its sector and entries.
    gt_cache: Option<(usize, Vec<u32>)>,
    capacity_bytes: u64,
    grain_bytes: u64,
    cowd: bool,
    /// Compressed extents: the decompressor and the last grain decoded (its sector, bytes).
    inflater: Option<Inflater>,
    decoded: Option<(u64, Vec<u8>)>,
}

/// Compressed extents hand out locators, not file offsets: the grain's sector shifted left by
/// this many bits, plus the byte offset inside the grain (grains are 64 KiB < 2^20).
const LOCATOR_SHIFT: u32 = 20;

/// `COWD`: the magic of ESXi vmfsSparse redo logs (VDF5 §"ESXi Server Sparse Extents").
pub const COWD_MAGIC: &[u8; 4] = b"COWD";

/// Grain-table entries per table in a COWD extent (fixed; VDF5, QEMU `vmdk_open_vmfs_sparse`).
pub const COWD_GTES_PER_GT: u32 = 4096;

fn le32(b: &[u8; 512], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Decodes the first sector of a COWD header into the equivalent [`SparseHeader`] view:
/// `version@4, flags@8, capacity@12, grainSize@16, gdOffset@20, numGDEntries@24,
/// freeSector@28` (32-bit, sectors); grain tables of 4096 entries; no redundant directory.
fn cowd_header(b: &[u8; 512]) -> Result<SparseHeader> {
    let grain = u64::from(le32(b, 16));
    if grain == 0 || !grain.is_power_of_two() || grain > MAX_GRAIN_SECTORS {
        return Err(Error::corrupt(format!(
            "bad COWD grain size: expected a power of two up to {MAX_GRAIN_SECTORS} sectors, found {grain}"
        ))
        .with_offset(16));
    }
    Ok(SparseHeader {
        version: le32(b, 4),
        flags: 0,
        capacity_sectors: u64::from(le32(b, 12)),
        grain_sectors: grain,
        descriptor_offset_sectors: 0,
        descriptor_size_sectors: 0,
        num_gtes_per_gt: COWD_GTES_PER_GT,
        rgd_offset_sectors: 0,
        gd_offset_sectors: u64::from(le32(b, 20)),
        overhead_sectors: u64::from(le32(b, 28)),
        unclean_shutdown: false,
        compress_algorithm: 0,
    })
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl SparseExtent {
    /// Opens `path` and reads its header and grain directory.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] for a bad header or a directory outside the file,
    /// [`crate::ErrorKind::Unsupported`] for compressed extents without markers or with grains
    /// other than 64 KiB,
    /// [`crate::ErrorKind::LimitExceeded`] for a capacity above `limits`, [`crate::ErrorKind::Io`].
    ///
    /// # Security
    /// The file is untrusted; see the module documentation.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", e).with_path(path))?
            .len();
        let mut hb = [0u8; 512];
        if file_len < 512 {
            return Err(Error::corrupt(format!(
                "sparse extent too short: expected at least 512 bytes, found {file_len}"
            ))
            .with_path(path));
        }
        read_exact_at(&file, path, 0, &mut hb)?;
        let header = if &hb[..4] == COWD_MAGIC {
            cowd_header(&hb).map_err(|e| e.with_path(path))?
        } else {
            SparseHeader::parse(&hb).map_err(|e| e.with_path(path))?
        };
        let cowd = &hb[..4] == COWD_MAGIC;
        let mut me = Self::from_header(file, path, file_len, header, limits)?;
        me.cowd = cowd;
        Ok(me)
    }

    /// Whether this is an ESXi COWD (vmfsSparse) extent.
    pub fn is_cowd(&self) -> bool {
        self.cowd
    }

    fn from_header(
        file: File,
        path: &Path,
        file_len: u64,
        header: SparseHeader,
        limits: &Limits,
    ) -> Result<Self> {
        let mut header = header;
        if header.is_compressed() {
            // streamOptimized, read at random through its tables (a chain's base may be one).
            if !header.has_markers() || header.grain_bytes() != GRAIN_BYTES {
                return Err(Error::unsupported(
                    "compressed sparse extent without grain markers or with grains other than 64 KiB",
                )
                .with_path(path));
            }
            if header.gd_offset_sectors == GD_AT_END {
                // VDF5 §streamOptimized: the footer (end - 1024) holds the real directory offset.
                if file_len < 1536 {
                    return Err(
                        Error::corrupt("streamOptimized file too short for a footer")
                            .with_path(path),
                    );
                }
                let mut fb = [0u8; 512];
                read_exact_at(&file, path, file_len - 1024, &mut fb)?;
                let footer = SparseHeader::parse(&fb)
                    .map_err(|e| e.with_path(path).with_offset(file_len - 1024))?;
                if footer.gd_offset_sectors == GD_AT_END
                    || footer.capacity_sectors != header.capacity_sectors
                    || footer.grain_sectors != header.grain_sectors
                {
                    return Err(Error::corrupt(
                        "streamOptimized footer disagrees with the header or has no directory",
                    )
                    .with_path(path)
                    .with_offset(file_len - 1024));
                }
                header = footer;
            }
        }
        let capacity_bytes = header
            .capacity_bytes()
            .filter(|&c| c <= limits.max_disk_capacity_bytes)
            .ok_or_else(|| {
                Error::limit(
                    "sparse extent capacity in bytes",
                    header.capacity_sectors.saturating_mul(SECTOR_SIZE),
                    limits.max_disk_capacity_bytes,
                )
                .with_path(path)
                .with_offset(12)
            })?;
        let gd_entries = header.gd_entries();
        let gd_bytes = gd_entries.checked_mul(4).ok_or_else(|| {
            Error::corrupt("grain directory size overflows")
                .with_path(path)
                .with_offset(12)
        })?;
        let fits = |sectors: u64| -> Option<u64> {
            if sectors == 0 || sectors == GD_AT_END {
                return None;
            }
            let off = sectors.checked_mul(SECTOR_SIZE)?;
            let end = off.checked_add(gd_bytes)?;
            (end <= file_len).then_some(off)
        };
        let gd_offset_bytes = match fits(header.gd_offset_sectors) {
            Some(off) => off,
            None => {
                // The primary directory is damaged: the redundant copy, when present, is as good.
                let rgd = if header.flags & FLAG_REDUNDANT_GD != 0 {
                    fits(header.rgd_offset_sectors)
                } else {
                    None
                };
                rgd.ok_or_else(|| {
                    Error::corrupt(format!(
                        "grain directory at sector {} ({} bytes) lies outside the file of {} bytes",
                        header.gd_offset_sectors, gd_bytes, file_len
                    ))
                    .with_path(path)
                    .with_offset(56)
                })?
            }
        };
        let len = usize::try_from(gd_bytes).map_err(|_| {
            Error::limit("grain directory size", gd_bytes, usize::MAX as u64).with_path(path)
        })?;
        let mut raw = vec![0u8; len];
        read_exact_at(&file, path, gd_offset_bytes, &mut raw)?;
        Ok(SparseExtent {
            file,
            path: path.to_path_buf(),
            file_len,
            header,
            gd_offset_bytes,
            gd: u32s(&raw),
            gt_cache: None,
            capacity_bytes,
            grain_bytes: header.grain_bytes(),
            cowd: false,
            inflater: None,
            decoded: None,
        })
    }

    /// The header.
    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// The embedded descriptor bytes (NUL padding included), if the header points at one.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the area lies outside the file, [`crate::ErrorKind::LimitExceeded`]
    /// above [`Limits::max_vmdk_descriptor_bytes`].
    pub fn embedded_descriptor(&self, limits: &Limits) -> Result<Option<Vec<u8>>> {
        read_embedded_descriptor(&self.file, &self.path, self.file_len, &self.header, limits)
    }

    fn load_gt(&mut self, gd_index: usize) -> Result<Option<&[u32]>> {
        let gde = match self.gd.get(gd_index) {
            Some(&g) => g,
            None => return Ok(None),
        };
        if gde == 0 {
            return Ok(None);
        }
        // Keyed by the table's sector, so entries sharing one table (hostile or not) hit too.
        let hit = matches!(&self.gt_cache, Some((sector, _)) if *sector == gde as usize);
        if !hit {
            let n = self.header.num_gtes_per_gt as usize;
            let off = u64::from(gde) * SECTOR_SIZE;
            let gt_bytes = n as u64 * 4;
            if off
                .checked_add(gt_bytes)
                .is_none_or(|end| end > self.file_len)
            {
                return Err(Error::corrupt(format!(
                    "grain table {gd_index} at sector {gde} lies outside the file of {} bytes",
                    self.file_len
                ))
                .with_path(&self.path)
                .with_offset(self.gd_offset_bytes + gd_index as u64 * 4));
            }
            let mut raw = vec![0u8; n * 4];
            read_exact_at(&self.file, &self.path, off, &mut raw)?;
            self.gt_cache = Some((gde as usize, u32s(&raw)));
        }
        Ok(self.gt_cache.as_ref().map(|(_, gt)| gt.as_slice()))
    }

    /// Reads and inflates the compressed grain whose marker starts at `sector`:
    /// `{u64 lba, u32 size, zlib data}` (VDF5 §streamOptimized "grain marker").
    fn decode_grain(&mut self, sector: u64) -> Result<Vec<u8>> {
        let at = sector * SECTOR_SIZE;
        let mut m = [0u8; 12];
        if at.checked_add(12).is_none_or(|end| end > self.file_len) {
            return Err(Error::corrupt("grain marker lies outside the file")
                .with_path(&self.path)
                .with_offset(at));
        }
        read_exact_at(&self.file, &self.path, at, &mut m)?;
        let lba = u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]]);
        let size = u64::from(u32::from_le_bytes([m[8], m[9], m[10], m[11]]));
        let start = lba
            .checked_mul(SECTOR_SIZE)
            .filter(|&s| s < self.capacity_bytes && s % self.grain_bytes == 0);
        let Some(start) = start else {
            return Err(Error::corrupt(format!(
                "grain marker LBA {lba} is not a grain of this disk"
            ))
            .with_path(&self.path)
            .with_offset(at));
        };
        // Compressed data may exceed the grain a little (LIBYAL); QEMU reads up to two grains.
        if size == 0 || size > 2 * self.grain_bytes || at + 12 + size > self.file_len {
            return Err(Error::corrupt(format!(
                "bad grain marker: compressed size {size} (at most two grains, inside the file)"
            ))
            .with_path(&self.path)
            .with_offset(at));
        }
        let mut data = vec![0u8; size as usize];
        read_exact_at(&self.file, &self.path, at + 12, &mut data)?;
        let len = self.grain_bytes.min(self.capacity_bytes - start) as usize;
        let mut grain = self
            .inflater
            .get_or_insert_with(Inflater::new)
            .inflate_grain(&data, len)
            .map_err(|e| e.with_path(&self.path).with_offset(at))?;
        grain.resize(self.grain_bytes as usize, 0);
        Ok(grain)
    }

    /// Counts the allocated (data) grains; for reports.
    ///
    /// # Errors
    /// As reading grain tables.
    pub fn allocated_grains(&mut self) -> Result<u64> {
        let mut n = 0u64;
        let total_grains = self.capacity_bytes.div_ceil(self.grain_bytes);
        let per_gt = u64::from(self.header.num_gtes_per_gt);
        for i in 0..self.gd.len() {
            let base = i as u64 * per_gt;
            if let Some(gt) = self.load_gt(i)? {
                n += gt
                    .iter()
                    .enumerate()
                    .filter(|(j, &e)| e > 1 && base + (*j as u64) < total_grains)
                    .count() as u64;
            }
        }
        Ok(n)
    }
}

/// Reads the embedded descriptor area that a header points at (sparse or streamOptimized).
///
/// # Errors
/// [`crate::ErrorKind::Corrupt`] when the area lies outside the file, [`crate::ErrorKind::LimitExceeded`]
/// above [`Limits::max_vmdk_descriptor_bytes`].
pub fn read_embedded_descriptor(
    file: &File,
    path: &Path,
    file_len: u64,
    header: &SparseHeader,
    limits: &Limits,
) -> Result<Option<Vec<u8>>> {
    if header.descriptor_offset_sectors == 0 || header.descriptor_size_sectors == 0 {
        return Ok(None);
    }
    let size = header
        .descriptor_size_sectors
        .checked_mul(SECTOR_SIZE)
        .filter(|&s| s <= limits.max_vmdk_descriptor_bytes)
        .ok_or_else(|| {
            Error::limit(
                "embedded descriptor size in bytes",
                header.descriptor_size_sectors.saturating_mul(SECTOR_SIZE),
                limits.max_vmdk_descriptor_bytes,
            )
            .with_path(path)
            .with_offset(36)
        })?;
    let off = header
        .descriptor_offset_sectors
        .checked_mul(SECTOR_SIZE)
        .filter(|o| o.checked_add(size).is_some_and(|end| end <= file_len))
        .ok_or_else(|| {
            Error::corrupt(format!(
                "embedded descriptor at sector {} ({size} bytes) lies outside the file of {file_len} bytes",
                header.descriptor_offset_sectors
            ))
            .with_path(path)
            .with_offset(28)
        })?;
    let mut buf = vec![0u8; size as usize];
    read_exact_at(file, path, off, &mut buf)?;
    Ok(Some(buf))
}

impl ExtentRead for SparseExtent {
    fn len_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn map(&mut self, offset: u64, max_len: u64) -> Result<(Run, u64)> {
        let gb = self.grain_bytes;
        let grain = offset / gb;
        let within = offset % gb;
        let run = max_len.min(gb - within);
        let per_gt = u64::from(self.header.num_gtes_per_gt);
        let gd_index = (grain / per_gt) as usize;
        let gte_index = (grain % per_gt) as usize;
        let file_len = self.file_len;
        let gt = match self.load_gt(gd_index)? {
            Some(gt) => gt,
            None => return Ok((Run::Unallocated, run)),
        };
        let gte = gt.get(gte_index).copied().unwrap_or(0);
        match gte {
            0 => Ok((Run::Unallocated, run)),
            // Zeroed grain (version 2+, VDF5 p.7); sector 1 is never grain data anyway.
            1 => Ok((Run::Zero, run)),
            g if self.header.is_compressed() => {
                Ok((Run::Data((u64::from(g) << LOCATOR_SHIFT) | within), run))
            }
            g => {
                let start = u64::from(g) * SECTOR_SIZE + within;
                if start + run > file_len {
                    let gt_off = u64::from(self.gd[gd_index]) * SECTOR_SIZE + gte_index as u64 * 4;
                    return Err(Error::corrupt(format!(
                        "grain {grain} at sector {g} lies outside the file of {file_len} bytes"
                    ))
                    .with_path(&self.path)
                    .with_offset(gt_off));
                }
                Ok((Run::Data(start), run))
            }
        }
    }

    fn read_at(&mut self, file_offset: u64, buf: &mut [u8]) -> Result<()> {
        if !self.header.is_compressed() {
            return read_exact_at(&self.file, &self.path, file_offset, buf);
        }
        let sector = file_offset >> LOCATOR_SHIFT;
        let within = (file_offset & ((1 << LOCATOR_SHIFT) - 1)) as usize;
        if !matches!(&self.decoded, Some((s, _)) if *s == sector) {
            let grain = self.decode_grain(sector)?;
            self.decoded = Some((sector, grain));
        }
        let grain = self
            .decoded
            .as_ref()
            .map(|(_, g)| g.as_slice())
            .unwrap_or(&[]);
        let src = grain.get(within..within + buf.len()).ok_or_else(|| {
            Error::corrupt("compressed grain shorter than the disk range it covers")
                .with_path(&self.path)
                .with_offset(sector * SECTOR_SIZE)
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn next_data(&mut self, offset: u64) -> Result<Option<u64>> {
        if offset >= self.capacity_bytes {
            return Ok(None);
        }
        let gb = self.grain_bytes;
        let per_gt = u64::from(self.header.num_gtes_per_gt);
        let mut grain = offset / gb;
        let total_grains = self.capacity_bytes.div_ceil(gb);
        while grain < total_grains {
            let gd_index = (grain / per_gt) as usize;
            let first = (grain % per_gt) as usize;
            match self.load_gt(gd_index)? {
                None => {}
                Some(gt) => {
                    if let Some(j) = gt[first..].iter().position(|&e| e > 1) {
                        let g = grain + j as u64;
                        if g >= total_grains {
                            return Ok(None);
                        }
                        return Ok(Some((g * gb).max(offset)));
                    }
                }
            }
            grain = (grain / per_gt + 1) * per_gt;
        }
        Ok(None)
    }

    fn kind_name(&self) -> &'static str {
        if self.cowd {
            "cowd"
        } else {
            "sparse"
        }
    }

    fn stored_bytes(&mut self) -> Result<u64> {
        Ok(self.allocated_grains()?.saturating_mul(self.grain_bytes))
    }
}

impl From<SparseExtent> for Box<dyn ExtentRead> {
    fn from(e: SparseExtent) -> Self {
        Box::new(e)
    }
}
