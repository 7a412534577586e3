//! A small lossless XML element tree built on quick-xml's event reader.
//!
//! Typed OVF views read and edit this tree, so everything a descriptor carries (vendor sections,
//! unknown attributes, namespace declarations with their prefixes, comments, processing
//! instructions) survives a read → write round trip. Names are kept exactly as written (with
//! their prefix); each element and attribute also carries the namespace URI its prefix resolved
//! to, so views match on (namespace, local name) whatever prefixes a producer chose.
//!
//! The reader is strict about well-formedness (quick-xml's checks plus one root element, no text
//! outside it, matching end tags, no duplicate attributes) and refuses DOCTYPE declarations, so
//! no entity is ever expanded (no "billion laughs", no external entities). An unbound prefix is
//! not an error here (ovftool's own positive test files use them); it is recorded in
//! [`Document::unbound_prefixes`] for the validator to warn about.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// The namespace URI bound to the `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace URI of namespace declarations (`xmlns`, `xmlns:p`).
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A 1-based line and column in the source text (0, 0 for nodes built in memory).
///
/// Positions never take part in equality (every `Pos` equals every other), so a re-parsed or
/// re-indented tree, and the typed views taken from it, compare equal to the original.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, counted in characters.
    pub column: u64,
}

impl PartialEq for Pos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Pos {}

impl Pos {
    /// Whether this position comes from parsed text.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// One attribute, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The qualified name as written (`ovf:id`, `xmlns:vmw`, `href`).
    pub name: String,
    /// The unescaped value.
    pub value: String,
    /// The namespace the prefix resolved to; `None` for unprefixed attributes (which are in no
    /// namespace) and for unbound prefixes.
    pub ns: Option<String>,
}

impl Attr {
    /// The part of the name after the prefix.
    pub fn local_name(&self) -> &str {
        local_of(&self.name)
    }

    /// The prefix, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }
}

/// A node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (unescaped).
    Text(String),
    /// A CDATA section (raw content).
    CData(String),
    /// A comment (raw content between `<!--` and `-->`).
    Comment(String),
    /// A processing instruction (raw content between `<?` and `?>`).
    Pi(String),
}

/// An element with its attributes and children. Equality ignores source positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The qualified name as written (`ovf:Envelope`, `Item`, `rasd:InstanceID`).
    pub name: String,
    /// The namespace the name resolved to (`None`: no namespace, or an unbound prefix).
    pub ns: Option<String>,
    /// Attributes in document order, namespace declarations included.
    pub attrs: Vec<Attr>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// Where the start tag began (unknown for built elements).
    pub pos: Pos,
}

pub(crate) fn local_of(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

impl Element {
    /// A new element with no attributes or children.
    pub fn new(name: impl Into<String>, ns: Option<&str>) -> Self {
        Element {
            name: name.into(),
            ns: ns.map(str::to_string),
            attrs: Vec::new(),
            children: Vec::new(),
            pos: Pos::default(),
        }
    }

    /// The part of the name after the prefix.
    pub fn local_name(&self) -> &str {
        local_of(&self.name)
    }

    /// The prefix, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }

    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local_name() == local && self.ns.as_deref() == Some(ns)
    }

    /// The element children, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The element children, mutable.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The value of the attribute whose namespace is `ns` and local name `local`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.local_name() == local)
            .map(|a| a.value.as_str())
    }

    /// The value of the first attribute named exactly `name` (prefix included).
    pub fn attr_raw(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Sets (replaces or appends) an attribute by qualified name.
    pub fn set_attr(&mut self, name: &str, ns: Option<&str>, value: impl Into<String>) {
        let value = value.into();
        if let Some(a) = self.attrs.iter_mut().find(|a| a.name == name) {
            a.value = value;
        } else {
            self.attrs.push(Attr {
                name: name.to_string(),
                value,
                ns: ns.map(str::to_string),
            });
        }
    }

    /// The concatenated text and CDATA content of this element's direct children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            match n {
                Node::Text(t) | Node::CData(t) => s.push_str(t),
                _ => {}
            }
        }
        s
    }

    /// Appends a child element.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends a text node.
    pub fn push_text(&mut self, text: impl Into<String>) {
        self.children.push(Node::Text(text.into()));
    }

    /// Replaces all children by one text node.
    pub fn set_text(&mut self, text: impl Into<String>) {
        self.children = vec![Node::Text(text.into())];
    }

    /// The namespace declarations made on this element: `(prefix or "" for default, uri)`.
    pub fn ns_decls(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().filter_map(|a| {
            if a.name == "xmlns" {
                Some(("", a.value.as_str()))
            } else {
                a.name.strip_prefix("xmlns:").map(|p| (p, a.value.as_str()))
            }
        })
    }
}

/// A parsed document: the XML declaration, nodes around the root, and the root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The content of the XML declaration (`version="1.0" encoding="UTF-8"`), if present.
    pub decl: Option<String>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    /// The root element.
    pub root: Element,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
    /// Prefixes used without a declaration in scope, with where they were used.
    pub unbound_prefixes: Vec<(String, Pos)>,
}

/// Turns byte offsets into 1-based line/column pairs.
pub(crate) struct LineIndex<'a> {
    text: &'a [u8],
    starts: Vec<usize>,
    /// The last position computed: (byte offset, line index, 0-based column). The parser asks
    /// for positions in ascending order, so counting on from there keeps the total work linear
    /// even for a descriptor written on one long line.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            text,
            starts,
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    pub(crate) fn pos(&self, offset: u64) -> Pos {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let (last_offset, last_line, last_column) = self.last.get();
        let (from, base) = if last_line == line && start <= last_offset && last_offset <= offset {
            (last_offset, last_column)
        } else {
            (start, 0)
        };
        // Characters, not bytes: count the bytes that are not UTF-8 continuation bytes.
        let column = base
            + self
                .text
                .get(from..offset)
                .unwrap_or_default()
                .iter()
                .filter(|b| (**b & 0xC0) != 0x80)
                .count();
        self.last.set((offset, line, column));
        Pos {
            line: line as u64 + 1,
            column: column as u64 + 1,
        }
    }
}

fn xml_error(message: impl Into<String>, pos: Pos) -> Error {
    Error::new(ErrorKind::Xml, message).with_line_col(pos.line, pos.column)
}

/// In-scope namespace bindings: prefix ("" = default) → stack of URIs, so that resolving is
/// O(1) however many declarations a hostile document makes.
struct Scope {
    bindings: HashMap<String, Vec<String>>,
    /// The prefixes each open element declared, popped with it.
    marks: Vec<Vec<String>>,
}

impl Scope {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        if prefix == "xmlns" {
            return Some(XMLNS_NS);
        }
        self.bindings
            .get(prefix)
            .and_then(|v| v.last())
            .map(String::as_str)
            .filter(|u| !u.is_empty())
    }
}

/// Counts element `el` and its attributes against `limits.max_xml_nodes`, before it joins the
/// tree (each costs a few hundred bytes there).
fn count_nodes(count: &mut usize, el: &Element, limits: &Limits, here: Pos) -> Result<()> {
    *count = count.saturating_add(1 + el.attrs.len());
    if *count > limits.max_xml_nodes {
        return Err(Error::limit(
            "number of XML elements and attributes",
            *count as u64,
            limits.max_xml_nodes as u64,
        )
        .with_line_col(here.line, here.column));
    }
    Ok(())
}

/// Parses `bytes` (UTF-8, optional BOM) into a [`Document`].
///
/// # Errors
/// [`ErrorKind::LimitExceeded`] above `limits.max_descriptor_bytes`, deeper than
/// `limits.max_xml_depth` or with more than `limits.max_xml_nodes` elements and attributes; [`ErrorKind::Xml`] (with line and column) for text that is not UTF-8,
/// not well-formed XML, or holds a DOCTYPE declaration.
///
/// # Security
/// No entity is expanded (DOCTYPE is refused), input size and nesting depth are bounded.
pub fn parse_document(bytes: &[u8], limits: &Limits) -> Result<Document> {
    if bytes.len() as u64 > limits.max_descriptor_bytes {
        return Err(Error::limit(
            "descriptor size in bytes",
            bytes.len() as u64,
            limits.max_descriptor_bytes,
        ));
    }
    let bom = bytes.starts_with(&[0xEF, 0xBB, 0xBF]);
    let body = if bom { &bytes[3..] } else { bytes };
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        return Err(xml_error(
            "expected UTF-8 text, found a UTF-16 byte-order mark",
            Pos { line: 1, column: 1 },
        ));
    }
    let lines = LineIndex::new(body);
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            return Err(xml_error(
                format!(
                    "expected UTF-8 text, found an invalid byte sequence at byte {}",
                    e.valid_up_to() + usize::from(bom) * 3
                ),
                lines.pos(e.valid_up_to() as u64),
            ))
        }
    };
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text_start = false;
        cfg.trim_text_end = false;
    }
    let mut scope = Scope {
        bindings: HashMap::new(),
        marks: Vec::new(),
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut decl = None;
    let mut prolog = Vec::new();
    let mut epilog = Vec::new();
    let mut root: Option<Element> = None;
    let mut unbound = Vec::new();
    let mut nodes = 0usize;
    loop {
        let before = reader.buffer_position();
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(xml_error(
                    format!("XML is not well-formed: {e}"),
                    lines.pos(reader.error_position()),
                )
                .with_source(e))
            }
        };
        let here = lines.pos(before);
        match ev {
            Event::Decl(d) => {
                if root.is_some() || !stack.is_empty() || decl.is_some() {
                    return Err(xml_error("XML declaration not at the start", here));
                }
                let raw = String::from(&*d);
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        // Text that decoded as UTF-8 but declares a single-byte encoding is
                        // accepted only when it is plain ASCII (then both readings agree).
                        if !text.is_ascii() {
                            return Err(xml_error(
                                format!("expected UTF-8 text, found encoding \"{enc}\" with non-ASCII content"),
                                here,
                            ));
                        }
                    }
                }
                decl = Some(raw.trim().to_string());
            }
            Event::DocType(_) => {
                return Err(xml_error(
                    "DOCTYPE declarations are refused (no DTDs or entity declarations in OVF)",
                    here,
                ));
            }
            Event::Start(s) => {
                if root.is_some() {
                    return Err(xml_error("more than one root element", here));
                }
                if stack.len() >= limits.max_xml_depth {
                    return Err(Error::limit(
                        "XML element depth",
                        stack.len() as u64 + 1,
                        limits.max_xml_depth as u64,
                    )
                    .with_line_col(here.line, here.column));
                }
                let el = start_element(&s, here, &mut scope, &mut unbound, limits)?;
                count_nodes(&mut nodes, &el, limits, here)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(xml_error("more than one root element", here));
                }
                let el = start_element(&s, here, &mut scope, &mut unbound, limits)?;
                count_nodes(&mut nodes, &el, limits, here)?;
                pop_scope(&mut scope);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                pop_scope(&mut scope);
                let Some(el) = stack.pop() else {
                    return Err(xml_error("end tag without a start tag", here));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s, here, root.is_none())?;
            }
            Event::GeneralRef(r) => {
                let resolved: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            return Err(xml_error(
                                format!("bad character reference &{};", &*r),
                                here,
                            ))
                        }
                    }
                } else {
                    let name = String::from(&*r);
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(v) => v.to_string(),
                        None => {
                            return Err(xml_error(
                                format!("undeclared entity &{name}; (entities are not expanded)"),
                                here,
                            ))
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(xml_error(outside_root(root.is_none()), here));
                }
                push_text(&mut stack, &resolved, here, root.is_none())?;
            }
            Event::CData(c) => {
                let Some(parent) = stack.last_mut() else {
                    return Err(xml_error("CDATA outside the root element", here));
                };
                parent.children.push(Node::CData(String::from(&*c)));
            }
            Event::Comment(c) => {
                let node = Node::Comment(String::from(&*c));
                match (stack.last_mut(), root.is_some()) {
                    (Some(parent), _) => parent.children.push(node),
                    (None, false) => prolog.push(node),
                    (None, true) => epilog.push(node),
                }
            }
            Event::PI(p) => {
                let node = Node::Pi(String::from(&*p));
                match (stack.last_mut(), root.is_some()) {
                    (Some(parent), _) => parent.children.push(node),
                    (None, false) => prolog.push(node),
                    (None, true) => epilog.push(node),
                }
            }
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_error(
            format!(
                "unexpected end of document: element <{}> is not closed",
                open.name
            ),
            lines.pos(text.len() as u64),
        ));
    }
    let Some(root) = root else {
        return Err(xml_error(
            "expected a root element, found none",
            lines.pos(text.len() as u64),
        ));
    };
    Ok(Document {
        decl,
        prolog,
        root,
        epilog,
        unbound_prefixes: unbound,
    })
}

/// The error for text outside any element: before the root, the input is not an XML document
/// at all (a descriptor that is plain text, a wrong file in an OVA).
fn outside_root(before_root: bool) -> &'static str {
    if before_root {
        "not an XML document: text before the root element"
    } else {
        "character data after the root element"
    }
}

fn push_text(stack: &mut [Element], s: &str, here: Pos, before_root: bool) -> Result<()> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(s);
            } else {
                parent.children.push(Node::Text(s.to_string()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(xml_error(outside_root(before_root), here)),
    }
}

fn pop_scope(scope: &mut Scope) {
    if let Some(prefixes) = scope.marks.pop() {
        for p in prefixes {
            if let Some(v) = scope.bindings.get_mut(&p) {
                v.pop();
                if v.is_empty() {
                    scope.bindings.remove(&p);
                }
            }
        }
    }
}

fn start_element(
    s: &BytesStart<'_>,
    here: Pos,
    scope: &mut Scope,
    unbound: &mut Vec<(String, Pos)>,
    limits: &Limits,
) -> Result<Element> {
    let name = String::from(s.name().as_ref());
    let mut attrs: Vec<Attr> = Vec::new();
    // Duplicates are found with a hash set, not quick-xml's per-attribute linear scan
    // (RUSTSEC-2026-0194: quadratic in the number of attributes before quick-xml 0.41; we keep our own
    // check so the message and position stay ours).
    let mut seen: HashSet<String> = HashSet::new();
    for a in s.attributes().with_checks(false) {
        let a = a.map_err(|e| xml_error(format!("XML is not well-formed: {e}"), here))?;
        if attrs.len() >= limits.max_xml_attributes {
            return Err(Error::limit(
                "attributes on one element",
                attrs.len() as u64 + 1,
                limits.max_xml_attributes as u64,
            )
            .with_line_col(here.line, here.column));
        }
        let key = String::from(a.key.as_ref());
        if !seen.insert(key.clone()) {
            return Err(xml_error(
                format!("XML is not well-formed: duplicate attribute {key} on <{name}>"),
                here,
            ));
        }
        // XML 1.0 §3.3.3: literal line ends and tabs in a value read as spaces; character
        // references (`&#10;`) keep theirs.
        let raw = a
            .value
            .replace("\r\n", " ")
            .replace(['\t', '\n', '\r'], " ");
        let value = quick_xml::escape::unescape(&raw)
            .map_err(|e| xml_error(format!("bad value of attribute {key}: {e}"), here))?
            .into_owned();
        attrs.push(Attr {
            name: key,
            value,
            ns: None,
        });
    }
    let mut declared = Vec::new();
    for a in &attrs {
        let prefix = if a.name == "xmlns" {
            Some("")
        } else {
            a.name.strip_prefix("xmlns:")
        };
        if let Some(p) = prefix {
            scope
                .bindings
                .entry(p.to_string())
                .or_default()
                .push(a.value.clone());
            declared.push(p.to_string());
        }
    }
    scope.marks.push(declared);
    for a in &mut attrs {
        if a.name == "xmlns" || a.name.starts_with("xmlns:") {
            a.ns = Some(XMLNS_NS.to_string());
        } else if let Some((p, _)) = a.name.split_once(':') {
            a.ns = scope.resolve(p).map(str::to_string);
            if a.ns.is_none() {
                unbound.push((p.to_string(), here));
            }
        }
    }
    let ns = match name.split_once(':') {
        Some((p, _)) => {
            let r = scope.resolve(p).map(str::to_string);
            if r.is_none() {
                unbound.push((p.to_string(), here));
            }
            r
        }
        None => scope.resolve("").map(str::to_string),
    };
    Ok(Element {
        name,
        ns,
        attrs,
        children: Vec::new(),
        pos: here,
    })
}

/// Serialises a document: the declaration, prolog, root and epilog, escaping text and attribute
/// values so that re-parsing gives an equal tree.
pub fn write_document(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(d) = &doc.decl {
        out.push_str("<?");
        out.push_str(d);
        out.push_str("?>\n");
    }
    for n in &doc.prolog {
        write_node(&mut out, n);
        out.push('\n');
    }
    write_element(&mut out, &doc.root);
    out.push('\n');
    for n in &doc.epilog {
        write_node(&mut out, n);
        out.push('\n');
    }
    out
}

fn write_node(out: &mut String, n: &Node) {
    match n {
        Node::Element(e) => write_element(out, e),
        Node::Text(t) => escape_text(out, t),
        Node::CData(c) => {
            out.push_str("<![CDATA[");
            out.push_str(c);
            out.push_str("]]>");
        }
        Node::Comment(c) => {
            out.push_str("<!--");
            out.push_str(c);
            out.push_str("-->");
        }
        Node::Pi(p) => {
            out.push_str("<?");
            out.push_str(p);
            out.push_str("?>");
        }
    }
}

fn write_element(out: &mut String, e: &Element) {
    out.push('<');
    out.push_str(&e.name);
    for a in &e.attrs {
        out.push(' ');
        out.push_str(&a.name);
        out.push_str("=\"");
        escape_attr(out, &a.value);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &e.children {
        write_node(out, c);
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn escape_text(out: &mut String, t: &str) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, t: &str) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Document> {
        parse_document(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn round_trip_keeps_everything() {
        let src = "<?xml version=\"1.0\"?>\n<!-- c --><a xmlns=\"urn:x\" xmlns:p=\"urn:p\" p:k=\"v&amp;&quot;&#10;\"><p:b>t&lt;x<![CDATA[<raw>]]></p:b><?pi x?><c/></a>";
        let d = parse(src).unwrap();
        assert_eq!(d.root.ns.as_deref(), Some("urn:x"));
        let b = d.root.elements().next().unwrap();
        assert_eq!(b.ns.as_deref(), Some("urn:p"));
        assert_eq!(d.root.attr_ns("urn:p", "k"), Some("v&\"\n"));
        let out = write_document(&d);
        let d2 = parse(&out).unwrap();
        assert_eq!(d, d2);
    }

    #[test]
    fn attribute_values_are_normalised() {
        let d = parse("<a k=\"x\r\n\ty&#10;z\"/>").unwrap();
        assert_eq!(d.root.attr_raw("k"), Some("x  y\nz"));
        let d2 = parse(&write_document(&d)).unwrap();
        assert_eq!(d, d2);
    }

    #[test]
    fn positions_are_line_and_column() {
        let e = parse("<a>\n  <b></c>\n</a>").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Xml);
        assert_eq!(e.location().line_col.map(|l| l.0), Some(2));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = parse("<a>\n \u{e9}<b x=1/></a>").unwrap_err();
        assert_eq!(e.location().line_col, Some((2, 3)));
    }

    #[test]
    fn line_index_matches_naive_count_in_any_order() {
        let text = "ab\u{e9}c\n\u{4e2d}\u{6587} x\n\nlast line";
        let idx = LineIndex::new(text.as_bytes());
        let naive = |off: usize| {
            let before = &text[..off];
            let line = before.matches('\n').count() as u64 + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
            (line, col)
        };
        let offsets: Vec<usize> = (0..=text.len())
            .filter(|o| text.is_char_boundary(*o))
            .collect();
        for &o in offsets.iter().chain(offsets.iter().rev()) {
            let p = idx.pos(o as u64);
            assert_eq!((p.line, p.column), naive(o), "offset {o}");
        }
    }

    #[test]
    fn one_long_line_parses_in_linear_time() {
        // Regression: columns were recounted from the line start for every event, which made a
        // descriptor written on one line quadratic (46 s for 1.5 MB in a debug build).
        let mut doc = String::from("<a>");
        for i in 0..60_000 {
            doc.push_str(&format!("<b x=\"{i}\">t</b>"));
        }
        doc.push_str("</a>");
        let start = std::time::Instant::now();
        parse(&doc).unwrap();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn doctype_is_refused() {
        let e = parse("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a>&x;</a>")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Xml);
        assert_eq!(e.location().line_col, Some((2, 1)));
    }
}
