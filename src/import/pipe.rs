//! The disk half of the one-pass import: bytes of a package member travel from the thread that
//! reads (and hashes) the archive through a bounded channel to a [`Read`] adapter, which the
//! streaming VMDK reader and [`crate::disk::copy`] consume on another thread.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::disk::{self, CopyOptions, DiskSink, DiskSource, Grain, SinkOptions, SinkReport};
use crate::error::{Error, Result};
use crate::file_reader::FileReader;
use crate::limits::Limits;
use crate::progress::Progress;
use crate::vmdk::header::SparseHeader;
use crate::vmdk::layout::{self, Layout};
use crate::vmdk::stream::{Origin, StreamReader};

/// Buffers in flight between the archive reader and a disk converter (1 MiB each).
pub(crate) const CHANNEL_BUFFERS: usize = 8;

/// Import's sending half of the shared [`crate::channel`]: a [`Write`] that forwards bytes to the
/// converter. The archive must be read to its end so that every digest is computed, so once the
/// converter has stopped, the bytes it no longer takes are counted and dropped here, never
/// elsewhere. The converter stops early only after failing (its error is reported after the
/// pass): on success it reads its input to the end ([`convert`]).
pub(crate) struct ChannelWriter {
    inner: crate::channel::ChannelWriter,
    discarded: u64,
}

impl ChannelWriter {
    pub(crate) fn new(inner: crate::channel::ChannelWriter) -> Self {
        ChannelWriter {
            inner,
            discarded: 0,
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.discarded == 0 {
            match self.inner.write_all(buf) {
                Ok(()) => return Ok(buf.len()),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e),
            }
        }
        self.discarded = self.discarded.saturating_add(buf.len() as u64).max(1);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        if self.discarded > 0 {
            tracing::debug!(
                bytes = self.discarded,
                "import: converter stopped; the rest of its member was only hashed"
            );
        }
    }
}

pub(crate) use crate::channel::ChannelReader;

/// A bounded channel pair.
pub(crate) fn channel() -> (crate::channel::ChannelWriter, ChannelReader) {
    crate::channel::channel(CHANNEL_BUFFERS)
}

/// A disk with no data (an OVF `Disk` without `ovf:fileRef`).
pub(crate) struct BlankSource {
    pub capacity_bytes: u64,
}

impl DiskSource for BlankSource {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }
    fn next_grain(&mut self) -> Result<Option<Grain>> {
        Ok(None)
    }
}

/// What one disk conversion should produce.
#[derive(Debug, Clone)]
pub(crate) struct DiskTarget {
    /// The output descriptor path (inside the pending VM folder).
    pub path: PathBuf,
    /// Output layout.
    pub layout: Layout,
    /// `ovf:capacity` in bytes, when the descriptor says.
    pub ovf_capacity_bytes: Option<u64>,
    /// Sink settings (adapter type, hardware version, identity).
    pub sink: SinkOptions,
    /// The package member name, for messages.
    pub entry: String,
    /// Whether the stored file is gzip-compressed (`ovf:compression="gzip"`).
    pub gzip: bool,
}

/// What a finished conversion wrote.
#[derive(Debug, Clone)]
pub(crate) struct DiskDone {
    pub capacity_bytes: u64,
    pub report: SinkReport,
    pub warnings: Vec<String>,
}

/// Converts the disk image read from `input` (the bytes of the package member, in order) into
/// `target`. Non-streamOptimized images are first spilled to a temporary file beside the output
/// (they need random access), then read through [`crate::open_disk`].
pub(crate) fn convert(
    input: Box<dyn Read + Send>,
    target: &DiskTarget,
    spill_dir: &Path,
    limits: &Limits,
    copy_opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<DiskDone> {
    // Inflated, the image may not exceed what its first sector (or ovf:capacity) allows.
    let reader = FileReader::new(
        input,
        target.gzip,
        target.ovf_capacity_bytes,
        limits,
        &target.entry,
    )?;
    let stream_optimized = <&[u8; 512]>::try_from(reader.head())
        .ok()
        .and_then(|b| SparseHeader::parse(b).ok())
        .is_some_and(|h| h.is_compressed() && h.has_markers());
    if stream_optimized {
        let mut source = StreamReader::new(reader, Origin::entry(&target.entry), limits)?;
        let done = run(&mut source, target, copy_opts, progress)?;
        // Read the member to its end (bytes after the end-of-stream marker are not part of the
        // disk), so that the archive side never writes into a closed channel after a success.
        let rest = io::copy(&mut source.into_inner(), &mut io::sink())
            .map_err(|e| Error::from(e).with_entry(&target.entry))?;
        if rest > 0 {
            tracing::debug!(entry = %target.entry, bytes = rest, "import: bytes after the end-of-stream marker");
        }
        return Ok(done);
    }
    // Anything else (hosted sparse, raw): spill, then open by content.
    let mut spill = tempfile::Builder::new()
        .prefix(".spill-")
        .tempfile_in(spill_dir)
        .map_err(|e| Error::io("cannot create temporary file", e).with_path(spill_dir))?;
    let mut reader = reader;
    io::copy(&mut reader, spill.as_file_mut()).map_err(|e| {
        let e: Error = e.into();
        e.with_entry(&target.entry)
    })?;
    let mut source =
        crate::open_disk(spill.path(), limits).map_err(|e| e.with_entry(&target.entry))?;
    let mut done = run(source.as_mut(), target, copy_opts, progress)?;
    done.warnings.push(format!(
        "{}: not streamOptimized; read through a temporary copy",
        target.entry
    ));
    Ok(done)
}

/// Copies `source` into a new sink at `target`.
pub(crate) fn run(
    source: &mut dyn DiskSource,
    target: &DiskTarget,
    copy_opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<DiskDone> {
    let mut warnings = Vec::new();
    let vmdk_capacity = source.capacity_bytes();
    let capacity = match target.ovf_capacity_bytes {
        Some(ovf) if ovf > vmdk_capacity => {
            warnings.push(format!(
                "{}: ovf:capacity is {ovf} bytes, the disk image {vmdk_capacity}: the disk is grown to {ovf}",
                target.entry
            ));
            ovf
        }
        Some(ovf) if ovf < vmdk_capacity => {
            warnings.push(format!(
                "{}: ovf:capacity is {ovf} bytes, the disk image {vmdk_capacity}: keeping the image's capacity",
                target.entry
            ));
            vmdk_capacity
        }
        _ => vmdk_capacity,
    };
    let mut sink: Box<dyn DiskSink> =
        layout::create_sink(&target.path, target.layout, capacity, &target.sink)?;
    let label = target
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tracing::info!(file = %label, capacity_bytes = capacity, "import: write disk");
    progress.start(&label, Some(capacity));
    let r = disk::copy(source, sink.as_mut(), copy_opts, progress);
    progress.finish();
    r?;
    let report = sink.finish()?;
    Ok(DiskDone {
        capacity_bytes: capacity,
        report,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_carries_bytes_and_ends() {
        let (tx, mut rx) = channel();
        let t = std::thread::spawn(move || {
            let mut w = ChannelWriter::new(tx);
            w.write_all(b"hello ").unwrap();
            w.write_all(b"world").unwrap();
        });
        let mut s = String::new();
        rx.read_to_string(&mut s).unwrap();
        t.join().unwrap();
        assert_eq!(s, "hello world");
    }

    fn gzip_target(dir: &Path, ovf_capacity: u64) -> DiskTarget {
        DiskTarget {
            path: dir.join("d.vmdk"),
            layout: Layout::Thin,
            ovf_capacity_bytes: Some(ovf_capacity),
            sink: SinkOptions::default(),
            entry: "d.vmdk".into(),
            gzip: true,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_bomb_disk_stops_at_its_capacity_before_the_spill_grows() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = gzip(&vec![0u8; 64 << 20]);
        let target = gzip_target(dir.path(), 1 << 20);
        let e = convert(
            Box::new(io::Cursor::new(bomb)),
            &target,
            dir.path(),
            &Limits::default(),
            &CopyOptions::default(),
            &crate::progress::NoProgress,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded, "{e}");
        // The spill file is gone and nothing else was written.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn gzip_raw_disk_of_its_capacity_converts() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = vec![0u8; 1 << 20];
        raw[4096..8192].fill(7);
        let target = gzip_target(dir.path(), 1 << 20);
        let done = convert(
            Box::new(io::Cursor::new(gzip(&raw))),
            &target,
            dir.path(),
            &Limits::default(),
            &CopyOptions::default(),
            &crate::progress::NoProgress,
        )
        .unwrap();
        assert_eq!(done.capacity_bytes, 1 << 20);
    }

    #[test]
    fn writer_survives_a_dead_reader() {
        let (tx, rx) = channel();
        drop(rx);
        let mut w = ChannelWriter::new(tx);
        assert_eq!(w.write(b"abc").unwrap(), 3);
        assert_eq!(w.write(b"abc").unwrap(), 3);
    }
}
