//! The raw 512-byte tar header (POSIX ustar, with the GNU extensions readers meet in OVAs),
//! kept apart from the reader and writer that interpret it (docs/FORMATS.md §9).
//!
//! Layout (offset, length): name 0/100, mode 100/8, uid 108/8, gid 116/8, size 124/12,
//! mtime 136/12, chksum 148/8, typeflag 156/1, linkname 157/100, magic 257/6, version 263/2,
//! uname 265/32, gname 297/32, devmajor 329/8, devminor 337/8, prefix 345/155.

use crate::error::{Error, Result};

/// Size of a tar block.
pub const BLOCK: u64 = 512;
/// Largest size the 11 octal digits of a ustar size field hold (8 GiB − 1).
pub const MAX_OCTAL_SIZE: u64 = (1 << 33) - 1;

/// The member types this crate distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `'0'`, `'\0'` or `'7'`: a regular file.
    Regular,
    /// `'1'` hard link or `'2'` symbolic link.
    Link,
    /// `'3'`, `'4'`, `'6'`: character/block device or FIFO.
    Device,
    /// `'5'`: a folder.
    Directory,
    /// `'L'`: GNU long name for the next member.
    GnuLongName,
    /// `'K'`: GNU long link name for the next member.
    GnuLongLink,
    /// `'x'`: PAX extended header for the next member.
    Pax,
    /// `'g'`: PAX global header.
    PaxGlobal,
    /// Anything else (GNU sparse `'S'`, volume labels ...).
    Other(u8),
}

/// A decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `prefix/name` as raw bytes (ustar prefix joined when present).
    pub name: Vec<u8>,
    /// Member type.
    pub kind: Kind,
    /// Raw type flag byte.
    pub typeflag: u8,
    /// Data size in bytes.
    pub size: u64,
    /// Link target (raw bytes), for diagnostics.
    pub linkname: Vec<u8>,
}

fn field(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// Parses a numeric field: octal ASCII (blank/NUL padded) or GNU base-256 (high bit set).
fn number(b: &[u8], what: &str) -> Result<u64> {
    if let Some(&first) = b.first() {
        if first & 0x80 != 0 {
            if first & 0x40 != 0 {
                return Err(Error::corrupt(format!(
                    "negative base-256 {what} in tar header"
                )));
            }
            let mut v: u64 = u64::from(first & 0x3f);
            for &c in &b[1..] {
                v = v
                    .checked_mul(256)
                    .and_then(|v| v.checked_add(u64::from(c)))
                    .ok_or_else(|| Error::corrupt(format!("base-256 {what} overflows")))?;
            }
            return Ok(v);
        }
    }
    let s = b
        .iter()
        .copied()
        .skip_while(|&c| c == b' ' || c == 0)
        .take_while(|&c| c != b' ' && c != 0)
        .collect::<Vec<u8>>();
    if s.is_empty() {
        return Ok(0);
    }
    let mut v: u64 = 0;
    for c in s {
        if !(b'0'..=b'7').contains(&c) {
            return Err(Error::corrupt(format!(
                "{what} field in tar header is not octal: {:?}",
                String::from_utf8_lossy(b)
            )));
        }
        v = v
            .checked_mul(8)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or_else(|| Error::corrupt(format!("{what} overflows")))?;
    }
    Ok(v)
}

/// Whether a block is all zeros (end-of-archive marker).
pub fn is_zero_block(b: &[u8; 512]) -> bool {
    b.iter().all(|&c| c == 0)
}

fn checksums(b: &[u8; 512]) -> (u64, i64) {
    let mut unsigned = 0u64;
    let mut signed = 0i64;
    for (i, &c) in b.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        unsigned += u64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

impl Header {
    /// Decodes a header block and checks its checksum.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] for a bad checksum, magic or numeric field.
    pub fn parse(b: &[u8; 512]) -> Result<Header> {
        let stored = number(&b[148..156], "checksum")?;
        let (unsigned, signed) = checksums(b);
        if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
            return Err(Error::corrupt(format!(
                "bad tar header checksum: expected {unsigned:o}, found {stored:o}"
            )));
        }
        let magic = &b[257..263];
        let ustar = magic == b"ustar\0" || magic == b"ustar ";
        if !ustar && magic.iter().any(|&c| c != 0) {
            return Err(Error::corrupt(format!(
                "not a tar header: magic {:?}",
                String::from_utf8_lossy(magic)
            )));
        }
        let mut name = field(&b[0..100]).to_vec();
        // The ustar prefix; GNU headers ("ustar  \0") use that space for other things.
        if magic == b"ustar\0" {
            let prefix = field(&b[345..500]);
            if !prefix.is_empty() {
                let mut full = prefix.to_vec();
                full.push(b'/');
                full.extend_from_slice(&name);
                name = full;
            }
        }
        let typeflag = b[156];
        let kind = match typeflag {
            b'0' | 0 | b'7' => Kind::Regular,
            b'1' | b'2' => Kind::Link,
            b'3' | b'4' | b'6' => Kind::Device,
            b'5' => Kind::Directory,
            b'L' => Kind::GnuLongName,
            b'K' => Kind::GnuLongLink,
            b'x' | b'X' => Kind::Pax,
            b'g' => Kind::PaxGlobal,
            other => Kind::Other(other),
        };
        Ok(Header {
            name,
            kind,
            typeflag,
            size: number(&b[124..136], "size")?,
            linkname: field(&b[157..257]).to_vec(),
        })
    }
}

fn put_octal(dst: &mut [u8], v: u64) {
    // width-1 digits, NUL terminated.
    let digits = dst.len() - 1;
    let s = format!("{v:0digits$o}");
    dst[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    dst[digits] = 0;
}

/// Encodes a deterministic ustar header for a regular file: mode 0644, uid/gid 0, `mtime`,
/// size in octal, or GNU base-256 when `size` ≥ 8 GiB (VirtualBox's choice; PAX is avoided
/// because vSphere rejects it).
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`] when `name` does not fit the 100-byte name field.
pub fn encode(name: &str, size: u64, mtime: u64) -> Result<[u8; 512]> {
    let mut b = [0u8; 512];
    let nb = name.as_bytes();
    if nb.len() > 100 {
        return Err(Error::unsafe_path(format!(
            "entry name {name:?} is longer than the 100 bytes of a ustar name"
        )));
    }
    b[..nb.len()].copy_from_slice(nb);
    put_octal(&mut b[100..108], 0o644);
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    if size <= MAX_OCTAL_SIZE {
        put_octal(&mut b[124..136], size);
    } else {
        b[124] = 0x80;
        b[128..136].copy_from_slice(&size.to_be_bytes());
    }
    put_octal(&mut b[136..148], mtime.min((1 << 33) - 1));
    b[156] = b'0';
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    let (sum, _) = checksums(&b);
    let s = format!("{sum:06o}");
    b[148..154].copy_from_slice(s.as_bytes());
    b[154] = 0;
    b[155] = b' ';
    Ok(b)
}

/// Padding after `size` bytes of data up to the next block.
pub fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_parse_round_trip() {
        for size in [0, 1, 511, 512, MAX_OCTAL_SIZE, MAX_OCTAL_SIZE + 1, 20 << 40] {
            let b = encode("disk1.vmdk", size, 1_700_000_000).unwrap();
            let h = Header::parse(&b).unwrap();
            assert_eq!(h.size, size);
            assert_eq!(h.name, b"disk1.vmdk");
            assert_eq!(h.kind, Kind::Regular);
        }
        assert!(encode(&"a".repeat(101), 0, 0).is_err());
    }

    #[test]
    fn bad_checksum_is_refused() {
        let mut b = encode("a", 5, 0).unwrap();
        b[0] = b'b';
        assert!(Header::parse(&b).is_err());
    }

    #[test]
    fn base256_negative_and_garbage() {
        assert!(number(&[0xff; 12], "size").is_err());
        assert!(number(b"12389\0\0\0\0\0\0\0", "size").is_err());
        assert_eq!(number(b"   777 \0\0\0\0\0", "size").unwrap(), 0o777);
    }
}
