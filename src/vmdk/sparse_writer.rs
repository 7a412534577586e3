//! Hosted sparse sinks: monolithicSparse (descriptor embedded) and twoGbMaxExtentSparse
//! (descriptor file plus `-s001.vmdk` extents).
//!
//! Each extent is laid out as QEMU and VMware do (VDF5 p.8; docs/FORMATS.md §2.3): header, embedded
//! descriptor (sector 1, 20 sectors), redundant GD, redundant GTs, GD, GTs, padding to a grain
//! boundary, then grains. All GTs exist from the start (the GD is fully populated); only data
//! grains are stored, appended in offset order with large sequential writes. A grain table is
//! written (both copies) as soon as the grains it covers are done, so memory stays at one table.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::disk::{DiskSink, Encoded, GrainEncoder, PlainEncoder, SinkReport, GRAIN_BYTES};
use crate::error::{Error, Result};
use crate::limits::SECTOR_SIZE;
use crate::output::PendingFile;
use crate::pio::write_all_at;
use crate::vmdk::flat::{commit_all, WRITE_CHUNK};
use crate::vmdk::header::{SparseHeader, FLAG_NEWLINE_TEST, FLAG_REDUNDANT_GD};

/// Grain size written, in sectors (64 KiB).
pub const GRAIN_SECTORS: u64 = 128;
/// Grain-table entries written per table.
pub const GTES_PER_GT: u64 = 512;
/// Sectors reserved for an embedded descriptor (QEMU, open-vmdk).
pub const EMBEDDED_DESCRIPTOR_SECTORS: u64 = 20;

/// The metadata layout of one sparse extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseLayout {
    /// The header to write.
    pub header: SparseHeader,
    /// First sector of the redundant grain tables.
    pub rgt_sector: u64,
    /// First sector of the grain tables.
    pub gt_sector: u64,
    /// Sectors of the grain directory.
    pub gd_sectors: u64,
}

impl SparseLayout {
    /// Computes the layout for `capacity_sectors` with `descriptor_sectors` reserved at sector 1
    /// (0 = no embedded descriptor).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when the extent cannot be addressed with 32-bit sector
    /// offsets (about 2 TiB).
    pub fn new(capacity_sectors: u64, descriptor_sectors: u64) -> Result<Self> {
        let gd_entries = capacity_sectors.div_ceil(GTES_PER_GT * GRAIN_SECTORS);
        let gd_sectors = (gd_entries * 4).div_ceil(SECTOR_SIZE);
        let gt_sectors = gd_entries * (GTES_PER_GT * 4 / SECTOR_SIZE);
        let desc_offset = if descriptor_sectors > 0 { 1 } else { 0 };
        let rgd = 1 + descriptor_sectors;
        let rgt = rgd + gd_sectors;
        let gd = rgt + gt_sectors;
        let gt = gd + gd_sectors;
        let overhead = (gt + gt_sectors).div_ceil(GRAIN_SECTORS) * GRAIN_SECTORS;
        let last =
            overhead.saturating_add(capacity_sectors.div_ceil(GRAIN_SECTORS) * GRAIN_SECTORS);
        if last > u64::from(u32::MAX) {
            return Err(Error::usage(format!(
                "a sparse extent of {capacity_sectors} sectors cannot be addressed with 32-bit \
                 grain offsets (about 2 TiB at most); use a flat layout or twoGbMaxExtentSparse"
            )));
        }
        Ok(SparseLayout {
            header: SparseHeader {
                version: 1,
                flags: FLAG_NEWLINE_TEST | FLAG_REDUNDANT_GD,
                capacity_sectors,
                grain_sectors: GRAIN_SECTORS,
                descriptor_offset_sectors: desc_offset,
                descriptor_size_sectors: descriptor_sectors,
                num_gtes_per_gt: GTES_PER_GT as u32,
                rgd_offset_sectors: rgd,
                gd_offset_sectors: gd,
                overhead_sectors: overhead,
                unclean_shutdown: false,
                compress_algorithm: 0,
            },
            rgt_sector: rgt,
            gt_sector: gt,
            gd_sectors,
        })
    }

    /// Number of grain-directory entries.
    pub fn gd_entries(&self) -> u64 {
        self.header.gd_entries()
    }

    /// The grain directory (primary when `redundant` is false) as bytes, padded to sectors.
    pub fn gd_bytes(&self, redundant: bool) -> Vec<u8> {
        let base = if redundant {
            self.rgt_sector
        } else {
            self.gt_sector
        };
        let mut out = Vec::with_capacity((self.gd_sectors * SECTOR_SIZE) as usize);
        for i in 0..self.gd_entries() {
            // Fits: SparseLayout::new checked the whole extent fits in 32-bit sectors.
            out.extend_from_slice(&((base + i * 4) as u32).to_le_bytes());
        }
        out.resize((self.gd_sectors * SECTOR_SIZE) as usize, 0);
        out
    }
}

struct SparseOut {
    pending: PendingFile,
    path: PathBuf,
    start: u64,
    len: u64,
    layout: SparseLayout,
    embedded: Option<Vec<u8>>,
    /// Next free sector for a grain.
    next_sector: u64,
    /// Pending sequential data and the sector where it starts.
    buf: Vec<u8>,
    buf_sector: u64,
    /// The grain table being filled and its index.
    gt: Vec<u32>,
    gt_index: Option<u64>,
    /// A second handle on the temporary file for the background writer.
    shared: Arc<File>,
    io: Arc<BackgroundWriter>,
}

/// Writes full data buffers on a background thread so that the ordered writer (which holds up
/// every pipeline worker while it runs) only copies grains into a buffer. At most
/// [`IO_QUEUE`] buffers wait; their memory is recycled.
struct BackgroundWriter {
    tx: Mutex<Option<Sender<WriteJob>>>,
    spare: Receiver<Vec<u8>>,
    handle: Mutex<Option<JoinHandle<Result<()>>>>,
}

/// One buffer for the background writer: file, its name for errors, byte offset, bytes.
type WriteJob = (Arc<File>, PathBuf, u64, Vec<u8>);

/// Buffers queued for the background writer.
const IO_QUEUE: usize = 2;

impl BackgroundWriter {
    fn start() -> Result<Self> {
        let (tx, rx) = bounded::<WriteJob>(IO_QUEUE);
        let (spare_tx, spare) = bounded::<Vec<u8>>(IO_QUEUE + 2);
        let handle = std::thread::Builder::new()
            .name("vmdk-sparse-writer".into())
            .spawn(move || -> Result<()> {
                for (file, path, at, mut buf) in rx {
                    write_all_at(&file, &path, at, &buf)?;
                    buf.clear();
                    let _ = spare_tx.try_send(buf);
                }
                Ok(())
            })
            .map_err(|e| Error::io("cannot start the writer thread", e))?;
        Ok(BackgroundWriter {
            tx: Mutex::new(Some(tx)),
            spare,
            handle: Mutex::new(Some(handle)),
        })
    }

    fn buffer(&self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(WRITE_CHUNK))
    }

    fn send(&self, item: WriteJob) -> Result<()> {
        let sent = match self.tx.lock() {
            Ok(guard) => guard.as_ref().map(|tx| tx.send(item).is_ok()),
            Err(_) => None,
        };
        if sent == Some(true) {
            Ok(())
        } else {
            // The thread stopped: its error says why.
            self.join()?;
            Err(Error::new(
                crate::ErrorKind::Io,
                "the background writer stopped",
            ))
        }
    }

    /// Waits until every queued buffer is written; returns the first write error.
    fn join(&self) -> Result<()> {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        match handle.map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(Error::new(
                crate::ErrorKind::Io,
                "the background writer panicked",
            )),
        }
    }
}

impl SparseOut {
    fn flush_data(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            let next = self.io.buffer();
            let buf = std::mem::replace(&mut self.buf, next);
            self.io.send((
                Arc::clone(&self.shared),
                self.path.clone(),
                self.buf_sector * SECTOR_SIZE,
                buf,
            ))?;
        }
        Ok(())
    }

    fn flush_gt(&mut self) -> Result<()> {
        if let Some(i) = self.gt_index.take() {
            let bytes: Vec<u8> = self.gt.iter().flat_map(|e| e.to_le_bytes()).collect();
            let file = self.pending.file();
            for base in [self.layout.rgt_sector, self.layout.gt_sector] {
                let at = (base + i * 4) * SECTOR_SIZE;
                write_all_at(file, &self.path, at, &bytes)?;
            }
            self.gt.iter_mut().for_each(|e| *e = 0);
        }
        Ok(())
    }

    fn put(&mut self, rel_offset: u64, bytes: &[u8]) -> Result<()> {
        let grain = rel_offset / GRAIN_BYTES;
        let gt_index = grain / GTES_PER_GT;
        if self.gt_index != Some(gt_index) {
            self.flush_gt()?;
            self.gt_index = Some(gt_index);
        }
        let sector = self.next_sector;
        self.gt[(grain % GTES_PER_GT) as usize] = sector as u32;
        if self.buf.len() + GRAIN_BYTES as usize > WRITE_CHUNK {
            self.flush_data()?;
        }
        if self.buf.is_empty() {
            self.buf_sector = sector;
        }
        self.buf.extend_from_slice(bytes);
        // A short last grain is padded to a whole grain, as QEMU stores it.
        self.buf.resize(
            self.buf.len() + (GRAIN_BYTES as usize - bytes.len().min(GRAIN_BYTES as usize)),
            0,
        );
        self.next_sector += GRAIN_SECTORS;
        Ok(())
    }

    fn finish(&mut self) -> Result<u64> {
        self.flush_data()?;
        self.flush_gt()?;
        let file = self.pending.file();
        write_all_at(file, &self.path, 0, &self.layout.header.to_bytes())?;
        if let Some(d) = &self.embedded {
            write_all_at(file, &self.path, SECTOR_SIZE, d)?;
        }
        let h = &self.layout.header;
        write_all_at(
            file,
            &self.path,
            h.rgd_offset_sectors * SECTOR_SIZE,
            &self.layout.gd_bytes(true),
        )?;
        write_all_at(
            file,
            &self.path,
            h.gd_offset_sectors * SECTOR_SIZE,
            &self.layout.gd_bytes(false),
        )?;
        let end = self.next_sector * SECTOR_SIZE;
        file.set_len(end)
            .map_err(|e| Error::io("cannot size the extent", e).with_path(&self.path))?;
        Ok(end)
    }
}

/// A sink writing hosted sparse extents (and, for the split layout, a descriptor file).
pub struct SparseSink {
    descriptor: Option<(PendingFile, String)>,
    extents: Vec<SparseOut>,
    capacity_bytes: u64,
    data_bytes: u64,
    last_end: u64,
    cur: usize,
}

impl std::fmt::Debug for SparseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseSink")
            .field("extents", &self.extents.len())
            .finish_non_exhaustive()
    }
}

impl SparseSink {
    /// Creates the temporary files. `extents` are `(path, len_bytes, embedded descriptor)` in
    /// disk order; `descriptor` is the separate descriptor file and its text, if any.
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] unless `force`; [`crate::ErrorKind::Usage`] for an
    /// extent too large for 32-bit offsets; I/O errors.
    pub(crate) fn create(
        descriptor: Option<(&Path, String)>,
        extents: Vec<(PathBuf, u64, Option<Vec<u8>>)>,
        force: bool,
    ) -> Result<Self> {
        let descriptor = match descriptor {
            Some((p, text)) => Some((PendingFile::create(p, force)?, text)),
            None => None,
        };
        let mut outs = Vec::with_capacity(extents.len());
        let mut start = 0u64;
        let io = Arc::new(BackgroundWriter::start()?);
        for (path, len, embedded) in extents {
            let cap_sectors = len.div_ceil(SECTOR_SIZE);
            let desc_sectors = match &embedded {
                Some(d) => EMBEDDED_DESCRIPTOR_SECTORS.max((d.len() as u64).div_ceil(SECTOR_SIZE)),
                None => 0,
            };
            let layout = SparseLayout::new(cap_sectors, desc_sectors)?;
            let mut pending = PendingFile::create(&path, force)?;
            let shared = Arc::new(pending.file_handle()?);
            outs.push(SparseOut {
                shared,
                io: Arc::clone(&io),
                pending,
                path,
                start,
                len,
                next_sector: layout.header.overhead_sectors,
                layout,
                embedded,
                buf: Vec::with_capacity(WRITE_CHUNK),
                buf_sector: 0,
                gt: vec![0u32; GTES_PER_GT as usize],
                gt_index: None,
            });
            start += len;
        }
        Ok(SparseSink {
            descriptor,
            extents: outs,
            capacity_bytes: start,
            data_bytes: 0,
            last_end: 0,
            cur: 0,
        })
    }
}

impl DiskSink for SparseSink {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        Ok(Box::new(PlainEncoder))
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        let end = grain
            .offset
            .checked_add(grain.bytes.len() as u64)
            .filter(|&e| e <= self.capacity_bytes && grain.bytes.len() as u64 <= GRAIN_BYTES)
            .ok_or_else(|| {
                Error::usage(format!(
                    "grain at offset {} is beyond the disk capacity of {} bytes",
                    grain.offset, self.capacity_bytes
                ))
            })?;
        if grain.offset < self.last_end || grain.offset % GRAIN_BYTES != 0 {
            return Err(Error::usage(format!(
                "grain at offset {} is out of order or not grain aligned",
                grain.offset
            )));
        }
        self.last_end = end;
        while self.cur + 1 < self.extents.len()
            && grain.offset >= self.extents[self.cur].start + self.extents[self.cur].len
        {
            let e = &mut self.extents[self.cur];
            e.flush_data()?;
            e.flush_gt()?;
            self.cur += 1;
        }
        let e = &mut self.extents[self.cur];
        let rel = grain.offset - e.start;
        if rel + grain.bytes.len() as u64 > e.len {
            // Extent sizes are multiples of the grain, so only a bug gets here.
            return Err(Error::usage("grain straddles two extents"));
        }
        e.put(rel, &grain.bytes)?;
        self.data_bytes += grain.bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<SinkReport> {
        let mut report = SinkReport {
            data_bytes: self.data_bytes,
            ..SinkReport::default()
        };
        let mut files = Vec::new();
        let mut sizes = Vec::new();
        if let Some((mut p, text)) = self.descriptor.take() {
            let path = p.final_path().to_path_buf();
            std::io::Write::write_all(p.file(), text.as_bytes())
                .map_err(|e| Error::io("cannot write", e).with_path(&path))?;
            sizes.push((path, text.len() as u64));
            report.stored_bytes += text.len() as u64;
            files.push(p);
        }
        let mut extent_files = Vec::new();
        let mut ends = Vec::new();
        for e in &mut self.extents {
            ends.push(e.finish()?);
        }
        // Every data buffer is on disk (in the page cache) before anything is committed.
        if let Some(e) = self.extents.first() {
            e.io.join()?;
        }
        for (e, size) in self.extents.into_iter().zip(ends) {
            sizes.push((e.pending.final_path().to_path_buf(), size));
            report.stored_bytes += size;
            extent_files.push(e.pending);
        }
        // Extents first, the descriptor (the name users open) last.
        extent_files.extend(files);
        commit_all(extent_files)?;
        report.files = sizes;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_qemu() {
        // qemu-img create -f vmdk x.vmdk 1M: rgd 21, gd 26, overhead 128.
        let l = SparseLayout::new(2048, 20).unwrap();
        assert_eq!(l.header.rgd_offset_sectors, 21);
        assert_eq!(l.header.gd_offset_sectors, 26);
        assert_eq!(l.header.overhead_sectors, 128);
        assert!(SparseLayout::new(u64::from(u32::MAX), 20).is_err());
    }
}
