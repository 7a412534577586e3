//! The OVA container: a ustar archive holding an OVF package (docs/FORMATS.md §9).
//!
//! * [`names`]: the entry-name policy (plain file names only) and member roles.
//! * [`header`]: the raw 512-byte tar header.
//! * [`reader`]: a streaming, one-pass reader over any `Read`.
//! * [`writer`]: a deterministic writer (descriptor first; reservations and unsized members on
//!   seekable outputs).
//!
//! The checks that need the whole package (entry order, manifest, signature, References) live
//! in [`crate::verify()`].

pub mod folder_stream;
pub mod header;
pub mod names;
pub mod reader;
pub mod writer;

pub use reader::{Entry, EntryHeader, Reader};
pub use writer::{Reservation, Writer};
