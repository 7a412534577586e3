//! The streaming reader through a source that returns short reads at random, and verify from a
//! non-seekable stream.

use std::io::{self, Read};

use ovftool::ova::Reader;
use ovftool::verify::{verify_stream, VerifyOptions};
use ovftool::Limits;

use super::craft;

/// Returns at most a random 1..=max bytes per read (xorshift, seeded: reproducible).
pub struct ShortReads<R> {
    inner: R,
    state: u64,
    max: usize,
}

impl<R> ShortReads<R> {
    pub fn new(inner: R, seed: u64, max: usize) -> Self {
        ShortReads {
            inner,
            state: seed | 1,
            max,
        }
    }
}

impl<R: Read> Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        if self.state % 7 == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = 1 + (self.state as usize) % self.max;
        let n = n.min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

fn members(src: impl Read) -> Vec<(String, Vec<u8>)> {
    let mut r = Reader::new(src, Limits::DEFAULT);
    let mut out = Vec::new();
    while let Some(mut e) = r.next_entry().unwrap() {
        let mut d = Vec::new();
        e.read_to_end(&mut d).unwrap();
        out.push((e.header().name.clone(), d));
    }
    out
}

#[test]
fn streaming_reader_survives_short_reads() {
    let ova = craft::package().ova();
    let expect = members(&ova[..]);
    assert_eq!(expect.len(), 3);
    for seed in 1..40u64 {
        for max in [1, 7, 512, 5000] {
            assert_eq!(members(ShortReads::new(&ova[..], seed, max)), expect);
        }
    }
}

/// Verifies `ova` read through [`ShortReads`] (`seed`, reads of at most `max` bytes).
fn verify_short_reads(ova: &[u8], seed: u64, max: usize) -> ovftool::verify::Report {
    let mut src = ShortReads::new(ova, seed, max);
    verify_stream(&mut src, "-".as_ref(), &VerifyOptions::default()).unwrap()
}

#[test]
fn verify_from_a_short_reading_stream_matches() {
    let ova = craft::package().ova();
    for seed in 1..10u64 {
        let r = verify_short_reads(&ova[..], seed, 3000);
        assert!(r.passed(), "{:#?}", r.findings);
    }
    // Truncated at every 97th byte through short reads: an error finding, never a panic. (A
    // lone end-of-archive block is accepted, as GNU tar does, so cuts stop before it.)
    for cut in (0..ova.len() - 512).step_by(97) {
        let r = verify_short_reads(&ova[..cut], cut as u64, 700);
        assert!(!r.passed(), "cut {cut} passed");
    }
}

#[test]
fn manifest_at_the_end_with_sha512_from_a_stream_is_not_silently_passed() {
    let p = craft::package();
    let alg = ovftool::digest::Algorithm::Sha512;
    let mf = format!(
        "{}{}",
        craft::mf_line(alg, "t.ovf", &p.ovf),
        craft::mf_line(alg, "t-disk1.vmdk", &p.disk)
    );
    let mut v = craft::file("t.ovf", &p.ovf);
    v.extend(craft::file("t-disk1.vmdk", &p.disk));
    v.extend(craft::file("t.mf", mf.as_bytes()));
    v.extend(craft::end());
    // From a pipe the disk was hashed with SHA-1/SHA-256 only: reported, not passed.
    let r = verify_stream(&mut &v[..], "-".as_ref(), &VerifyOptions::default()).unwrap();
    assert!(
        r.findings.iter().any(|f| f.code == "digest-not-computed"),
        "{:#?}",
        r.findings
    );
    // From a file the member is re-read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ova");
    std::fs::write(&path, &v).unwrap();
    let r = ovftool::verify::verify(&path, &VerifyOptions::default()).unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
}
