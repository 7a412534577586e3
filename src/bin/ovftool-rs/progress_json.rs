//! `--json-progress` (ovftool: `--machineOutput`): the library's [`Progress`] reports as
//! newline-delimited JSON objects on standard error, one per line, so that a GUI or a CI log can
//! follow a long job while standard output keeps the report. Schema: docs/JSON.md, "Progress
//! events".
//!
//! Each phase of the library (one file hashed, copied or converted) gives one `start` event,
//! `progress` events at most every [`INTERVAL`] and one `finish` event that carries the final
//! byte count.

use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ovftool::progress::Progress;
use serde_json::json;

/// Least time between two `progress` events of one phase.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The command whose phases are reported, set once by `main` when `--json-progress` is given.
static COMMAND: OnceLock<&'static str> = OnceLock::new();

/// Turns the JSON progress events on for this process.
pub fn enable(command: &'static str) {
    let _ = COMMAND.set(command);
}

/// The JSON progress sink when `--json-progress` was given.
pub fn sink() -> Option<Box<dyn Progress>> {
    COMMAND
        .get()
        .map(|c| Box::new(JsonProgress::new(c, Box::new(io::stderr()))) as Box<dyn Progress>)
}

struct State {
    file: Option<String>,
    total: Option<u64>,
    done: u64,
    last: Instant,
    out: Box<dyn Write + Send>,
}

/// A [`Progress`] that writes one JSON object per line.
pub struct JsonProgress {
    command: &'static str,
    state: Mutex<State>,
}

impl JsonProgress {
    /// Events for `command`, written to `out`.
    pub fn new(command: &'static str, out: Box<dyn Write + Send>) -> Self {
        JsonProgress {
            command,
            state: Mutex::new(State {
                file: None,
                total: None,
                done: 0,
                last: Instant::now(),
                out,
            }),
        }
    }

    fn emit(&self, s: &mut State, event: &str) {
        let line = json!({
            "event": event,
            "phase": self.command,
            "file": s.file,
            "bytes_done": s.done,
            "bytes_total": s.total,
        });
        // One write per line, so that lines of concurrent writers never interleave; a closed
        // stderr is not a reason to fail the job.
        let _ = s.out.write_all(format!("{line}\n").as_bytes());
        let _ = s.out.flush();
        s.last = Instant::now();
    }
}

impl Progress for JsonProgress {
    fn start(&self, label: &str, total: Option<u64>) {
        if let Ok(mut s) = self.state.lock() {
            s.file = Some(label.to_string());
            s.total = total;
            s.done = 0;
            self.emit(&mut s, "start");
        }
    }

    fn advance(&self, delta: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.done = s.done.saturating_add(delta);
            if s.last.elapsed() >= INTERVAL {
                self.emit(&mut s, "progress");
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut s) = self.state.lock() {
            if s.file.is_some() {
                self.emit(&mut s, "finish");
                s.file = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_are_one_json_object_per_line_ending_at_the_total() {
        let buf = Shared::default();
        let p = JsonProgress::new("convert", Box::new(buf.clone()));
        p.start("d.vmdk", Some(300));
        for _ in 0..3 {
            p.advance(100);
        }
        p.finish();
        p.finish(); // a second finish adds nothing
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let ev: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(ev.len(), 2, "{text}");
        assert_eq!(ev[0]["event"], "start");
        assert_eq!(ev[0]["phase"], "convert");
        assert_eq!(ev[0]["file"], "d.vmdk");
        assert_eq!(ev[0]["bytes_done"], 0);
        let last = ev.last().unwrap();
        assert_eq!(last["event"], "finish");
        assert_eq!(last["bytes_done"], last["bytes_total"]);
    }
}
