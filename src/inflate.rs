//! Inflating `ovf:compression="gzip"` files (DSP0243 §5.3: the whole file is gzip, RFC 1952,
//! possibly several members) with a ceiling, the one way every command reads them.
//!
//! A gzip stream can inflate about a thousand times (10 MiB of zeros → 10 GiB): the ceiling is
//! what the disk inside can legally take ([`image_bytes_cap`]), and no byte past it is ever
//! handed out, so nothing downstream writes past it either.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use crate::error::Error;
use crate::limits::{Limits, SECTOR_SIZE};
use crate::vmdk::header::SparseHeader;

/// A gzip decoder that fails (with [`crate::ErrorKind::LimitExceeded`]) as soon as the inflated
/// bytes would exceed its ceiling. The ceiling can be lowered once the image's first sector has
/// been read and says what the image is ([`GunzipCapped::set_cap`]).
#[derive(Debug)]
pub struct GunzipCapped<R: Read> {
    inner: MultiGzDecoder<R>,
    out: u64,
    cap: u64,
    name: String,
}

impl<R: Read> GunzipCapped<R> {
    /// Inflates `inner` (named `name` in messages), handing out at most `cap_bytes`.
    pub fn new(inner: R, cap_bytes: u64, name: &str) -> Self {
        GunzipCapped {
            inner: MultiGzDecoder::new(inner),
            out: 0,
            cap: cap_bytes,
            name: name.to_string(),
        }
    }

    /// Inflates the image `inner` (named `name` in messages), the one way every command reads
    /// a gzip disk: reads its first sector (fewer bytes when the image is shorter), then lowers
    /// the ceiling from `limits.max_disk_capacity_bytes` to what that sector and the OVF
    /// capacity say the image can hold ([`image_bytes_cap`]). Returns the first sector and the
    /// reader, positioned after it.
    ///
    /// # Errors
    /// Data that is not gzip, I/O errors (named after the entry `name`).
    pub fn image(
        inner: R,
        ovf_capacity: Option<u64>,
        limits: &Limits,
        name: &str,
    ) -> crate::Result<(Vec<u8>, Self)> {
        let mut gz = GunzipCapped::new(inner, limits.max_disk_capacity_bytes, name);
        let mut head = vec![0u8; 512];
        let got = crate::digest::read_full(&mut gz, &mut head).map_err(|e| e.with_entry(name))?;
        head.truncate(got);
        gz.set_cap(image_bytes_cap(&head, ovf_capacity, limits));
        Ok((head, gz))
    }

    /// The ceiling: the most inflated bytes handed out.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Sets the ceiling (total inflated bytes, counting those already read).
    pub fn set_cap(&mut self, cap_bytes: u64) {
        self.cap = cap_bytes;
    }

    fn over(&self) -> io::Error {
        Error::limit(
            &format!("inflated size of {} in bytes", self.name),
            self.cap.saturating_add(1),
            self.cap,
        )
        .with_entry(&self.name)
        .into()
    }
}

impl<R: Read> Read for GunzipCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self.cap.saturating_sub(self.out);
        if room == 0 {
            // At the ceiling: the stream must end here.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(self.over()),
            };
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.out += n as u64;
        Ok(n)
    }
}

/// The most bytes a disk image can hold, judged from its first sector `head` (at least 512 bytes
/// when the image has them) and the OVF capacity:
///
/// * a hosted sparse or streamOptimized VMDK (VDF5 §"Hosted Sparse Extent Header"): every grain of
///   its capacity stored with at most one sector of marker and deflate framing, its grain tables
///   and directory with their markers, the embedded descriptor, and a MiB for header, footer and
///   end-of-stream marker;
/// * a VMDK text descriptor: `limits.max_vmdk_descriptor_bytes`;
/// * anything else is a raw or flat image, which cannot exceed its capacity: `ovf_capacity`, or
///   `limits.max_disk_capacity_bytes` when the descriptor gives none.
///
/// Never above what `limits.max_disk_capacity_bytes` allows.
pub fn image_bytes_cap(head: &[u8], ovf_capacity: Option<u64>, limits: &Limits) -> u64 {
    let max_capacity = limits.max_disk_capacity_bytes;
    let sector = head
        .get(..512)
        .and_then(|b| <&[u8; 512]>::try_from(b).ok())
        .and_then(|b| SparseHeader::parse(b).ok());
    if let Some(h) = sector {
        let capacity = h.capacity_bytes().unwrap_or(u64::MAX).min(max_capacity);
        let grains = capacity.div_ceil(h.grain_bytes().max(SECTOR_SIZE));
        let tables = grains.div_ceil(u64::from(h.num_gtes_per_gt.max(1)));
        return capacity
            .saturating_add(grains.saturating_mul(SECTOR_SIZE + 8))
            .saturating_add(tables.saturating_mul(2 * SECTOR_SIZE + 8))
            .saturating_add(limits.max_vmdk_descriptor_bytes)
            .saturating_add(1 << 20);
    }
    if head.starts_with(b"# Disk DescriptorFile") {
        return limits.max_vmdk_descriptor_bytes;
    }
    ovf_capacity.unwrap_or(max_capacity).min(max_capacity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let bomb = gz(&vec![0u8; 1 << 20]);
        let mut r = GunzipCapped::new(bomb.as_slice(), 4096, "d.vmdk");
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert!(out.len() <= 4096, "{}", out.len());
        let e = Error::from(e);
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded, "{e}");
    }

    #[test]
    fn a_stream_that_fits_exactly_is_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut two = gz(&data[..5000]);
        two.extend(gz(&data[5000..]));
        let mut out = Vec::new();
        GunzipCapped::new(two.as_slice(), 10_000, "x")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn caps_follow_the_image_kind() {
        let limits = Limits::default();
        assert_eq!(
            image_bytes_cap(&[0u8; 512], Some(1 << 20), &limits),
            1 << 20
        );
        assert_eq!(
            image_bytes_cap(&[0u8; 512], None, &limits),
            limits.max_disk_capacity_bytes
        );
        assert_eq!(
            image_bytes_cap(
                b"# Disk DescriptorFile\nversion=1\n",
                Some(1 << 40),
                &limits
            ),
            limits.max_vmdk_descriptor_bytes
        );
    }
}
