//! streamOptimized readers (VDF5 §"Stream-Optimized Compressed Sparse Extents"; docs/FORMATS.md §3).
//!
//! * [`StreamFileSource`] reads a seekable file through its grain directory: the spec layout
//!   (`GD_AT_END` in the header, real `gdOffset` in the footer at end−1024, as ovftool and
//!   VirtualBox write), open-vmdk's layout (tables at the front, EOS marker only) and qemu's
//!   (tables at the front, no EOS marker). The footer takes precedence over the header.
//! * [`StreamReader`] reads any [`Read`] (a pipe, an OVA tar entry) front to back by following
//!   the markers: grain markers must ascend strictly; GT/GD/unknown metadata markers are
//!   skipped; the footer is cross-checked; the end is the EOS marker (or, for layouts whose
//!   header holds a real `gdOffset`, the end of the data, as qemu writes no EOS).
//!
//! Both hand out compressed grains ([`GrainData::Zlib`]); [`crate::disk::copy`] inflates them on
//! worker threads, capped at the grain size.

use std::fs::File;
use std::io::{ErrorKind as IoKind, Read};
use std::path::{Path, PathBuf};

use crate::disk::{DiskSource, Grain, GrainData, GRAIN_BYTES};
use crate::error::{Error, Result};
use crate::limits::{Limits, SECTOR_SIZE};
use crate::vmdk::header::{SparseHeader, GD_AT_END};

/// Metadata marker type: end of stream.
pub const MARKER_EOS: u32 = 0;
/// Metadata marker type: grain table follows.
pub const MARKER_GT: u32 = 1;
/// Metadata marker type: grain directory follows.
pub const MARKER_GD: u32 = 2;
/// Metadata marker type: footer follows.
pub const MARKER_FOOTER: u32 = 3;

/// The grain size this engine reads and writes: 128 sectors (every known writer).
pub const GRAIN_SECTORS: u64 = GRAIN_BYTES / SECTOR_SIZE;
/// Largest compressed grain accepted: two grains (QEMU reads up to two grains; data that does
/// not compress may grow a little).
pub const MAX_COMPRESSED_GRAIN: u64 = 2 * GRAIN_BYTES;
/// Largest metadata block skipped while streaming, in sectors (a GD for 64 TiB is 16384).
const MAX_METADATA_SECTORS: u64 = 1 << 20;

/// Where a stream comes from, for error messages.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// File on disk.
    pub path: Option<PathBuf>,
    /// Archive entry (OVA member).
    pub entry: Option<String>,
}

impl Origin {
    /// An origin naming a file.
    pub fn path(path: &Path) -> Self {
        Origin {
            path: Some(path.to_path_buf()),
            entry: None,
        }
    }

    /// An origin naming an archive entry.
    pub fn entry(entry: &str) -> Self {
        Origin {
            path: None,
            entry: Some(entry.to_string()),
        }
    }

    /// Adds the file or entry name to `e`.
    pub(crate) fn apply(&self, mut e: Error) -> Error {
        if let Some(p) = &self.path {
            e = e.with_path(p);
        }
        if let Some(n) = &self.entry {
            e = e.with_entry(n.clone());
        }
        e
    }
}

fn u32_le(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_le(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Checks what both readers (and verify) need from a header: compressed, 128-sector grains, a
/// capacity and descriptor within the limits.
pub(crate) fn check_stream_header(h: &SparseHeader, limits: &Limits) -> Result<()> {
    if !h.is_compressed() {
        return Err(Error::corrupt(
            "not a streamOptimized extent: header flags say grains are not compressed",
        )
        .with_offset(8));
    }
    if h.grain_sectors != GRAIN_SECTORS {
        return Err(Error::unsupported(format!(
            "streamOptimized grain size {} sectors: only {GRAIN_SECTORS} is supported",
            h.grain_sectors
        ))
        .with_offset(20));
    }
    h.check_limits(limits)?;
    Ok(())
}

fn grain_len(capacity_bytes: u64, offset: u64) -> u32 {
    // offset < capacity is checked by the callers; the result is at most GRAIN_BYTES.
    GRAIN_BYTES.min(capacity_bytes.saturating_sub(offset)) as u32
}

fn descriptor_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Seekable

/// Bytes prefetched ahead of the grain being read.
const PREFETCH_BYTES: u64 = 64 << 20;

pub use crate::pio::ReadAt;

/// A streamOptimized extent in a seekable file, read through its grain directory.
pub struct StreamFileSource<R: ReadAt = File> {
    reader: R,
    file_size: u64,
    origin: Origin,
    header: SparseHeader,
    capacity_bytes: u64,
    descriptor: Option<String>,
    gd: Vec<u32>,
    gd_index: usize,
    gt: Vec<u32>,
    gt_index: usize,
    /// Grains handed out; at most one per sector of the file (entries that share data would
    /// otherwise turn a small file into a huge amount of work).
    grains: u64,
    /// File offset up to which reading ahead has been requested.
    prefetched: u64,
    /// The grain that did not fit in the last [`GrainBatch`].
    pending: Option<GrainAt>,
    /// The file range the last [`GrainBatch`] read.
    last_block: (u64, u64),
}

impl<R: ReadAt> std::fmt::Debug for StreamFileSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFileSource")
            .field("origin", &self.origin)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl StreamFileSource<File> {
    /// Opens a streamOptimized file.
    ///
    /// # Errors
    /// I/O errors; [`crate::ErrorKind::Corrupt`] for a bad header, footer or grain directory;
    /// [`crate::ErrorKind::LimitExceeded`] for a capacity above `limits`. Errors name the file
    /// and the offset.
    ///
    /// # Security
    /// Every offset read from the file is checked against the file size before use; tables are
    /// read one grain table (2 KiB) at a time.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let file =
            File::open(path).map_err(|e| Error::io("cannot open disk", e).with_path(path))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io("cannot read file size", e).with_path(path))?
            .len();
        // Grains are read front to back: ask for aggressive readahead (advice only).
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
        Self::new(file, size, Origin::path(path), limits)
    }
}

impl<R: ReadAt> StreamFileSource<R> {
    /// Reads the header (and footer, if the header says `GD_AT_END`) and the grain directory of
    /// a streamOptimized extent of `file_size` bytes in `reader`.
    ///
    /// # Errors
    /// See [`StreamFileSource::open`].
    pub fn new(reader: R, file_size: u64, origin: Origin, limits: &Limits) -> Result<Self> {
        let mut s = StreamFileSource {
            reader,
            file_size,
            origin,
            header: placeholder(),
            capacity_bytes: 0,
            descriptor: None,
            gd: Vec::new(),
            gd_index: 0,
            gt: Vec::new(),
            gt_index: 0,
            grains: 0,
            prefetched: 0,
            pending: None,
            last_block: (0, 0),
        };
        s.init(limits).map_err(|e| s.origin.apply(e))?;
        Ok(s)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.file_size) {
            return Err(truncated(offset, buf.len() as u64, self.file_size));
        }
        match self.reader.read_exact_at(buf, offset) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == IoKind::UnexpectedEof => {
                Err(Error::corrupt("truncated: unexpected end of file").with_offset(offset))
            }
            Err(e) => Err(Error::io("cannot read disk", e).with_offset(offset)),
        }
    }

    fn init(&mut self, limits: &Limits) -> Result<()> {
        let mut hb = [0u8; 512];
        self.read_at(0, &mut hb)?;
        let mut header = SparseHeader::parse(&hb)?;
        check_stream_header(&header, limits)?;
        if header.gd_offset_sectors == GD_AT_END {
            header = self.read_footer(&header)?;
        }
        check_stream_header(&header, limits)?;
        self.header = header;
        self.capacity_bytes = header
            .capacity_bytes()
            .ok_or_else(|| Error::corrupt("capacity overflows"))?;
        self.descriptor = self.read_descriptor(&header, limits)?;

        let entries = header.gd_entries();
        let gd_bytes = entries
            .checked_mul(4)
            .ok_or_else(|| Error::corrupt("grain directory size overflows"))?;
        let gd_off = header
            .gd_offset_sectors
            .checked_mul(SECTOR_SIZE)
            .ok_or_else(|| Error::corrupt("grain directory offset overflows").with_offset(56))?;
        if header.num_gtes_per_gt != 512 {
            return Err(Error::unsupported(format!(
                "grain tables of {} entries: only 512 is supported",
                header.num_gtes_per_gt
            ))
            .with_offset(44));
        }
        // Bounded by the capacity limit (64 TiB -> 8 MiB) and by the file size (checked in read_at).
        if gd_off
            .checked_add(gd_bytes)
            .is_none_or(|e| e > self.file_size)
        {
            return Err(Error::corrupt(format!(
                "grain directory ({gd_bytes} bytes at offset {gd_off:#x}) lies beyond the end of the file ({} bytes)",
                self.file_size
            ))
            .with_offset(gd_off));
        }
        let mut raw = vec![0u8; gd_bytes as usize];
        self.read_at(gd_off, &mut raw)?;
        self.gd = raw.chunks_exact(4).map(|c| u32_le(c, 0)).collect();
        self.gd_index = 0;
        self.gt_index = 512;
        Ok(())
    }

    fn read_footer(&mut self, header: &SparseHeader) -> Result<SparseHeader> {
        let marker_off = self.file_size.checked_sub(3 * SECTOR_SIZE).ok_or_else(|| {
            Error::corrupt("truncated: header says the grain directory is at the end, but the file is too short for a footer")
        })?;
        let mut m = [0u8; 512];
        self.read_at(marker_off, &mut m)?;
        let (size, kind) = (u32_le(&m, 8), u32_le(&m, 12));
        if size != 0 || kind != MARKER_FOOTER {
            return Err(Error::corrupt(format!(
                "no footer: expected a footer marker (size 0, type 3) 1536 bytes before the end, found size {size}, type {kind} (truncated file?)"
            ))
            .with_offset(marker_off));
        }
        let mut fb = [0u8; 512];
        self.read_at(marker_off + SECTOR_SIZE, &mut fb)?;
        let footer = SparseHeader::parse(&fb).map_err(|e| {
            Error::corrupt(format!("bad footer: {}", e.message()))
                .with_offset(marker_off + SECTOR_SIZE)
        })?;
        if footer.gd_offset_sectors == GD_AT_END {
            return Err(Error::corrupt("footer does not locate the grain directory")
                .with_offset(marker_off + SECTOR_SIZE + 56));
        }
        if footer.capacity_sectors != header.capacity_sectors {
            return Err(Error::corrupt(format!(
                "footer capacity {} sectors differs from header capacity {}",
                footer.capacity_sectors, header.capacity_sectors
            ))
            .with_offset(marker_off + SECTOR_SIZE + 12));
        }
        let mut eos = [0u8; 512];
        self.read_at(marker_off + 2 * SECTOR_SIZE, &mut eos)?;
        if u64_le(&eos, 0) != 0 || u32_le(&eos, 8) != 0 || u32_le(&eos, 12) != MARKER_EOS {
            return Err(
                Error::corrupt("expected an end-of-stream marker after the footer")
                    .with_offset(marker_off + 2 * SECTOR_SIZE),
            );
        }
        Ok(footer)
    }

    fn read_descriptor(&mut self, h: &SparseHeader, limits: &Limits) -> Result<Option<String>> {
        if h.descriptor_offset_sectors == 0 || h.descriptor_size_sectors == 0 {
            return Ok(None);
        }
        let size = h
            .descriptor_size_sectors
            .checked_mul(SECTOR_SIZE)
            .filter(|&s| s <= limits.max_vmdk_descriptor_bytes)
            .ok_or_else(|| {
                Error::limit(
                    "embedded descriptor size in sectors",
                    h.descriptor_size_sectors,
                    limits.max_vmdk_descriptor_bytes / SECTOR_SIZE,
                )
                .with_offset(36)
            })?;
        let off = h
            .descriptor_offset_sectors
            .checked_mul(SECTOR_SIZE)
            .ok_or_else(|| Error::corrupt("descriptor offset overflows").with_offset(28))?;
        let mut buf = vec![0u8; size as usize];
        self.read_at(off, &mut buf)?;
        Ok(Some(descriptor_text(&buf)))
    }

    /// The effective header (the footer's, when the header says `GD_AT_END`).
    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// The embedded descriptor text, if any.
    pub fn descriptor(&self) -> Option<&str> {
        self.descriptor.as_deref()
    }

    /// Where the extent comes from (for error messages).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    fn load_next_gt(&mut self) -> Result<bool> {
        loop {
            let Some(&gde) = self.gd.get(self.gd_index) else {
                return Ok(false);
            };
            self.gd_index += 1;
            if gde == 0 {
                continue;
            }
            let off = u64::from(gde) * SECTOR_SIZE;
            if off.checked_add(2048).is_none_or(|e| e > self.file_size) {
                return Err(Error::corrupt(format!(
                    "grain directory entry {} points at sector {gde}, beyond the end of the file",
                    self.gd_index - 1
                ))
                .with_offset(
                    self.header.gd_offset_sectors * SECTOR_SIZE + 4 * (self.gd_index as u64 - 1),
                ));
            }
            let mut raw = [0u8; 2048];
            self.read_at(off, &mut raw)?;
            self.gt.clear();
            self.gt.extend(raw.chunks_exact(4).map(|c| u32_le(c, 0)));
            self.gt_index = 0;
            return Ok(true);
        }
    }

    /// The next allocated grain's place: its guest offset and length, its sector and where its
    /// marker lies in the file (every check on the tables done, the marker not read yet).
    fn next_location(&mut self) -> Result<Option<GrainAt>> {
        loop {
            if self.gt_index >= self.gt.len() && !self.load_next_gt()? {
                return Ok(None);
            }
            let i = self.gt_index;
            self.gt_index += 1;
            let gte = self.gt.get(i).copied().unwrap_or(0);
            if gte <= 1 {
                // 0 = unallocated, 1 = zeroed grain: both read as zeros.
                continue;
            }
            let grain_no = (self.gd_index as u64 - 1) * 512 + i as u64;
            let lba = grain_no * GRAIN_SECTORS;
            let offset = lba * SECTOR_SIZE;
            if offset >= self.capacity_bytes {
                return Err(Error::corrupt(format!(
                    "grain table entry for sector {lba} lies beyond the capacity of {} sectors",
                    self.header.capacity_sectors
                ))
                .with_offset(u64::from(self.gd[self.gd_index - 1]) * SECTOR_SIZE + 4 * i as u64));
            }
            let file_off = u64::from(gte) * SECTOR_SIZE;
            if file_off.saturating_add(PREFETCH_BYTES / 2) > self.prefetched {
                let from = file_off.max(self.prefetched);
                self.reader.will_need(from, PREFETCH_BYTES);
                self.prefetched = from.saturating_add(PREFETCH_BYTES);
            }
            self.grains += 1;
            if self.grains > self.file_size / SECTOR_SIZE {
                return Err(Error::corrupt(format!(
                    "grain tables map more grains than the file can hold ({} bytes): entries share data",
                    self.file_size
                ))
                .with_offset(u64::from(self.gd[self.gd_index - 1]) * SECTOR_SIZE + 4 * i as u64));
            }
            if !self.header.has_markers() {
                return Err(Error::unsupported(
                    "compressed sparse extent without grain markers",
                ));
            }
            return Ok(Some(GrainAt {
                offset,
                len: grain_len(self.capacity_bytes, offset),
                lba,
                file_off,
            }));
        }
    }

    fn next_grain_inner(&mut self) -> Result<Option<Grain>> {
        let next = match self.pending.take() {
            Some(g) => Some(g),
            None => self.next_location()?,
        };
        let Some(g) = next else {
            return Ok(None);
        };
        let mut m = [0u8; 12];
        self.read_at(g.file_off, &mut m)?;
        let size = marker_size(&m, g.lba, g.file_off)?;
        let mut data = vec![0u8; size];
        self.read_at(g.file_off + 12, &mut data)?;
        Ok(Some(Grain {
            offset: g.offset,
            len: g.len,
            data: GrainData::Zlib {
                data,
                file_offset: g.file_off,
            },
        }))
    }

    /// Fills `batch` with the next grains, read in one block of the file (at most
    /// `batch.buf.len()` bytes, which must be at least 12 + [`MAX_COMPRESSED_GRAIN`]) starting at
    /// the next grain's marker; returns `false` at the end of the disk. The compressed bytes are
    /// not copied: [`BatchGrain`] ranges point into the block. Nothing is allocated.
    ///
    /// The grains of a streamOptimized file lie in the order of their offsets in every known
    /// layout, so consecutive blocks read the file front to back in large sequential reads. A
    /// grain that is not where the previous block ended (tables that jump around) starts a
    /// block of only one compressed grain's size, so that such a file costs at most twice its
    /// grains' bytes, never a block a grain.
    ///
    /// # Errors
    /// As [`DiskSource::next_grain`].
    pub fn next_batch(&mut self, batch: &mut GrainBatch) -> Result<bool> {
        self.next_batch_inner(batch)
            .map_err(|e| self.origin.apply(e))
    }

    fn next_batch_inner(&mut self, batch: &mut GrainBatch) -> Result<bool> {
        batch.grains.clear();
        batch.file_offset = 0;
        batch.filled = 0;
        let most = batch.buf.len() as u64;
        let least = 12 + MAX_COMPRESSED_GRAIN;
        if most < least {
            return Err(Error::usage(format!(
                "grain batch of {most} bytes is smaller than one compressed grain ({least})"
            )));
        }
        loop {
            let g = match self.pending.take() {
                Some(g) => g,
                None => match self.next_location()? {
                    Some(g) => g,
                    None => return Ok(!batch.grains.is_empty()),
                },
            };
            let end = batch.file_offset + batch.filled as u64;
            if batch.filled == 0 {
                // Sequential (the grain lies at or a little past where the last block ended):
                // a whole block; anywhere else: one grain's worth.
                let sequential = g.file_off >= self.last_block.0
                    && g.file_off <= self.last_block.1.saturating_add(most / 2);
                let want = if sequential { most } else { least };
                let len = want.min(self.file_size.saturating_sub(g.file_off)).max(12);
                self.read_at(g.file_off, &mut batch.buf[..len as usize])?;
                batch.file_offset = g.file_off;
                batch.filled = len as usize;
                self.last_block = (g.file_off, g.file_off + len);
            } else if g.file_off < batch.file_offset || g.file_off.saturating_add(12) > end {
                self.pending = Some(g);
                return Ok(true);
            }
            let rel = (g.file_off - batch.file_offset) as usize;
            let size = marker_size(&batch.buf[rel..rel + 12], g.lba, g.file_off)?;
            let data_end = rel + 12 + size;
            if data_end > batch.filled {
                if batch.grains.is_empty() {
                    // The block reached the end of the file: the grain is cut off.
                    return Err(truncated(g.file_off + 12, size as u64, self.file_size));
                }
                self.pending = Some(g);
                return Ok(true);
            }
            batch.grains.push(BatchGrain {
                offset: g.offset,
                len: g.len,
                data: rel + 12..data_end,
                file_offset: g.file_off,
            });
        }
    }
}

/// Where an allocated grain lies (see [`StreamFileSource::next_location`]).
#[derive(Debug, Clone, Copy)]
struct GrainAt {
    offset: u64,
    len: u32,
    lba: u64,
    file_off: u64,
}

/// A block of a streamOptimized file and the grains whose marker and data lie wholly in it
/// ([`StreamFileSource::next_batch`]). Reused from batch to batch: nothing is allocated per
/// grain.
#[derive(Debug)]
pub struct GrainBatch {
    buf: Vec<u8>,
    filled: usize,
    file_offset: u64,
    grains: Vec<BatchGrain>,
}

impl GrainBatch {
    /// A batch reading blocks of `block_bytes` (raised to one compressed grain and its marker).
    pub fn new(block_bytes: usize) -> GrainBatch {
        let least = 12 + MAX_COMPRESSED_GRAIN as usize;
        GrainBatch {
            buf: vec![0u8; block_bytes.max(least)],
            filled: 0,
            file_offset: 0,
            grains: Vec::new(),
        }
    }

    /// The grains, in ascending guest offset.
    pub fn grains(&self) -> &[BatchGrain] {
        &self.grains
    }

    /// The compressed bytes of `g` (one of [`GrainBatch::grains`]).
    pub fn data(&self, g: &BatchGrain) -> &[u8] {
        &self.buf[g.data.clone()]
    }
}

/// One grain of a [`GrainBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGrain {
    /// Offset in the virtual disk, in bytes.
    pub offset: u64,
    /// Length in bytes: [`GRAIN_BYTES`], or less for the last grain of the disk.
    pub len: u32,
    /// Where the compressed bytes lie in the batch's block.
    data: std::ops::Range<usize>,
    /// Where the grain marker starts in the file (for error messages).
    pub file_offset: u64,
}

/// The compressed size a grain marker gives, checked: the marker must name sector `lba` (the
/// one the grain table maps here) and a size between 1 and [`MAX_COMPRESSED_GRAIN`].
fn marker_size(m: &[u8], lba: u64, file_off: u64) -> Result<usize> {
    let (mlba, size) = (u64_le(m, 0), u64::from(u32_le(m, 8)));
    if mlba != lba {
        return Err(Error::corrupt(format!(
            "grain marker says sector {mlba}, but the grain table maps sector {lba} here"
        ))
        .with_offset(file_off));
    }
    if size == 0 || size > MAX_COMPRESSED_GRAIN {
        return Err(Error::corrupt(format!(
            "bad grain marker: compressed size {size} is not between 1 and {MAX_COMPRESSED_GRAIN} (2 grains)"
        ))
        .with_offset(file_off));
    }
    Ok(size as usize)
}

fn truncated(offset: u64, len: u64, file_size: u64) -> Error {
    Error::corrupt(format!(
        "truncated: {len} bytes at offset {offset:#x} reach past the end of the file ({file_size} bytes)"
    ))
    .with_offset(offset)
}

fn placeholder() -> SparseHeader {
    SparseHeader {
        version: 3,
        flags: 0,
        capacity_sectors: 0,
        grain_sectors: GRAIN_SECTORS,
        descriptor_offset_sectors: 0,
        descriptor_size_sectors: 0,
        num_gtes_per_gt: 512,
        rgd_offset_sectors: 0,
        gd_offset_sectors: 0,
        overhead_sectors: 0,
        unclean_shutdown: false,
        compress_algorithm: 0,
    }
}

impl<R: ReadAt> DiskSource for StreamFileSource<R> {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn files(&self) -> Vec<PathBuf> {
        self.origin.path.iter().cloned().collect()
    }

    fn next_grain(&mut self) -> Result<Option<Grain>> {
        self.next_grain_inner().map_err(|e| self.origin.apply(e))
    }

    fn annotate(&self, error: Error) -> Error {
        self.origin.apply(error)
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// A streamOptimized extent read front to back from any [`Read`], following the markers.
///
/// # Security
/// Nothing is allocated from a size in the stream beyond one compressed grain (at most
/// [`MAX_COMPRESSED_GRAIN`]) and the embedded descriptor (capped by [`Limits`]); grains must
/// ascend strictly and lie inside the capacity.
pub struct StreamReader<R: Read + Send> {
    reader: R,
    pos: u64,
    origin: Origin,
    header: SparseHeader,
    capacity_bytes: u64,
    descriptor: Option<String>,
    /// Whether the stream must end with an EOS marker (the header says `GD_AT_END`).
    needs_eos: bool,
    /// Next LBA (in sectors) a grain may have.
    next_lba: u64,
    done: bool,
    saw_footer: bool,
    /// Grains the tables at the front promise (open-vmdk, qemu layouts), to detect a stream cut
    /// at a grain boundary when no end-of-stream marker is expected.
    expected_grains: Option<u64>,
    grains_seen: u64,
}

impl<R: Read + Send> std::fmt::Debug for StreamReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("origin", &self.origin)
            .field("pos", &self.pos)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Send> StreamReader<R> {
    /// Reads the header and the metadata before the first grain (embedded descriptor, tables of
    /// the open-vmdk/qemu layouts) from `reader`.
    ///
    /// # Errors
    /// I/O errors; [`crate::ErrorKind::Corrupt`] for a bad header or a truncated stream;
    /// [`crate::ErrorKind::LimitExceeded`] for a capacity above `limits`. Errors carry `origin`
    /// and the stream offset.
    pub fn new(reader: R, origin: Origin, limits: &Limits) -> Result<Self> {
        let mut s = StreamReader {
            reader,
            pos: 0,
            origin,
            header: placeholder(),
            capacity_bytes: 0,
            descriptor: None,
            needs_eos: true,
            next_lba: 0,
            done: false,
            saw_footer: false,
            expected_grains: None,
            grains_seen: 0,
        };
        s.init(limits).map_err(|e| s.origin.apply(e))?;
        Ok(s)
    }

    /// Reads up to `buf.len()` bytes; returns how many (less only at the end of the stream).
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.reader.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::from(e).with_offset(self.pos + got as u64));
                }
            }
        }
        self.pos += got as u64;
        Ok(got)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let start = self.pos;
        let n = self.read_full(buf)?;
        if n < buf.len() {
            return Err(Error::corrupt(format!(
                "truncated stream: expected {} bytes of {what}, found {n}",
                buf.len()
            ))
            .with_offset(start));
        }
        Ok(())
    }

    fn skip(&mut self, mut n: u64, what: &str) -> Result<()> {
        let mut scratch = [0u8; 8192];
        while n > 0 {
            let k = n.min(scratch.len() as u64) as usize;
            self.read_exact(&mut scratch[..k], what)?;
            n -= k as u64;
        }
        Ok(())
    }

    fn init(&mut self, limits: &Limits) -> Result<()> {
        let mut hb = [0u8; 512];
        self.read_exact(&mut hb, "header")?;
        let header = SparseHeader::parse(&hb)?;
        check_stream_header(&header, limits)?;
        if !header.has_markers() {
            return Err(Error::unsupported(
                "a compressed extent without markers cannot be read as a stream",
            )
            .with_offset(8));
        }
        self.header = header;
        self.capacity_bytes = header
            .capacity_bytes()
            .ok_or_else(|| Error::corrupt("capacity overflows"))?;
        self.needs_eos = header.gd_offset_sectors == GD_AT_END;
        let overhead = header
            .overhead_sectors
            .checked_mul(SECTOR_SIZE)
            .ok_or_else(|| Error::corrupt("overhead overflows").with_offset(64))?;
        if overhead < SECTOR_SIZE {
            return Err(Error::corrupt(format!(
                "bad overhead: expected at least 1 sector, found {}",
                header.overhead_sectors
            ))
            .with_offset(64));
        }
        // The embedded descriptor, if it lies inside the metadata before the first grain.
        let d_off = header.descriptor_offset_sectors.saturating_mul(SECTOR_SIZE);
        let d_len = header.descriptor_size_sectors.saturating_mul(SECTOR_SIZE);
        if d_off >= SECTOR_SIZE && d_len > 0 && d_off.saturating_add(d_len) <= overhead {
            if d_len > limits.max_vmdk_descriptor_bytes {
                return Err(Error::limit(
                    "embedded descriptor size in bytes",
                    d_len,
                    limits.max_vmdk_descriptor_bytes,
                )
                .with_offset(36));
            }
            self.skip(d_off - self.pos, "metadata")?;
            let mut buf = vec![0u8; d_len as usize];
            self.read_exact(&mut buf, "embedded descriptor")?;
            self.descriptor = Some(descriptor_text(&buf));
        }
        // Grain tables at the front (open-vmdk, qemu): markers carry the LBAs, but the tables
        // say how many grains follow, which is the only way to notice a cut at a grain boundary
        // in qemu's layout (no end-of-stream marker).
        if !self.needs_eos {
            self.expected_grains = self.count_front_grains(&header, overhead)?;
        }
        if self.pos < overhead {
            self.skip(overhead - self.pos, "metadata before the first grain")?;
        }
        Ok(())
    }

    /// Reads the grain directory and tables when all lie in front of the grains, in file
    /// order, and counts the allocated entries; `None` when they are elsewhere.
    fn count_front_grains(&mut self, h: &SparseHeader, overhead: u64) -> Result<Option<u64>> {
        let gd_off = h.gd_offset_sectors.saturating_mul(SECTOR_SIZE);
        let gd_bytes = h.gd_entries().saturating_mul(4);
        if h.num_gtes_per_gt != 512
            || gd_off < self.pos
            || gd_off.saturating_add(gd_bytes) > overhead
        {
            return Ok(None);
        }
        self.skip(gd_off - self.pos, "metadata")?;
        // Bounded: the capacity limit caps the directory at 8 MiB, and it lies before overhead.
        let mut raw = vec![0u8; gd_bytes as usize];
        self.read_exact(&mut raw, "grain directory")?;
        let mut gts: Vec<(u64, u64)> = raw
            .chunks_exact(4)
            .enumerate()
            .map(|(i, c)| (u64::from(u32_le(c, 0)) * SECTOR_SIZE, i as u64))
            .filter(|&(off, _)| off != 0)
            .collect();
        gts.sort_unstable();
        let mut count = 0u64;
        let mut gt = [0u8; 2048];
        for (off, index) in gts {
            if off < self.pos || off.saturating_add(2048) > overhead {
                return Ok(None);
            }
            self.skip(off - self.pos, "metadata")?;
            self.read_exact(&mut gt, "grain table")?;
            for (j, e) in gt.chunks_exact(4).enumerate() {
                let lba = (index * 512 + j as u64) * GRAIN_SECTORS;
                if u32_le(e, 0) > 1 && lba < h.capacity_sectors {
                    count += 1;
                }
            }
        }
        Ok(Some(count))
    }

    /// The header at the start of the stream.
    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// The embedded descriptor text, if any.
    pub fn descriptor(&self) -> Option<&str> {
        self.descriptor.as_deref()
    }

    /// Whether a footer was seen (spec layout) so far.
    pub fn saw_footer(&self) -> bool {
        self.saw_footer
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Gives back the inner reader (positioned after the end-of-stream marker once
    /// [`DiskSource::next_grain`] has returned `None`).
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn next_inner(&mut self) -> Result<Option<Grain>> {
        while !self.done {
            let at = self.pos;
            let mut sector = [0u8; 512];
            let n = self.read_full(&mut sector)?;
            if n == 0 && !self.needs_eos {
                // qemu writes no end-of-stream marker; its header holds a real gdOffset.
                if let Some(expected) = self.expected_grains {
                    if self.grains_seen < expected {
                        return Err(Error::corrupt(format!(
                            "truncated stream: the grain tables list {expected} grains, the stream ends after {}",
                            self.grains_seen
                        ))
                        .with_offset(at));
                    }
                }
                self.done = true;
                break;
            }
            if n < sector.len() {
                return Err(Error::corrupt(format!(
                    "truncated stream: expected a marker (512 bytes), found {n} bytes{}",
                    if self.needs_eos {
                        " before the end-of-stream marker"
                    } else {
                        ""
                    }
                ))
                .with_offset(at));
            }
            let val = u64_le(&sector, 0);
            let size = u64::from(u32_le(&sector, 8));
            if size != 0 {
                return self.grain(at, val, size, &sector).map(Some);
            }
            let kind = u32_le(&sector, 12);
            match kind {
                // A missing footer is tolerated: only seekable readers need it.
                MARKER_EOS => self.done = true,
                MARKER_FOOTER => {
                    if val != 1 {
                        return Err(Error::corrupt(format!(
                            "bad footer marker: expected 1 sector, found {val}"
                        ))
                        .with_offset(at));
                    }
                    let mut fb = [0u8; 512];
                    self.read_exact(&mut fb, "footer")?;
                    let footer = SparseHeader::parse(&fb).map_err(|e| {
                        Error::corrupt(format!("bad footer: {}", e.message()))
                            .with_offset(at + SECTOR_SIZE)
                    })?;
                    if footer.capacity_sectors != self.header.capacity_sectors
                        || footer.grain_sectors != self.header.grain_sectors
                    {
                        return Err(Error::corrupt(format!(
                            "footer (capacity {} sectors, grain {}) differs from the header (capacity {}, grain {})",
                            footer.capacity_sectors,
                            footer.grain_sectors,
                            self.header.capacity_sectors,
                            self.header.grain_sectors
                        ))
                        .with_offset(at + SECTOR_SIZE));
                    }
                    self.saw_footer = true;
                }
                _ => {
                    // GT, GD, and unknown metadata (type 4 "progress") are skipped.
                    if val > MAX_METADATA_SECTORS {
                        return Err(Error::corrupt(format!(
                            "metadata marker (type {kind}) claims {val} sectors, above {MAX_METADATA_SECTORS}"
                        ))
                        .with_offset(at));
                    }
                    self.skip(val * SECTOR_SIZE, "metadata")?;
                }
            }
        }
        Ok(None)
    }

    fn grain(&mut self, at: u64, lba: u64, size: u64, sector: &[u8; 512]) -> Result<Grain> {
        if size > MAX_COMPRESSED_GRAIN {
            return Err(Error::corrupt(format!(
                "bad grain marker: compressed size {size} exceeds 2 grains ({MAX_COMPRESSED_GRAIN} bytes)"
            ))
            .with_offset(at));
        }
        if lba % GRAIN_SECTORS != 0 {
            return Err(Error::corrupt(format!(
                "bad grain marker: sector {lba} is not at a grain boundary"
            ))
            .with_offset(at));
        }
        if lba >= self.header.capacity_sectors {
            return Err(Error::corrupt(format!(
                "bad grain marker: sector {lba} lies beyond the capacity of {} sectors",
                self.header.capacity_sectors
            ))
            .with_offset(at));
        }
        if lba < self.next_lba {
            return Err(Error::corrupt(format!(
                "grain for sector {lba} is out of order or repeated (expected sector {} or later); a stream must ascend",
                self.next_lba
            ))
            .with_offset(at));
        }
        self.next_lba = lba + GRAIN_SECTORS;
        self.grains_seen += 1;
        let total = 12 + size;
        let mut data = Vec::with_capacity(size as usize);
        let first = (size as usize).min(500);
        data.extend_from_slice(&sector[12..12 + first]);
        if size > 500 {
            let start = data.len();
            data.resize(size as usize, 0);
            self.read_exact(&mut data[start..], "grain data")?;
        }
        // The marker and data fill whole sectors; the first sector is already read.
        let padded = total.div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        self.skip(padded - total.max(SECTOR_SIZE), "grain padding")?;
        let offset = lba * SECTOR_SIZE;
        Ok(Grain {
            offset,
            len: grain_len(self.capacity_bytes, offset),
            data: GrainData::Zlib {
                data,
                file_offset: at,
            },
        })
    }
}

impl<R: Read + Send> DiskSource for StreamReader<R> {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn next_grain(&mut self) -> Result<Option<Grain>> {
        self.next_inner().map_err(|e| self.origin.apply(e))
    }

    fn annotate(&self, error: Error) -> Error {
        self.origin.apply(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{DataGrain, GrainEncoder, SinkOptions};
    use crate::vmdk::stream_writer::{StreamGrainEncoder, StreamOptimizedWriter};

    /// A streamOptimized image of 64 grains: incompressible grains (stored, ~64 KiB each, so
    /// that a batch holds few), every third grain a hole.
    fn image() -> Vec<u8> {
        let opts = SinkOptions {
            compression_level: 0,
            ..Default::default()
        };
        let mut w =
            StreamOptimizedWriter::new(Vec::new(), 64 * GRAIN_BYTES, "t.vmdk", &opts).unwrap();
        let mut enc = StreamGrainEncoder::new(0).unwrap();
        let mut x = 7u32;
        for g in (0..64u64).filter(|g| g % 3 != 1) {
            let bytes = (0..GRAIN_BYTES)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let e = enc
                .encode(DataGrain {
                    offset: g * GRAIN_BYTES,
                    bytes,
                })
                .unwrap();
            w.write_grain(e).unwrap();
        }
        w.finish_into_inner().unwrap().0
    }

    fn source(img: Vec<u8>) -> StreamFileSource<Vec<u8>> {
        let len = img.len() as u64;
        StreamFileSource::new(img, len, Origin::entry("t.vmdk"), &Limits::default()).unwrap()
    }

    #[test]
    fn batches_hand_out_the_grains_next_grain_does() {
        let img = image();
        let mut one = source(img.clone());
        let mut want = Vec::new();
        while let Some(g) = one.next_grain().unwrap() {
            let GrainData::Zlib { data, file_offset } = g.data else {
                panic!("raw grain")
            };
            want.push((g.offset, g.len, data, file_offset));
        }
        assert_eq!(want.len(), 43);
        let mut many = source(img);
        let mut batch = GrainBatch::new(0); // the least: one compressed grain and its marker
        let (mut got, mut batches) = (Vec::new(), 0);
        while many.next_batch(&mut batch).unwrap() {
            batches += 1;
            for g in batch.grains() {
                got.push((g.offset, g.len, batch.data(g).to_vec(), g.file_offset));
            }
        }
        assert_eq!(got, want);
        assert!(batches > 1, "one block held every grain");
        assert!(!many.next_batch(&mut batch).unwrap());
    }

    #[test]
    fn a_batch_checks_grain_markers() {
        let mut img = image();
        let mut probe = source(img.clone());
        let Some(Grain {
            data: GrainData::Zlib { file_offset, .. },
            ..
        }) = probe.next_grain().unwrap()
        else {
            panic!("no grain")
        };
        // The first grain's marker names another sector.
        img[file_offset as usize] ^= 0x80;
        let mut s = source(img);
        let e = s.next_batch(&mut GrainBatch::new(1 << 20)).unwrap_err();
        assert!(e.to_string().contains("grain marker says sector"), "{e}");
    }
}
