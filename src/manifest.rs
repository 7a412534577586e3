//! OVF manifests (`.mf`): tolerant parsing, canonical writing (docs/FORMATS.md §8).
//!
//! A manifest lists one digest per line. Producers differ in spacing: OpenSSL/ovftool write
//! `SHA256(name)= hex`, VirtualBox (IPRT) writes `SHA256 (name) = hex`; some files use CRLF,
//! upper-case hex or blank padding lines. [`Manifest::parse`] accepts all of these (blanks
//! around `(`, `)` and `=`, CRLF, blank lines, hex case); [`Manifest::to_bytes`] writes only the
//! canonical no-space form with lower-case hex and LF, which ESXi requires.

use std::collections::HashSet;

use crate::digest::Algorithm;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// One `ALG(name)= hex` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The digest algorithm.
    pub algorithm: Algorithm,
    /// The file name as written (a plain name inside the package).
    pub name: String,
    /// The digest bytes.
    pub digest: Vec<u8>,
    /// 1-based line in the manifest (0 for entries built in memory).
    pub line: u64,
}

/// A parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

/// Splits `ALG ( name ) = value` with optional blanks; `None` when the line has another shape.
/// Shared with the `.cert` signature line.
pub(crate) fn split_line(line: &str) -> Option<(&str, &str, &str)> {
    let open = line.find('(')?;
    let alg = line[..open].trim();
    let rest = &line[open + 1..];
    // The name may itself contain ')': the separator is the last ')' followed by blanks and '='.
    let mut close = None;
    for (i, _) in rest.match_indices(')') {
        if rest[i + 1..].trim_start().starts_with('=') {
            close = Some(i);
        }
    }
    let close = close?;
    let name = rest[..close].trim();
    let after = rest[close + 1..].trim_start();
    let value = after.strip_prefix('=')?.trim();
    if alg.is_empty() || alg.contains(char::is_whitespace) {
        return None;
    }
    Some((alg, name, value))
}

/// When `name` is a `.mf` that is not the manifest of the descriptor `descriptor_name`, why not.
///
/// DSP0243 §5.1: the package manifest is named after the descriptor (`vm.ovf` → `vm.mf`); another
/// `.mf` (`disk1.mf` beside `fake.ovf`) is not taken as it. The one message `validate`, `verify`
/// and `import` give for it.
pub(crate) fn not_the_package_manifest(name: &str, descriptor_name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    let base = descriptor_name
        .rsplit_once('.')
        .map_or(descriptor_name, |(b, _)| b);
    (ext.eq_ignore_ascii_case("mf") && stem != base).then(|| {
        format!("{name} is not this package's manifest (expected {base}.mf); it is not used")
    })
}

/// The `.mf` files of the folder `dir` that are not the manifest of `descriptor_name`, each with
/// [`not_the_package_manifest`]'s message; at most `limits.max_ova_entries` entries are looked
/// at. A folder that cannot be listed has none.
pub(crate) fn stray_manifests_in_dir(
    dir: &std::path::Path,
    descriptor_name: &str,
    limits: &Limits,
) -> Vec<(String, String)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = rd
        .take(limits.max_ova_entries)
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            let msg = not_the_package_manifest(&n, descriptor_name)?;
            Some((n, msg))
        })
        .collect();
    out.sort();
    out
}

impl Manifest {
    /// Parses manifest bytes tolerantly.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] naming the line for a line that is not
    /// `ALG(name)= hex`, an unknown algorithm, a digest of the wrong length or non-hex, a bad
    /// name, or a name listed twice; [`crate::ErrorKind::LimitExceeded`] above
    /// [`Limits::max_manifest_bytes`].
    ///
    /// # Security
    /// Names are checked with [`crate::gate::plain_file_name`]; the input size is capped.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Manifest> {
        if bytes.len() as u64 > limits.max_manifest_bytes {
            return Err(Error::limit(
                "manifest size",
                bytes.len() as u64,
                limits.max_manifest_bytes,
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::verification(format!("manifest is not UTF-8 text: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i as u64 + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let bad = |why: String| Error::verification(why).with_line_col(line_no, 1);
            let (alg, name, value) = split_line(line).ok_or_else(|| {
                bad(format!(
                    "manifest line is not `ALG(name)= digest`: {:?}",
                    truncate(line)
                ))
            })?;
            let algorithm = Algorithm::from_name(alg).ok_or_else(|| {
                bad(format!(
                    "unsupported manifest digest {alg:?} (expected SHA1, SHA256 or SHA512)"
                ))
            })?;
            crate::gate::plain_file_name(name).map_err(|e| bad(e.message().to_string()))?;
            let digest = hex::decode(value)
                .map_err(|_| bad(format!("digest of {name} is not hexadecimal")))?;
            if digest.len() != algorithm.digest_len() {
                return Err(bad(format!(
                    "{algorithm} digest of {name}: expected {} hex digits, found {}",
                    algorithm.digest_len() * 2,
                    value.len()
                )));
            }
            if !seen.insert(name.to_string()) {
                return Err(bad(format!("{name} is listed twice")));
            }
            entries.push(Entry {
                algorithm,
                name: name.to_string(),
                digest,
                line: line_no,
            });
        }
        Ok(Manifest { entries })
    }

    /// The entry for `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The distinct algorithms used, in a stable order.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = self.entries.iter().map(|e| e.algorithm).collect();
        algs.sort();
        algs.dedup();
        algs
    }

    /// Appends an entry.
    pub fn push(&mut self, algorithm: Algorithm, name: &str, digest: Vec<u8>) {
        self.entries.push(Entry {
            algorithm,
            name: name.to_string(),
            digest,
            line: 0,
        });
    }

    /// The canonical form: `ALG(name)= lowercasehex\n` per entry, in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&line(e.algorithm, &e.name, &hex::encode(&e.digest)));
        }
        out.into_bytes()
    }

    /// Length of the canonical line for `name` (lets writers reserve space before digests
    /// are known).
    pub fn canonical_line_len(algorithm: Algorithm, name: &str) -> usize {
        algorithm.name().len() + 1 + name.len() + 3 + algorithm.digest_len() * 2 + 1
    }
}

fn line(alg: Algorithm, name: &str, hex: &str) -> String {
    format!("{}({name})= {hex}\n", alg.name())
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "e333e333e333e333e333e333e333e333e333e333";

    #[test]
    fn tolerant_parse_canonical_write() {
        let text = format!(
            "\r\nSHA1(a.ovf)= {D1}\r\nSHA1 (b b.vmdk) = {}\n   \nSHA1(c(1).vmdk)={D1}",
            D1.to_uppercase()
        );
        let m = Manifest::parse(text.as_bytes(), &Limits::DEFAULT).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.entries[1].name, "b b.vmdk");
        assert_eq!(m.entries[2].name, "c(1).vmdk");
        assert_eq!(m.entries[1].line, 3);
        let out = String::from_utf8(m.to_bytes()).unwrap();
        assert_eq!(
            out,
            format!("SHA1(a.ovf)= {D1}\nSHA1(b b.vmdk)= {D1}\nSHA1(c(1).vmdk)= {D1}\n")
        );
        assert_eq!(
            Manifest::canonical_line_len(Algorithm::Sha1, "a.ovf"),
            format!("SHA1(a.ovf)= {D1}\n").len()
        );
    }

    #[test]
    fn whitespace_only_manifest_is_empty() {
        let m = Manifest::parse(&[b' '; 68], &Limits::DEFAULT).unwrap();
        assert!(m.entries.is_empty());
    }

    #[test]
    fn garbage_is_refused_with_line() {
        for bad in [
            "hello world\n".to_string(),
            format!("MD5(a)= {}\n", "0".repeat(32)),
            "SHA1(a)= 1234\n".to_string(),
            "SHA1(a)= zz33e333e333e333e333e333e333e333e333e333\n".to_string(),
            format!("SHA1(../etc/passwd)= {D1}\n"),
            format!("SHA1(a)= {D1}\nSHA1(a)= {D1}\n"),
        ] {
            let e = Manifest::parse(bad.as_bytes(), &Limits::DEFAULT).unwrap_err();
            assert!(e.location().line_col.is_some(), "{bad:?}: {e}");
        }
        assert!(Manifest::parse(&[0xff, 0xfe], &Limits::DEFAULT).is_err());
    }
}
