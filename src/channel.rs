//! A byte stream between two threads over a bounded channel: a [`Write`] on one side, a
//! [`Read`] on the other (a disk writer feeding an OVA entry, an archive reader feeding a disk
//! converter, a converter feeding an upload).
//!
//! No byte is dropped silently: once the reading side is gone, every write fails with
//! [`io::ErrorKind::BrokenPipe`], so the writing side learns that its data goes nowhere and
//! decides what that means.

use std::io::{self, Read, Write};

use crossbeam_channel::{bounded, Receiver, Sender};

/// Bytes per message: writes are gathered into chunks of this size.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// A channel of at most `buffers` chunks in flight.
pub(crate) fn channel(buffers: usize) -> (ChannelWriter, ChannelReader) {
    let (tx, rx) = bounded(buffers);
    (
        ChannelWriter {
            tx: Some(tx),
            buf: Vec::new(),
        },
        ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        },
    )
}

/// The sending half. [`Write::flush`] (or [`ChannelWriter::finish`]) hands over what is
/// gathered; dropping the writer ends the stream after handing over what is still gathered.
pub(crate) struct ChannelWriter {
    tx: Option<Sender<Vec<u8>>>,
    buf: Vec<u8>,
}

fn broken_pipe() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the reading side of the channel stopped",
    )
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        let Some(tx) = &self.tx else {
            return Err(broken_pipe());
        };
        if tx.send(chunk).is_err() {
            self.tx = None;
            return Err(broken_pipe());
        }
        Ok(())
    }

    /// Hands over what is gathered and ends the stream: the reader sees end of input.
    ///
    /// # Errors
    /// [`io::ErrorKind::BrokenPipe`] when the reader is gone with data still to take.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        let r = self.send();
        self.tx = None;
        r
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.tx.is_none() {
            return Err(broken_pipe());
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(CHUNK_BYTES);
        }
        let n = (CHUNK_BYTES - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        // Ending the stream, like closing a pipe: what was written reaches the reader. A reader
        // that is already gone took nothing more anyway, and its owner reports why it stopped.
        let _ = self.send();
    }
}

/// The receiving half: a [`Read`] over the chunks; end of input once the writer is finished or
/// dropped.
pub(crate) struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_every_byte_in_order_and_ends() {
        let data: Vec<u8> = (0..3 * CHUNK_BYTES + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        let (mut w, mut r) = channel(2);
        let sent = data.clone();
        let t = std::thread::spawn(move || {
            for piece in sent.chunks(70_001) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn dropping_the_writer_delivers_what_it_gathered() {
        let (mut w, mut r) = channel(2);
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        drop(w);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello world");
    }

    #[test]
    fn writes_fail_with_broken_pipe_once_the_reader_is_gone() {
        let (mut w, r) = channel(1);
        drop(r);
        // Gathered bytes are refused at the latest when they are handed over.
        let e = w
            .write_all(&vec![1u8; CHUNK_BYTES + 1])
            .and_then(|()| w.flush())
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(w.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let (mut w, r) = channel(1);
        w.write_all(b"abc").unwrap();
        drop(r);
        assert_eq!(w.finish().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
