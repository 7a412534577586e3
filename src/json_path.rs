//! How a path appears in a serialized report (`--json`).
//!
//! A path that is valid UTF-8 is a JSON string. Any other path (Unix file names are bytes) is an
//! object that keeps every byte: `{"lossy": "odd-\u{fffd}.ova", "bytes_hex": "6f64642dff2e6f7661"}`,
//! `lossy` for display (invalid sequences become U+FFFD) and `bytes_hex` the exact bytes.
//! Serializing never fails, unlike serde's own `Path` impl, which refuses such paths.
//! Use it on report fields with `#[serde(serialize_with = "crate::json_path::serialize")]`.

use std::path::Path;

use serde::{Serialize, Serializer};

/// A path as serialized: its text, or its lossy text and exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum JsonPath<'a> {
    /// A valid UTF-8 path.
    Text(&'a str),
    /// Any other path.
    Bytes {
        /// The path with invalid sequences replaced by U+FFFD, for display.
        lossy: String,
        /// The exact bytes, hexadecimal.
        bytes_hex: String,
    },
}

impl<'a> JsonPath<'a> {
    /// The representation of `path`.
    pub fn new(path: &'a Path) -> JsonPath<'a> {
        match path.to_str() {
            Some(s) => JsonPath::Text(s),
            None => JsonPath::Bytes {
                lossy: path.to_string_lossy().into_owned(),
                bytes_hex: hex::encode(path.as_os_str().as_encoded_bytes()),
            },
        }
    }
}

/// `serialize_with` for a path field.
///
/// # Errors
/// Only the serializer's own.
pub fn serialize<S: Serializer, P: AsRef<Path>>(path: P, s: S) -> Result<S::Ok, S::Error> {
    JsonPath::new(path.as_ref()).serialize(s)
}

/// `serialize_with` for an optional path field.
///
/// # Errors
/// Only the serializer's own.
pub fn serialize_option<S: Serializer, P: AsRef<Path>>(
    path: &Option<P>,
    s: S,
) -> Result<S::Ok, S::Error> {
    path.as_ref()
        .map(|p| JsonPath::new(p.as_ref()))
        .serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn non_utf8_path_keeps_its_bytes() {
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/t/odd-\xff.ova"));
        assert_eq!(
            JsonPath::new(p),
            JsonPath::Bytes {
                lossy: "/t/odd-\u{fffd}.ova".into(),
                bytes_hex: "2f742f6f64642dff2e6f7661".into()
            }
        );
        assert_eq!(JsonPath::new(Path::new("a b")), JsonPath::Text("a b"));
    }
}
