//! The small seam through which verify/pack read the OVF descriptor: the File references, the
//! disks, and validation findings. Everything else in this module tree depends only on these
//! types, so the descriptor library can change underneath.

use crate::error::{Error, Result};
use crate::limits::Limits;

/// A `References/File`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileRef {
    pub id: String,
    pub href: String,
    pub size: Option<u64>,
    pub compression: Option<String>,
    pub chunk_size: Option<u64>,
}

impl FileRef {
    pub fn is_gzip(&self) -> bool {
        self.compression.as_deref() == Some("gzip")
    }
}

/// A `DiskSection/Disk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskRef {
    pub disk_id: String,
    pub file_ref: Option<String>,
    /// Capacity in bytes, or why it cannot be computed.
    pub capacity_bytes: std::result::Result<u64, String>,
    pub format: Option<String>,
}

/// A validation finding from the descriptor library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diag {
    pub error: bool,
    pub code: String,
    pub message: String,
    pub line: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Descriptor {
    pub files: Vec<FileRef>,
    pub disks: Vec<DiskRef>,
    pub diagnostics: Vec<Diag>,
}

/// Parses the descriptor and collects validation findings (`lax` downgrades what ovftool's
/// `--lax` accepts).
///
/// # Errors
/// The descriptor library's error for a descriptor that cannot be parsed at all.
pub(crate) fn parse(bytes: &[u8], lax: bool, limits: &Limits) -> Result<Descriptor> {
    let _ = lax;
    if bytes.len() as u64 > limits.max_descriptor_bytes {
        return Err(Error::limit(
            "descriptor size",
            bytes.len() as u64,
            limits.max_descriptor_bytes,
        ));
    }
    fallback::parse(bytes)
}

/// Rewrites `ovf:size` of the given files.
///
/// # Errors
/// [`crate::ErrorKind::Unsupported`] until the descriptor library provides editing.
pub(crate) fn set_file_sizes(bytes: &[u8], sizes: &[(String, u64)]) -> Result<Vec<u8>> {
    let _ = (bytes, sizes);
    Err(Error::unsupported(
        "rewriting ovf:size needs the OVF editing library, which is not in this build",
    ))
}

/// Parses `ovf:capacityAllocationUnits` ("byte", "byte * 2^30", "GigaBytes"...) to a multiplier.
pub(crate) fn unit_multiplier(units: &str) -> Option<u64> {
    let u: String = units.chars().filter(|c| !c.is_whitespace()).collect();
    let u = u.to_ascii_lowercase();
    match u.as_str() {
        "" | "byte" | "bytes" => return Some(1),
        "kilobytes" => return Some(1 << 10),
        "megabytes" => return Some(1 << 20),
        "gigabytes" => return Some(1 << 30),
        "terabytes" => return Some(1 << 40),
        _ => {}
    }
    let rest = u.strip_prefix("byte*")?;
    let (base, exp) = rest.split_once('^')?;
    let base: u64 = base.parse().ok()?;
    let exp: u32 = exp.parse().ok()?;
    base.checked_pow(exp)
}

mod fallback {
    //! A minimal reader of References and DiskSection (quick-xml events), used until the
    //! lossless OVF library is merged.
    use super::*;
    use quick_xml::events::Event;

    fn attrs(e: &quick_xml::events::BytesStart<'_>) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a =
                a.map_err(|e| Error::new(crate::ErrorKind::Xml, format!("bad attribute: {e}")))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|e| {
                    Error::new(crate::ErrorKind::Xml, format!("bad attribute value: {e}"))
                })?
                .into_owned();
            out.push((key, value));
        }
        Ok(out)
    }

    fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn parse(bytes: &[u8]) -> Result<Descriptor> {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut buf = Vec::new();
        let mut stack: Vec<String> = Vec::new();
        let mut files = Vec::new();
        let mut disks = Vec::new();
        let mut saw_envelope = false;
        loop {
            let pos = reader.buffer_position();
            let ev = reader.read_event_into(&mut buf).map_err(|e| {
                Error::new(
                    crate::ErrorKind::Xml,
                    format!("descriptor is not well-formed XML: {e}"),
                )
                .with_offset(pos)
            })?;
            let (start, empty) = match &ev {
                Event::Start(e) => (Some(e.clone()), false),
                Event::Empty(e) => (Some(e.clone()), true),
                Event::End(_) => {
                    stack.pop();
                    (None, false)
                }
                Event::DocType(_) => {
                    return Err(Error::new(
                        crate::ErrorKind::Xml,
                        "descriptor uses a DOCTYPE, which is refused",
                    ))
                }
                Event::Eof => break,
                _ => (None, false),
            };
            if let Some(e) = start {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() {
                    if local != "Envelope" {
                        return Err(Error::invalid_ovf(format!(
                            "root element is {local}, expected Envelope"
                        )));
                    }
                    saw_envelope = true;
                }
                let parent = stack.last().map(String::as_str);
                if local == "File" && parent == Some("References") {
                    let a = attrs(&e)?;
                    let num = |k: &str| -> Result<Option<u64>> {
                        get(&a, k)
                            .map(|v| {
                                v.trim().parse::<u64>().map_err(|_| {
                                    Error::invalid_ovf(format!(
                                        "File ovf:{k}={v:?} is not a number"
                                    ))
                                })
                            })
                            .transpose()
                    };
                    files.push(FileRef {
                        id: get(&a, "id").unwrap_or_default().to_string(),
                        href: get(&a, "href").unwrap_or_default().to_string(),
                        size: num("size")?,
                        compression: get(&a, "compression")
                            .filter(|c| !c.is_empty() && *c != "identity")
                            .map(str::to_string),
                        chunk_size: num("chunkSize")?,
                    });
                }
                if local == "Disk" && parent == Some("DiskSection") {
                    let a = attrs(&e)?;
                    let cap = get(&a, "capacity").unwrap_or_default();
                    let units = get(&a, "capacityAllocationUnits").unwrap_or("byte");
                    let capacity_bytes = match (cap.trim().parse::<u64>(), unit_multiplier(units)) {
                        (Ok(c), Some(m)) => c
                            .checked_mul(m)
                            .ok_or_else(|| format!("capacity {cap} × {units} overflows")),
                        (Err(_), _) => Err(format!("capacity {cap:?} is not a number")),
                        (_, None) => Err(format!("unknown allocation units {units:?}")),
                    };
                    disks.push(DiskRef {
                        disk_id: get(&a, "diskId").unwrap_or_default().to_string(),
                        file_ref: get(&a, "fileRef").map(str::to_string),
                        capacity_bytes,
                        format: get(&a, "format").map(str::to_string),
                    });
                }
                if !empty {
                    stack.push(local);
                }
            }
            buf.clear();
        }
        if !saw_envelope {
            return Err(Error::invalid_ovf("descriptor has no Envelope element"));
        }
        Ok(Descriptor {
            files,
            disks,
            diagnostics: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(unit_multiplier("byte * 2^30"), Some(1 << 30));
        assert_eq!(unit_multiplier("byte"), Some(1));
        assert_eq!(unit_multiplier("byte * 10^3"), Some(1000));
        assert_eq!(unit_multiplier("parsec"), None);
    }

    #[test]
    fn references_and_disks() {
        let d = parse(
            br#"<Envelope xmlns:ovf="x"><References><File ovf:id="f1" ovf:href="a.vmdk.gz" ovf:size="10" ovf:compression="gzip"/></References>
            <DiskSection><Info/><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="2" ovf:capacityAllocationUnits="byte * 2^30"/></DiskSection></Envelope>"#,
            false,
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(d.files[0].href, "a.vmdk.gz");
        assert!(d.files[0].is_gzip());
        assert_eq!(d.disks[0].capacity_bytes, Ok(2 << 30));
        assert!(parse(b"<x>", false, &Limits::DEFAULT).is_err());
    }
}
