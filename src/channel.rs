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
///
/// The reader hands each chunk it has used back to the writer (through a second channel of
/// `buffers + 2`), so a long stream allocates only the buffers in flight, not one per chunk.
pub(crate) fn channel(buffers: usize) -> (ChannelWriter, ChannelReader) {
    let (tx, rx) = bounded(buffers);
    let (recycle_tx, recycle_rx) = bounded(buffers + 2);
    (
        ChannelWriter {
            tx: Some(tx),
            buf: Vec::new(),
            recycled: recycle_rx,
        },
        ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
            recycle: recycle_tx,
        },
    )
}

/// The sending half. [`Write::flush`] (or [`ChannelWriter::finish`]) hands over what is
/// gathered; dropping the writer ends the stream after handing over what is still gathered.
/// [`ChannelWriter::send_buffer`] hands over a whole buffer without copying it.
pub(crate) struct ChannelWriter {
    tx: Option<Sender<Vec<u8>>>,
    buf: Vec<u8>,
    recycled: Receiver<Vec<u8>>,
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

    /// Hands over `full` as it is (after what is gathered), without copying it, and returns a
    /// buffer for the caller to fill next: one the reader has finished with (its length and
    /// bytes are what they were: the caller overwrites them, no need to zero them again), else
    /// an empty new one. The number of buffers stays bounded by what can be in flight.
    ///
    /// # Errors
    /// [`io::ErrorKind::BrokenPipe`] once the reader is gone.
    pub(crate) fn send_buffer(&mut self, full: Vec<u8>) -> io::Result<Vec<u8>> {
        self.send()?;
        if !full.is_empty() {
            let Some(tx) = &self.tx else {
                return Err(broken_pipe());
            };
            if tx.send(full).is_err() {
                self.tx = None;
                return Err(broken_pipe());
            }
        }
        Ok(self.recycled.try_recv().unwrap_or_default())
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
            self.buf = self.recycled.try_recv().unwrap_or_default();
            self.buf.clear();
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
    recycle: Sender<Vec<u8>>,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    let used = std::mem::replace(&mut self.cur, c);
                    self.pos = 0;
                    // Back to the writer for reuse; dropped when it has enough or is gone.
                    if used.capacity() > 0 {
                        let _ = self.recycle.try_send(used);
                    }
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
    fn whole_buffers_pass_in_order_and_come_back_for_reuse() {
        let (mut w, mut r) = channel(2);
        let t = std::thread::spawn(move || {
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            got
        });
        let mut expect = Vec::new();
        let mut reused = 0;
        let mut buf = vec![0u8; 1000];
        for i in 0..50u8 {
            buf.clear();
            buf.resize(1000, i);
            expect.extend_from_slice(&buf);
            w.write_all(&[i; 3]).unwrap();
            expect.extend_from_slice(&[i; 3]);
            buf = w.send_buffer(std::mem::take(&mut buf)).unwrap();
            reused += usize::from(buf.capacity() >= 1000);
        }
        drop(w);
        assert_eq!(t.join().unwrap(), expect);
        assert!(reused > 0, "no buffer came back");
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
