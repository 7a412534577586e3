//! SHA-1 / SHA-256 / SHA-512 digests for manifests, and the hashing copy pipeline.
//!
//! [`Algorithm`] names the digest as manifests spell it (`SHA1`, `SHA256`, `SHA512`); [`Hasher`]
//! computes one. [`copy_hashing`] moves a stream through a small ring of large buffers: the
//! calling thread reads, one thread per algorithm hashes, and an optional sink (the output file
//! of `unpack`/`pack`) is written on its own thread, so reading, hashing and writing overlap.
//! `sha2` selects the SHA-NI / AVX2 code path at run time.

use std::io::{self, Read, Write};

use sha1::Digest as _;

use crate::error::{Error, Result};
use crate::progress::Progress;

/// A digest algorithm a manifest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-1 (OVF 1.x tools, legacy vSphere clients).
    Sha1,
    /// SHA-256 (ovftool ≥ 4.2 default, OVF 2.x).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl serde::Serialize for Algorithm {
    /// As its manifest spelling (`SHA256`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Algorithm {
    /// The manifest spelling: `SHA1`, `SHA256`, `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses a manifest or command-line spelling, case-insensitively (`SHA256`, `sha-256`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// Length of the digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Digest of `data` in one call.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finalize()
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An incremental digest of one [`Algorithm`].
#[derive(Clone)]
pub enum Hasher {
    /// SHA-1 state.
    Sha1(sha1::Sha1),
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hasher({})", self.algorithm())
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Which algorithm this is.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha1(_) => Algorithm::Sha1,
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest bytes.
    pub fn finalize(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// Digests of one stream, one per requested algorithm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    /// `(algorithm, digest bytes)` in the order requested.
    pub values: Vec<(Algorithm, Vec<u8>)>,
}

impl Digests {
    /// The digest for `alg`, if it was computed.
    pub fn get(&self, alg: Algorithm) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| d.as_slice())
    }

    /// Digests of a byte slice for each algorithm.
    pub fn of(data: &[u8], algs: &[Algorithm]) -> Self {
        Digests {
            values: algs.iter().map(|&a| (a, a.digest(data))).collect(),
        }
    }
}

/// A reader that hashes what passes through it (for small inputs; large ones go through
/// [`copy_hashing`]).
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hashers: Vec<Hasher>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, hashing with each of `algs`.
    pub fn new(inner: R, algs: &[Algorithm]) -> Self {
        HashingReader {
            inner,
            hashers: algs.iter().map(|&a| Hasher::new(a)).collect(),
            count: 0,
        }
    }

    /// Bytes read so far and the digests.
    pub fn finish(self) -> (u64, Digests) {
        let values = self
            .hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finalize()))
            .collect();
        (self.count, Digests { values })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for h in &mut self.hashers {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that hashes what passes through it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hashers: Vec<Hasher>,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, hashing with each of `algs`.
    pub fn new(inner: W, algs: &[Algorithm]) -> Self {
        HashingWriter {
            inner,
            hashers: algs.iter().map(|&a| Hasher::new(a)).collect(),
            count: 0,
        }
    }

    /// The inner writer, bytes written and the digests.
    pub fn finish(self) -> (W, u64, Digests) {
        let values = self
            .hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finalize()))
            .collect();
        (self.inner, self.count, Digests { values })
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        for h in &mut self.hashers {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Size of one buffer of the copy ring.
pub const PIPELINE_BUFFER_BYTES: usize = 1 << 20;
/// Buffers in the ring: bounds the memory of a copy to 8 MiB.
pub(crate) const PIPELINE_BUFFERS: usize = 8;
/// Inputs smaller than this are hashed on the calling thread (threads cost more than they save).
const INLINE_BELOW: u64 = 4 << 20;

/// What [`copy_hashing`] did.
#[derive(Debug, Clone, Default)]
pub struct CopyResult {
    /// Bytes copied.
    pub bytes: u64,
    /// One digest per requested algorithm.
    pub digests: Digests,
    /// The first bytes of the stream (up to the requested prefix length).
    pub prefix: Vec<u8>,
}

/// Options of [`copy_hashing`].
#[derive(Debug, Clone, Default)]
pub struct HashOptions {
    /// Digests to compute.
    pub algorithms: Vec<Algorithm>,
    /// Keep this many leading bytes (e.g. for a disk header check).
    pub prefix_bytes: usize,
    /// Expected length when known (selects the threaded path for large inputs and sizes the
    /// progress bar); the copy still reads to end of stream.
    pub size_hint: Option<u64>,
}

/// The former name of [`HashOptions`], kept while `verify` and `transform` still use it.
#[doc(hidden)]
pub type CopyOptions = HashOptions;

/// One step of the chain; it sees each buffer in turn (and may swap it for another).
type Stage<'a> = Box<dyn FnMut(&mut Msg) -> io::Result<()> + Send + 'a>;

/// Reads `src` to its end, hashing with every requested algorithm and writing to `sink` if given,
/// with reading, each hash and the write running on separate threads over a ring of
/// `PIPELINE_BUFFERS` buffers of [`PIPELINE_BUFFER_BYTES`].
///
/// # Errors
/// [`crate::ErrorKind::Io`] (or the kind carried by an [`Error`] inside an `io::Error`) from
/// reading or writing.
pub fn copy_hashing(
    src: &mut dyn Read,
    sink: Option<&mut (dyn Write + Send)>,
    opts: &HashOptions,
    progress: &dyn Progress,
) -> Result<CopyResult> {
    copy_to(src, sink.map(Sink::Write), opts, progress)
}

/// [`copy_hashing`] into a [`crate::channel`]: the ring's buffers themselves are handed to the
/// channel's reader once hashed (the channel hands back buffers its reader has finished
/// with), so the bytes are not copied on the way (a deploy's upload thread reads them).
pub(crate) fn copy_hashing_to_channel(
    src: &mut dyn Read,
    sink: &mut crate::channel::ChannelWriter,
    opts: &HashOptions,
    progress: &dyn Progress,
) -> Result<CopyResult> {
    copy_to(src, Some(Sink::Channel(sink)), opts, progress)
}

/// Where [`copy_to`] writes.
enum Sink<'a> {
    Write(&'a mut (dyn Write + Send)),
    Channel(&'a mut crate::channel::ChannelWriter),
}

fn copy_to(
    src: &mut dyn Read,
    sink: Option<Sink<'_>>,
    opts: &HashOptions,
    progress: &dyn Progress,
) -> Result<CopyResult> {
    let mut hashers: Vec<Hasher> = opts.algorithms.iter().map(|&a| Hasher::new(a)).collect();
    let mut prefix = Vec::new();
    let small = opts.size_hint.is_some_and(|s| s < INLINE_BELOW);
    if small {
        let mut sink = sink;
        let mut buf = vec![0u8; 256 << 10];
        let mut bytes = 0u64;
        loop {
            let n = read_full(src, &mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            keep_prefix(&mut prefix, chunk, opts.prefix_bytes);
            for h in &mut hashers {
                h.update(chunk);
            }
            let written = match sink.as_mut() {
                Some(Sink::Write(w)) => w.write_all(chunk),
                Some(Sink::Channel(w)) => w.write_all(chunk),
                None => Ok(()),
            };
            written.map_err(|e| io_error("cannot write", e))?;
            bytes += n as u64;
            progress.advance(n as u64);
        }
        return Ok(CopyResult {
            bytes,
            digests: finish_all(hashers),
            prefix,
        });
    }

    // Stages run in a chain: reader → stage 1 → stage 2 → ... → back to the reader's pool.
    let mut stages: Vec<Stage<'_>> = Vec::new();
    let mut results: Vec<std::sync::Arc<std::sync::Mutex<Option<Hasher>>>> = Vec::new();
    for h in hashers.drain(..) {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        results.push(slot.clone());
        let mut h = Some(h);
        stages.push(Box::new(move |msg: &mut Msg| {
            let chunk = &msg.buf[..msg.len];
            if chunk.is_empty() {
                // End of stream: hand the state back.
                if let (Some(h), Ok(mut s)) = (h.take(), slot.lock()) {
                    *s = Some(h);
                }
            } else if let Some(h) = h.as_mut() {
                h.update(chunk);
            }
            Ok(())
        }));
    }
    match sink {
        Some(Sink::Write(w)) => stages.push(Box::new(move |msg: &mut Msg| {
            if msg.len == 0 {
                w.flush()
            } else {
                w.write_all(&msg.buf[..msg.len])
            }
        })),
        Some(Sink::Channel(w)) => stages.push(Box::new(move |msg: &mut Msg| {
            if msg.len == 0 {
                return w.flush();
            }
            // The buffer itself goes; an empty one (the channel's reader is done with it, or
            // a new one) takes its place in the ring.
            let mut full = std::mem::take(&mut msg.buf);
            full.truncate(msg.len);
            msg.len = 0;
            match w.send_buffer(full) {
                Ok(mut next) => {
                    // A reused buffer is normally full length already: nothing to zero.
                    next.resize(PIPELINE_BUFFER_BYTES, 0);
                    msg.buf = next;
                    Ok(())
                }
                Err(e) => {
                    // The chain keeps passing buffers round after a failure: one more for it.
                    msg.buf = vec![0u8; PIPELINE_BUFFER_BYTES];
                    Err(e)
                }
            }
        })),
        None => {}
    }
    let bytes = run_chain(src, stages, &mut prefix, opts.prefix_bytes, progress)?;
    let mut values = Vec::new();
    for (slot, &alg) in results.iter().zip(&opts.algorithms) {
        let h = slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| Error::new(crate::ErrorKind::Io, "hashing thread failed"))?;
        values.push((alg, h.finalize()));
    }
    Ok(CopyResult {
        bytes,
        digests: Digests { values },
        prefix,
    })
}

fn finish_all(hashers: Vec<Hasher>) -> Digests {
    Digests {
        values: hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finalize()))
            .collect(),
    }
}

fn keep_prefix(prefix: &mut Vec<u8>, chunk: &[u8], want: usize) {
    if prefix.len() < want {
        let take = (want - prefix.len()).min(chunk.len());
        prefix.extend_from_slice(&chunk[..take]);
    }
}

fn io_error(what: &str, e: io::Error) -> Error {
    // An `Error` travelling inside an io::Error (from our own readers) comes back whole.
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::from(e);
    }
    Error::io(what, e)
}

/// Reads until `buf` is full or the stream ends; retries on `Interrupted`.
///
/// # Errors
/// The reader's error, converted.
pub fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("cannot read", e)),
        }
    }
    Ok(filled)
}

struct Msg {
    buf: Vec<u8>,
    len: usize,
}

fn run_chain(
    src: &mut dyn Read,
    stages: Vec<Stage<'_>>,
    prefix: &mut Vec<u8>,
    prefix_bytes: usize,
    progress: &dyn Progress,
) -> Result<u64> {
    use crossbeam_channel::{bounded, Receiver, Sender};
    let n = stages.len();
    // Channel i feeds stage i; channel n returns buffers to the reader.
    let mut senders: Vec<Sender<Msg>> = Vec::with_capacity(n + 1);
    let mut receivers: Vec<Receiver<Msg>> = Vec::with_capacity(n + 1);
    for _ in 0..=n {
        let (s, r) = bounded::<Msg>(PIPELINE_BUFFERS);
        senders.push(s);
        receivers.push(r);
    }
    let pool_rx = receivers
        .pop()
        .ok_or_else(|| Error::usage("empty pipeline"))?;
    let pool_tx = senders[n].clone();
    for _ in 0..PIPELINE_BUFFERS {
        let _ = pool_tx.send(Msg {
            buf: vec![0u8; PIPELINE_BUFFER_BYTES],
            len: 0,
        });
    }
    drop(pool_tx);
    std::thread::scope(|scope| -> Result<u64> {
        let mut handles = Vec::new();
        for (i, (mut stage, rx)) in stages.into_iter().zip(receivers).enumerate() {
            let tx = senders[i + 1].clone();
            handles.push(scope.spawn(move || -> io::Result<()> {
                let mut failed: Option<io::Error> = None;
                for mut msg in rx.iter() {
                    if failed.is_none() {
                        if let Err(e) = stage(&mut msg) {
                            failed = Some(e);
                        }
                    }
                    // Keep buffers flowing even after a failure so the reader never blocks.
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
                match failed {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }));
        }
        let first = senders[0].clone();
        drop(senders);
        let mut total = 0u64;
        let mut read_err = None;
        while let Ok(mut msg) = pool_rx.recv() {
            match read_full(src, &mut msg.buf) {
                Ok(len) => {
                    msg.len = len;
                    keep_prefix(prefix, &msg.buf[..len], prefix_bytes);
                    total += len as u64;
                    progress.advance(len as u64);
                    let done = len == 0;
                    if first.send(msg).is_err() || done {
                        break;
                    }
                }
                Err(e) => {
                    read_err = Some(e);
                    break;
                }
            }
        }
        drop(first);
        // Drain returned buffers so the last stage never blocks on a full pool channel.
        let drain = scope.spawn(move || for _ in pool_rx.iter() {});
        let mut stage_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    stage_err.get_or_insert(io_error("cannot write", e));
                }
                Err(_) => {
                    stage_err.get_or_insert(Error::new(crate::ErrorKind::Io, "a worker panicked"));
                }
            }
        }
        let _ = drain.join();
        if let Some(e) = read_err {
            return Err(e);
        }
        if let Some(e) = stage_err {
            return Err(e);
        }
        Ok(total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn known_vectors() {
        assert_eq!(
            hex::encode(Algorithm::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(Algorithm::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(hex::encode(Algorithm::Sha512.digest(b"abc")).starts_with("ddaf35a193617aba"));
        assert_eq!(Algorithm::from_name("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("md5"), None);
    }

    #[test]
    fn threaded_and_inline_paths_agree() {
        let data: Vec<u8> = (0..(9u32 << 20) + 12345)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let algs = vec![Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
        let expect = Digests::of(&data, &algs);
        for hint in [None, Some(data.len() as u64), Some(1)] {
            let mut out = Vec::new();
            let r = copy_hashing(
                &mut &data[..],
                Some(&mut out),
                &HashOptions {
                    algorithms: algs.clone(),
                    prefix_bytes: 1000,
                    size_hint: hint,
                },
                &NoProgress,
            )
            .unwrap();
            assert_eq!(r.digests, expect);
            assert_eq!(r.bytes, data.len() as u64);
            assert_eq!(out, data);
            assert_eq!(r.prefix, data[..1000]);
        }
    }

    #[test]
    fn buffers_handed_to_a_channel_arrive_whole_and_a_gone_reader_fails() {
        let data: Vec<u8> = (0..(11u32 << 20) + 777)
            .map(|i| (i * 13 + i / 509) as u8)
            .collect();
        let algs = vec![Algorithm::Sha256];
        let opts = HashOptions {
            algorithms: algs.clone(),
            prefix_bytes: 10,
            size_hint: Some(data.len() as u64),
        };
        let (mut w, mut r) = crate::channel::channel(2);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            got
        });
        // Two members into one channel, as chunks of one file feed one upload.
        let half = data.len() / 2;
        let a = copy_hashing_to_channel(&mut &data[..half], &mut w, &opts, &NoProgress).unwrap();
        let b = copy_hashing_to_channel(&mut &data[half..], &mut w, &opts, &NoProgress).unwrap();
        w.finish().unwrap();
        assert_eq!(reader.join().unwrap(), data);
        assert_eq!(a.digests, Digests::of(&data[..half], &algs));
        assert_eq!(b.digests, Digests::of(&data[half..], &algs));
        assert_eq!(a.bytes + b.bytes, data.len() as u64);
        assert_eq!(a.prefix, data[..10]);

        let (mut w, r) = crate::channel::channel(2);
        drop(r);
        let e = copy_hashing_to_channel(&mut &data[..], &mut w, &opts, &NoProgress).unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
    }

    #[test]
    fn read_error_is_reported_not_hung() {
        struct Failing(u32);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("boom"));
                }
                self.0 -= 1;
                buf.fill(1);
                Ok(buf.len())
            }
        }
        let r = copy_hashing(
            &mut Failing(20),
            None,
            &HashOptions {
                algorithms: vec![Algorithm::Sha256],
                ..Default::default()
            },
            &NoProgress,
        );
        assert!(r.is_err());
    }
}
