//! The streamOptimized writer, in the layout VMware ovftool 4.1 and VirtualBox write
//! (docs/FORMATS.md §3.3, VDF5 §"Stream-Optimized Compressed Sparse Extents"):
//!
//! ```text
//! sector 0      header: version 3, flags newline-test|compressed|markers, grain 128,
//!               gdOffset = GD_AT_END, overHead = 128
//! sector 1..    embedded descriptor (createType="streamOptimized"), zero padded to sector 128
//! sector 128..  {grain marker (lba, size) + zlib data, padded to a sector} in LBA order;
//!               after the grains of each 32 MiB table: GT marker (4 sectors) + GT
//! end−…         GD marker + GD, footer marker (1 sector) + footer (header copy with the real
//!               gdOffset) at end−1536/−1024, end-of-stream marker at end−512
//! ```
//!
//! All-zero grains are never written; grain tables without an allocated grain are omitted (their
//! directory entry stays 0, as ovftool does). Nothing is ever seeked, so the output can be any
//! [`Write`]: a file, a pipe, an OVA tar entry behind a hashing writer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::codec::{looks_incompressible, Deflater};
use crate::disk::{
    DataGrain, DiskSink, Encoded, GrainEncoder, SinkOptions, SinkReport, GRAIN_BYTES,
};
use crate::error::{Error, Result};
use crate::limits::SECTOR_SIZE;
use crate::output::PendingFile;
use crate::vmdk::descriptor::format_ddb_uuid;
use crate::vmdk::geometry::Geometry;
use crate::vmdk::header::{
    SparseHeader, COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, GD_AT_END,
};
use crate::vmdk::stream::{GRAIN_SECTORS, MARKER_EOS, MARKER_FOOTER, MARKER_GD, MARKER_GT};

/// Entries per grain table.
const GT_ENTRIES: u64 = 512;
/// Sectors covered by one grain table.
const GT_COVERAGE_SECTORS: u64 = GT_ENTRIES * GRAIN_SECTORS;
/// Sector where the grains start (ovftool's overHead).
const OVERHEAD_SECTORS: u64 = 128;

/// The embedded descriptor of a streamOptimized disk.
pub fn stream_descriptor(capacity_sectors: u64, extent_name: &str, opts: &SinkOptions) -> String {
    let cap_bytes = capacity_sectors.saturating_mul(SECTOR_SIZE);
    let cid = opts.derive_cid(cap_bytes);
    let long = opts.derive_id("ddb.longContentID", cap_bytes);
    let mut long_hex = hex::encode(&long[..12]);
    long_hex.push_str(&format!("{cid:08x}"));
    let uuid = format_ddb_uuid(&opts.derive_id("ddb.uuid", cap_bytes));
    let Geometry {
        cylinders: c,
        heads: h,
        sectors: s,
    } = Geometry::for_capacity(capacity_sectors, opts.adapter_type);
    let name: String = extent_name
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!(
        "# Disk DescriptorFile\n\
         version=1\n\
         encoding=\"UTF-8\"\n\
         CID={cid:08x}\n\
         parentCID=ffffffff\n\
         createType=\"streamOptimized\"\n\
         \n\
         # Extent description\n\
         RW {capacity_sectors} SPARSE \"{name}\"\n\
         \n\
         # The Disk Data Base\n\
         #DDB\n\
         \n\
         ddb.adapterType = \"{adapter}\"\n\
         ddb.geometry.cylinders = \"{c}\"\n\
         ddb.geometry.heads = \"{h}\"\n\
         ddb.geometry.sectors = \"{s}\"\n\
         ddb.longContentID = \"{long_hex}\"\n\
         ddb.uuid = \"{uuid}\"\n\
         ddb.virtualHWVersion = \"{hw}\"\n",
        adapter = opts.adapter_type,
        hw = opts.hw_version,
    )
}

/// Encodes grains as streamOptimized grain markers: `{u64 lba, u32 size}`, zlib data, zero
/// padding to a sector. One per worker thread (it owns a compressor).
#[derive(Debug)]
pub struct StreamGrainEncoder {
    deflater: Deflater,
    /// Level 0 (stored blocks) for grains that look incompressible, when `deflater` compresses.
    store: Option<Deflater>,
}

impl StreamGrainEncoder {
    /// An encoder at deflate `level`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for a bad level.
    pub fn new(level: u32) -> Result<Self> {
        Ok(StreamGrainEncoder {
            deflater: Deflater::new(level)?,
            store: if level > 0 {
                Some(Deflater::new(0)?)
            } else {
                None
            },
        })
    }
}

impl GrainEncoder for StreamGrainEncoder {
    fn encode(&mut self, grain: DataGrain) -> Result<Encoded> {
        let len = grain.bytes.len();
        if len == 0 || len as u64 > GRAIN_BYTES || grain.offset % GRAIN_BYTES != 0 {
            return Err(Error::usage(format!(
                "not a grain: {len} bytes at disk offset {:#x}",
                grain.offset
            )));
        }
        let mut out = Vec::with_capacity(len / 2 + 1024);
        out.extend_from_slice(&(grain.offset / SECTOR_SIZE).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        let mut plain = grain.bytes;
        if len as u64 % SECTOR_SIZE != 0 {
            // A last grain ending inside a sector: readers see whole sectors.
            plain.resize(
                (len as u64).div_ceil(SECTOR_SIZE) as usize * SECTOR_SIZE as usize,
                0,
            );
        }
        let deflater = match &mut self.store {
            Some(store) if looks_incompressible(&plain) => store,
            _ => &mut self.deflater,
        };
        let n = deflater.compress_into(&plain, &mut out)?;
        let size = u32::try_from(n).map_err(|_| Error::usage("compressed grain too large"))?;
        out[8..12].copy_from_slice(&size.to_le_bytes());
        let padded = (out.len() as u64).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        out.resize(padded as usize, 0);
        Ok(Encoded {
            offset: grain.offset,
            len: len as u32,
            bytes: out,
        })
    }
}

/// A streamOptimized disk being written to any [`Write`], front to back, never seeking.
///
/// Use it as a [`DiskSink`] with [`crate::disk::copy`], then call
/// [`StreamOptimizedWriter::finish_into_inner`] to get the writer back (e.g. to read a digest
/// off a hashing writer). Nothing is finalised in `Drop`: an unfinished stream lacks its tables,
/// footer and end-of-stream marker.
pub struct StreamOptimizedWriter<W: Write + Send> {
    out: W,
    written: u64,
    header: SparseHeader,
    level: u32,
    gd: Vec<u32>,
    /// Index of the grain table being filled and its entries.
    gt_index: Option<u64>,
    gt: Vec<u32>,
    next_offset: u64,
    data_bytes: u64,
}

impl<W: Write + Send> std::fmt::Debug for StreamOptimizedWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamOptimizedWriter")
            .field("written", &self.written)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> StreamOptimizedWriter<W> {
    /// Starts a streamOptimized disk of `capacity_bytes` (rounded up to a sector) on `out`:
    /// writes the header and the embedded descriptor naming `extent_name`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for a bad compression level or a capacity above the default
    /// [`crate::Limits::max_disk_capacity_bytes`] (64 TiB, which keeps the in-memory grain
    /// directory at 8 MiB);
    /// I/O errors of `out`.
    pub fn new(out: W, capacity_bytes: u64, extent_name: &str, opts: &SinkOptions) -> Result<Self> {
        Deflater::new(opts.compression_level)?;
        let capacity_sectors = capacity_bytes.div_ceil(SECTOR_SIZE);
        if capacity_bytes > crate::Limits::DEFAULT.max_disk_capacity_bytes {
            return Err(Error::usage(format!(
                "disk capacity {capacity_bytes} bytes is too large for a streamOptimized VMDK"
            )));
        }
        let descriptor = stream_descriptor(capacity_sectors, extent_name, opts);
        let desc_sectors = (descriptor.len() as u64).div_ceil(SECTOR_SIZE).max(1);
        let overhead = (1 + desc_sectors).div_ceil(GRAIN_SECTORS) * GRAIN_SECTORS;
        let overhead = overhead.max(OVERHEAD_SECTORS);
        let header = SparseHeader {
            version: 3,
            flags: FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS,
            capacity_sectors,
            grain_sectors: GRAIN_SECTORS,
            descriptor_offset_sectors: 1,
            descriptor_size_sectors: desc_sectors,
            num_gtes_per_gt: GT_ENTRIES as u32,
            rgd_offset_sectors: 0,
            gd_offset_sectors: GD_AT_END,
            overhead_sectors: overhead,
            unclean_shutdown: false,
            compress_algorithm: COMPRESSION_DEFLATE,
        };
        let gd_entries = capacity_sectors.div_ceil(GT_COVERAGE_SECTORS) as usize;
        let mut w = StreamOptimizedWriter {
            out,
            written: 0,
            header,
            level: opts.compression_level,
            gd: vec![0; gd_entries],
            gt_index: None,
            gt: vec![0; GT_ENTRIES as usize],
            next_offset: 0,
            data_bytes: 0,
        };
        w.put(&header.to_bytes())?;
        let mut desc = descriptor.into_bytes();
        desc.resize(((overhead - 1) * SECTOR_SIZE) as usize, 0);
        w.put(&desc)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| {
            Error::io("cannot write streamOptimized disk", e).with_offset(self.written)
        })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn sector(&self) -> Result<u32> {
        u32::try_from(self.written / SECTOR_SIZE)
            .map_err(|_| Error::usage("streamOptimized file would exceed 2 TiB of compressed data"))
    }

    fn metadata_marker(num_sectors: u64, kind: u32) -> [u8; 512] {
        let mut m = [0u8; 512];
        m[0..8].copy_from_slice(&num_sectors.to_le_bytes());
        m[12..16].copy_from_slice(&kind.to_le_bytes());
        m
    }

    fn flush_gt(&mut self) -> Result<()> {
        let Some(index) = self.gt_index.take() else {
            return Ok(());
        };
        self.put(&Self::metadata_marker(4, MARKER_GT))?;
        let sector = self.sector()?;
        let mut raw = Vec::with_capacity(2048);
        for e in &self.gt {
            raw.extend_from_slice(&e.to_le_bytes());
        }
        self.put(&raw)?;
        if let Some(slot) = self.gd.get_mut(index as usize) {
            *slot = sector;
        }
        self.gt.iter_mut().for_each(|e| *e = 0);
        Ok(())
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Writes one grain encoded by [`StreamGrainEncoder`]; offsets must ascend.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for out-of-order or out-of-range grains; I/O errors.
    pub fn write_grain(&mut self, grain: Encoded) -> Result<()> {
        let cap = self.header.capacity_sectors * SECTOR_SIZE;
        if grain.offset < self.next_offset || grain.offset >= cap || grain.bytes.len() < 12 {
            return Err(Error::usage(format!(
                "grain at disk offset {:#x} is out of order or outside the disk",
                grain.offset
            )));
        }
        let lba = grain.offset / SECTOR_SIZE;
        let gt_index = lba / GT_COVERAGE_SECTORS;
        if self.gt_index != Some(gt_index) {
            self.flush_gt()?;
            self.gt_index = Some(gt_index);
        }
        let sector = self.sector()?;
        let entry = ((lba % GT_COVERAGE_SECTORS) / GRAIN_SECTORS) as usize;
        if let Some(e) = self.gt.get_mut(entry) {
            *e = sector;
        }
        self.put(&grain.bytes)?;
        self.next_offset = grain.offset + GRAIN_BYTES;
        self.data_bytes += u64::from(grain.len);
        Ok(())
    }

    /// Writes the last grain table, the grain directory, the footer and the end-of-stream
    /// marker, flushes, and gives back the writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish_into_inner(mut self) -> Result<(W, SinkReport)> {
        self.flush_gt()?;
        let gd_bytes = self.gd.len() * 4;
        let gd_sectors = (gd_bytes as u64).div_ceil(SECTOR_SIZE).max(1);
        self.put(&Self::metadata_marker(gd_sectors, MARKER_GD))?;
        let gd_sector = self.written / SECTOR_SIZE;
        let mut raw = Vec::with_capacity((gd_sectors * SECTOR_SIZE) as usize);
        for e in &self.gd {
            raw.extend_from_slice(&e.to_le_bytes());
        }
        raw.resize((gd_sectors * SECTOR_SIZE) as usize, 0);
        self.put(&raw)?;
        self.put(&Self::metadata_marker(1, MARKER_FOOTER))?;
        let mut footer = self.header;
        footer.gd_offset_sectors = gd_sector;
        self.put(&footer.to_bytes())?;
        self.put(&Self::metadata_marker(0, MARKER_EOS))?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write streamOptimized disk", e))?;
        let report = SinkReport {
            files: Vec::new(),
            data_bytes: self.data_bytes,
            stored_bytes: self.written,
        };
        Ok((self.out, report))
    }
}

impl<W: Write + Send> DiskSink for StreamOptimizedWriter<W> {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        Ok(Box::new(StreamGrainEncoder::new(self.level)?))
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        self.write_grain(grain)
    }

    fn finish(self: Box<Self>) -> Result<SinkReport> {
        self.finish_into_inner().map(|(_, r)| r)
    }
}

/// A streamOptimized file: a [`StreamOptimizedWriter`] over a temporary file renamed into place
/// by [`DiskSink::finish`].
pub struct StreamFileSink {
    writer: StreamOptimizedWriter<BufWriter<File>>,
    pending: PendingFile,
}

impl std::fmt::Debug for StreamFileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFileSink")
            .field("path", &self.pending.final_path())
            .finish_non_exhaustive()
    }
}

impl StreamFileSink {
    /// Creates `path` (under a temporary name) for a disk of `capacity_bytes`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] without `opts.force`; usage and I/O errors.
    pub fn create(path: &Path, capacity_bytes: u64, opts: &SinkOptions) -> Result<Self> {
        let mut pending = PendingFile::create(path, opts.force)?;
        let file = pending.file_handle()?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "disk.vmdk".to_string());
        let writer = StreamOptimizedWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            capacity_bytes,
            &name,
            opts,
        )
        .map_err(|e| e.with_path(path))?;
        Ok(StreamFileSink { writer, pending })
    }
}

impl DiskSink for StreamFileSink {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        self.writer.encoder()
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        let path = self.pending.final_path().to_path_buf();
        self.writer
            .write_grain(grain)
            .map_err(|e| e.with_path(path))
    }

    fn finish(self: Box<Self>) -> Result<SinkReport> {
        let StreamFileSink { writer, pending } = *self;
        let path = pending.final_path().to_path_buf();
        let (out, mut report) = writer.finish_into_inner().map_err(|e| e.with_path(&path))?;
        out.into_inner()
            .map_err(|e| Error::io("cannot write output", e.into_error()).with_path(&path))?;
        let path = pending.commit()?;
        report.files.push((path, report.stored_bytes));
        Ok(report)
    }
}
