//! A small element tree for SOAP messages: names as written, attributes, text, children.
//!
//! SOAP answers are read whole (bounded by [`MAX_RESPONSE_BYTES`](super::client)) into this
//! tree; values are found by local name, so whatever prefixes a server chooses do not matter.
//! An import spec returned by `CreateImportSpec` is written back unchanged into `ImportVApp`
//! through [`El::write`]. DOCTYPE declarations are refused, so no entity is ever expanded.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Error, ErrorKind, Result};

/// Deepest nesting accepted in a SOAP answer (vSphere objects nest a few dozen levels).
const MAX_DEPTH: usize = 256;

/// One element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct El {
    /// Qualified name as written (`soapenv:Body`, `returnval`).
    pub name: String,
    /// Attributes as written, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in order.
    pub children: Vec<El>,
    /// Character data directly inside (concatenated).
    pub text: String,
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

impl El {
    /// The name without its prefix.
    pub fn local(&self) -> &str {
        local(&self.name)
    }

    /// The first child with local name `name`.
    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.local() == name)
    }

    /// Every child with local name `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.local() == name)
    }

    /// The trimmed text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// An unprefixed attribute (`type` of a managed object reference, not `xsi:type`).
    pub fn plain_attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| local(k) == name && !k.starts_with("xmlns"))
            .map(|(_, v)| v.as_str())
    }

    /// `xsi:type` without its prefix (`VirtualMachineImportSpec`).
    pub fn xsi_type(&self) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k != "type" && local(k) == "type")
            .map(|(_, v)| local(v))
    }

    /// The first element named `name` at any depth (this one included).
    pub fn find(&self, name: &str) -> Option<&El> {
        if self.local() == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// Writes the element back as XML.
    pub fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(v));
            out.push('"');
        }
        out.push('>');
        if self.children.is_empty() {
            out.push_str(&escape(&self.text));
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The same element under another name (keeps attributes and content).
    pub fn renamed(&self, name: &str) -> El {
        El {
            name: name.to_string(),
            ..self.clone()
        }
    }
}

/// XML escaping of text and attribute values.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Xml, msg)
}

fn start(s: &BytesStart<'_>) -> Result<El> {
    let name = String::from(s.name().as_ref());
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| bad(format!("bad attribute in a SOAP answer: {e}")))?;
        let key = String::from(a.key.as_ref());
        let raw = a.value.to_string();
        let value = quick_xml::escape::unescape(&raw)
            .map_err(|e| bad(format!("bad value of attribute {key}: {e}")))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(El {
        name,
        attrs,
        ..Default::default()
    })
}

/// Parses a whole document into its root element.
///
/// # Errors
/// [`ErrorKind::Xml`] for text that is not well-formed or holds a DOCTYPE.
pub fn parse(text: &str) -> Result<El> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| bad(format!("the server's answer is not well-formed XML: {e}")))?;
        match ev {
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::limit(
                        "SOAP answer depth",
                        stack.len() as u64 + 1,
                        MAX_DEPTH as u64,
                    ));
                }
                stack.push(start(&s)?);
            }
            Event::Empty(s) => {
                let el = start(&s)?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| bad("end tag without a start tag in a SOAP answer"))?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&String::from(&*c));
                }
            }
            Event::GeneralRef(r) => {
                let v = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(|c| c.to_string())
                        .ok_or_else(|| bad("bad character reference in a SOAP answer"))?
                } else {
                    let n = String::from(&*r);
                    quick_xml::escape::resolve_predefined_entity(&n)
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("undeclared entity &{n}; in a SOAP answer")))?
                };
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&v);
                }
            }
            Event::DocType(_) => return Err(bad("DOCTYPE in a SOAP answer")),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad("the server's answer ends inside an element"));
    }
    root.ok_or_else(|| bad("the server's answer holds no XML element"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_back() {
        let doc =
            r#"<a:E xmlns:a="x"><a:B><r xsi:type="T" k="1&amp;2">v &lt;w&gt;</r><r/></a:B></a:E>"#;
        let e = parse(doc).unwrap();
        let b = e.child("B").unwrap();
        assert_eq!(b.all("r").count(), 2);
        let r = b.child("r").unwrap();
        assert_eq!(r.xsi_type(), Some("T"));
        assert_eq!(r.attr("k"), Some("1&2"));
        assert_eq!(r.text, "v <w>");
        let mut out = String::new();
        r.write(&mut out);
        assert_eq!(parse(&out).unwrap(), *r);
    }

    #[test]
    fn doctype_is_refused() {
        assert!(parse("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").is_err());
        assert!(parse("<x><y></x>").is_err());
    }
}
