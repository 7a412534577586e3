//! Grain compression for streamOptimized extents: zlib streams (RFC 1950) made with libdeflate.
//!
//! Every implementation writes zlib framing although VDF5 §"Stream-Optimized Compressed Sparse
//! Extents" says RFC 1951 (docs/FORMATS.md §3.2), so [`Deflater`] writes zlib and [`Inflater`] reads
//! zlib, falling back to raw deflate. Inflation writes into a buffer of exactly one grain, so a
//! grain that would inflate past it (a compression bomb) fails without allocating more.

use libdeflater::{CompressionLvl, Compressor, DecompressionError, Decompressor};

use crate::error::{Error, Result};
use crate::limits::GRAIN_BYTES;

/// The default deflate level: libdeflate 6, the equivalent of zlib's default (ratio 0.642 vs
/// zlib's 0.647 on the benchmark data, at 2.6x the speed; docs/PERFORMANCE.md).
pub const DEFAULT_LEVEL: u32 = 6;
/// The highest level accepted (libdeflate's maximum).
pub const MAX_LEVEL: u32 = 12;

/// A per-thread zlib compressor at a fixed level.
pub struct Deflater {
    inner: Compressor,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

impl Deflater {
    /// A compressor at `level` (0 = stored, 1–9 as zlib, 10–12 libdeflate's slowest).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for a level above [`MAX_LEVEL`].
    pub fn new(level: u32) -> Result<Self> {
        let lvl = i32::try_from(level)
            .ok()
            .and_then(|l| CompressionLvl::new(l).ok())
            .ok_or_else(|| {
                Error::usage(format!(
                    "bad compression level: expected 0 to {MAX_LEVEL}, found {level}"
                ))
            })?;
        Ok(Deflater {
            inner: Compressor::new(lvl),
        })
    }

    /// Appends the zlib stream of `plain` to `out` and returns its length.
    ///
    /// # Errors
    /// Only if libdeflate reports that its own bound was too small (never expected).
    pub fn compress_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<usize> {
        let start = out.len();
        let bound = self.inner.zlib_compress_bound(plain.len());
        out.resize(start + bound, 0);
        match self.inner.zlib_compress(plain, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(n)
            }
            Err(_) => {
                out.truncate(start);
                Err(Error::new(
                    crate::ErrorKind::Io,
                    "deflate output exceeded its bound",
                ))
            }
        }
    }
}

/// Bits of Shannon entropy per byte (over the byte histogram) at or above which
/// [`looks_incompressible`] says deflate cannot win: uniformly random 64 KiB measure ~7.997.
pub const INCOMPRESSIBLE_BITS_PER_BYTE: f64 = 7.98;

/// Whether `data` looks incompressible: its byte histogram is almost flat (already compressed
/// or encrypted content). Deflating such data at level 6 costs as much as text and produces
/// stored blocks anyway (libdeflate keeps the smallest block kind), so the grain encoder stores
/// it directly: the same output size at a fraction of the time.
pub fn looks_incompressible(data: &[u8]) -> bool {
    if data.len() < 4096 {
        return false;
    }
    // Four interleaved histograms avoid store-to-load stalls on repeated bytes.
    let mut h = [[0u32; 256]; 4];
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        h[0][c[0] as usize] += 1;
        h[1][c[1] as usize] += 1;
        h[2][c[2] as usize] += 1;
        h[3][c[3] as usize] += 1;
    }
    for &b in chunks.remainder() {
        h[0][b as usize] += 1;
    }
    let n = data.len() as f64;
    let mut bits = 0.0f64;
    for (i, &c0) in h[0].iter().enumerate() {
        let c = c0 + h[1][i] + h[2][i] + h[3][i];
        if c > 0 {
            let p = f64::from(c) / n;
            bits -= p * p.log2();
        }
    }
    bits >= INCOMPRESSIBLE_BITS_PER_BYTE
}

/// A per-thread zlib/deflate decompressor for grains.
pub struct Inflater {
    inner: Decompressor,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inflater")
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A new decompressor.
    pub fn new() -> Self {
        Inflater {
            inner: Decompressor::new(),
        }
    }

    /// Inflates one grain that must hold at least `len` bytes and at most [`GRAIN_BYTES`];
    /// returns exactly `len` bytes (a padded last grain is cut).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the data is not zlib/deflate, inflates past
    /// [`GRAIN_BYTES`] (compression bomb) or to fewer than `len` bytes. The caller adds the
    /// file offset.
    ///
    /// # Security
    /// The output buffer is one grain whatever the input claims.
    pub fn inflate_grain(&mut self, data: &[u8], len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.inflate_grain_into(data, len, &mut out)?;
        Ok(out)
    }

    /// As [`Inflater::inflate_grain`], into `out` (resized to `len`; its allocation is reused
    /// from grain to grain).
    ///
    /// # Errors
    /// As [`Inflater::inflate_grain`].
    pub fn inflate_grain_into(&mut self, data: &[u8], len: usize, out: &mut Vec<u8>) -> Result<()> {
        let cap = GRAIN_BYTES as usize;
        if len > cap {
            return Err(Error::corrupt(format!(
                "grain of {len} bytes is larger than {cap}"
            )));
        }
        out.resize(cap, 0);
        let n = match self.inner.zlib_decompress(data, out) {
            Ok(n) => n,
            Err(DecompressionError::InsufficientSpace) => return Err(bomb(cap)),
            Err(DecompressionError::BadData) => {
                // Some writers follow the spec's "RFC 1951" literally.
                match self.inner.deflate_decompress(data, out) {
                    Ok(n) => n,
                    Err(DecompressionError::InsufficientSpace) => return Err(bomb(cap)),
                    Err(DecompressionError::BadData) => {
                        return Err(Error::corrupt(
                            "grain data is not a valid zlib or deflate stream",
                        ))
                    }
                }
            }
        };
        if n < len {
            return Err(Error::corrupt(format!(
                "grain inflates to {n} bytes, expected {len}"
            )));
        }
        out.truncate(len);
        Ok(())
    }
}

fn bomb(cap: usize) -> Error {
    Error::corrupt(format!(
        "grain inflates past the grain size of {cap} bytes (compression bomb?)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_flate2_interop() {
        let plain: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
        let mut d = Deflater::new(DEFAULT_LEVEL).unwrap();
        let mut out = vec![1, 2, 3];
        let n = d.compress_into(&plain, &mut out).unwrap();
        assert_eq!(out.len(), 3 + n);
        let z = &out[3..];
        // Independent zlib implementation reads it.
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(z), &mut back).unwrap();
        assert_eq!(back, plain);
        let mut i = Inflater::new();
        assert_eq!(i.inflate_grain(z, plain.len()).unwrap(), plain);
        // Shorter expected length (padded last grain) is cut; longer is an error.
        assert_eq!(i.inflate_grain(z, 1000).unwrap(), &plain[..1000]);
        let mut short = Vec::new();
        d.compress_into(&plain[..512], &mut short).unwrap();
        assert!(i.inflate_grain(&short, 1024).is_err());
    }

    #[test]
    fn entropy_test_separates_random_from_text() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let random: Vec<u8> = (0..65536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_incompressible(&random));
        let text = b"the quick brown fox jumps over the lazy dog ".repeat(1500);
        assert!(!looks_incompressible(&text));
        assert!(!looks_incompressible(&[0u8; 65536]));
        assert!(!looks_incompressible(&random[..100]));
    }

    #[test]
    fn compression_bomb_is_an_error() {
        let plain = vec![0u8; 4 * 65536];
        let mut z = Vec::new();
        Deflater::new(9)
            .unwrap()
            .compress_into(&plain, &mut z)
            .unwrap();
        let e = Inflater::new().inflate_grain(&z, 65536).unwrap_err();
        assert!(e.to_string().contains("compression bomb"), "{e}");
    }

    #[test]
    fn raw_deflate_is_accepted_and_garbage_rejected() {
        let plain = b"hello hello hello hello".repeat(100);
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &plain).unwrap();
        let raw = enc.finish().unwrap();
        let mut i = Inflater::new();
        assert_eq!(i.inflate_grain(&raw, plain.len()).unwrap(), plain);
        assert!(i.inflate_grain(b"\xff\xff\xff\xff", 10).is_err());
        assert!(Deflater::new(13).is_err());
    }
}
