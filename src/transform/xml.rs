//! Small edits of the lossless descriptor tree that keep the producer's prefixes and
//! indentation, so that everything not edited is written back as it was.

use crate::error::{Error, Result};
use crate::ovf::model::{is_core, is_kind, kind};
use crate::ovf::tree::{Attr, Element, Node};
use crate::ovf::ResourceType;
use crate::ovf::{ns, Envelope};

/// Names to use for new elements and attributes of one descriptor.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// The envelope namespace.
    pub ovf_ns: &'static str,
    /// Prefix for core elements (`None`: the envelope namespace is the default one).
    pub core_prefix: Option<String>,
    /// Prefix for `ovf:` attributes (`None`: unqualified).
    pub attr_prefix: Option<String>,
}

impl Names {
    /// The naming conventions of `env`.
    pub fn of(env: &Envelope) -> Names {
        let ovf_ns = env.version().namespace();
        let root = env.root();
        let default_is_ovf = root.ns_decls().any(|(p, u)| p.is_empty() && u == ovf_ns);
        let prefix = root
            .ns_decls()
            .find(|(p, u)| !p.is_empty() && *u == ovf_ns)
            .map(|(p, _)| p.to_string());
        Names {
            ovf_ns,
            core_prefix: if default_is_ovf { None } else { prefix.clone() },
            attr_prefix: prefix,
        }
    }

    /// A new core element `local`.
    pub fn core(&self, local: &str) -> Element {
        let name = match &self.core_prefix {
            Some(p) => format!("{p}:{local}"),
            None => local.to_string(),
        };
        Element::new(name, Some(self.ovf_ns))
    }

    /// A new core element with text.
    pub fn core_text(&self, local: &str, text: &str) -> Element {
        let mut e = self.core(local);
        e.push_text(text);
        e
    }

    /// Sets `ovf:local` on `el`, keeping the spelling of an attribute already there.
    pub fn set_ovf_attr(&self, el: &mut Element, local: &str, value: &str) {
        if let Some(a) = el.attrs.iter_mut().find(|a| {
            a.local_name() == local
                && a.ns
                    .as_deref()
                    .is_none_or(|u| u == self.ovf_ns || crate::ovf::model::is_envelope_ns(u))
                && !a.name.starts_with("xmlns")
        }) {
            a.value = value.to_string();
            return;
        }
        let (name, nsu) = match &self.attr_prefix {
            Some(p) => (format!("{p}:{local}"), Some(self.ovf_ns.to_string())),
            None => (local.to_string(), None),
        };
        el.attrs.push(Attr {
            name,
            value: value.to_string(),
            ns: nsu,
        });
    }
}

/// The prefix bound to `uri` on the root, declared as `want` when there is none.
pub(crate) fn prefix_for(env: &mut Envelope, uri: &str, want: &str) -> String {
    if let Some(p) = env
        .root()
        .ns_decls()
        .find(|(p, u)| !p.is_empty() && *u == uri)
        .map(|(p, _)| p.to_string())
    {
        return p;
    }
    let root = &mut env.document_mut().root;
    let mut p = want.to_string();
    let mut i = 1;
    while root.ns_decls().any(|(q, _)| q == p) {
        p = format!("{want}{i}");
        i += 1;
    }
    root.attrs.push(Attr {
        name: format!("xmlns:{p}"),
        value: uri.to_string(),
        ns: Some(crate::ovf::tree::XMLNS_NS.to_string()),
    });
    p
}

/// The whitespace text node right before child `idx`, if any.
fn indent_before(parent: &Element, idx: usize) -> String {
    match idx.checked_sub(1).and_then(|i| parent.children.get(i)) {
        Some(Node::Text(t)) if t.trim().is_empty() => t.clone(),
        _ => String::new(),
    }
}

/// The indentation of `parent`'s element children, or `fallback` without any.
pub(crate) fn child_indent(parent: &Element, fallback: &str) -> String {
    parent
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(_)))
        .map(|i| indent_before(parent, i))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// Inserts `el` as a child of `parent` right after the element child at `after` (a children
/// index), or first when `None`, with the indentation of its siblings.
pub(crate) fn insert_after(parent: &mut Element, after: Option<usize>, el: Element) {
    let indent = child_indent(parent, "\n");
    match after {
        Some(i) => {
            parent.children.insert(i + 1, Node::Element(el));
            parent.children.insert(i + 1, Node::Text(indent));
        }
        None => {
            // Before the first element child (after the leading whitespace).
            let first = parent
                .children
                .iter()
                .position(|n| matches!(n, Node::Element(_)));
            match first {
                Some(i) => {
                    parent.children.insert(i, Node::Text(indent));
                    parent.children.insert(i, Node::Element(el));
                }
                None => {
                    let closing = parent.children.is_empty();
                    parent.children.push(Node::Text(indent.clone()));
                    parent.children.push(Node::Element(el));
                    if closing {
                        parent.children.push(Node::Text(
                            indent.strip_suffix("  ").unwrap_or("\n").to_string(),
                        ));
                    }
                }
            }
        }
    }
}

/// Appends `el` after the last element child of `parent`.
pub(crate) fn append(parent: &mut Element, el: Element) {
    let last = last_element_index(parent, |_| true);
    insert_after(parent, last, el);
}

/// The children index of the last element child matching `f`.
pub(crate) fn last_element_index(parent: &Element, f: impl Fn(&Element) -> bool) -> Option<usize> {
    parent
        .children
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n {
            Node::Element(e) if f(e) => Some(i),
            _ => None,
        })
        .last()
}

/// Removes the element children matching `f` (with the whitespace before each). Returns how
/// many were removed.
pub(crate) fn remove_children(parent: &mut Element, f: impl Fn(&Element) -> bool) -> usize {
    let mut removed = 0;
    let mut i = 0;
    while i < parent.children.len() {
        let hit = matches!(&parent.children[i], Node::Element(e) if f(e));
        if hit {
            parent.children.remove(i);
            removed += 1;
            if i > 0 && matches!(&parent.children[i - 1], Node::Text(t) if t.trim().is_empty()) {
                parent.children.remove(i - 1);
                i -= 1;
            }
        } else {
            i += 1;
        }
    }
    removed
}

/// Fills `el` with `children`, each on its own line indented one step deeper than `indent`
/// (the whitespace before `el`).
pub(crate) fn with_children(mut el: Element, indent: &str, children: Vec<Element>) -> Element {
    let inner = format!("{indent}  ");
    for c in children {
        el.children.push(Node::Text(inner.clone()));
        el.children.push(Node::Element(c));
    }
    el.children.push(Node::Text(indent.to_string()));
    el
}

/// The top content element (VirtualSystem or VirtualSystemCollection).
pub(crate) fn content_mut(env: &mut Envelope) -> Result<&mut Element> {
    env.document_mut()
        .root
        .elements_mut()
        .find(|e| is_core(e) && matches!(kind(e), "VirtualSystem" | "VirtualSystemCollection"))
        .ok_or_else(|| Error::invalid_ovf("the descriptor has no VirtualSystem"))
}

/// Every VirtualSystem element below (and including) `el`, depth first.
pub(crate) fn systems_mut(el: &mut Element) -> Vec<&mut Element> {
    let mut out = Vec::new();
    collect_systems(el, &mut out);
    out
}

fn collect_systems<'a>(el: &'a mut Element, out: &mut Vec<&'a mut Element>) {
    if is_kind(el, "VirtualSystem") {
        out.push(el);
        return;
    }
    for c in el.elements_mut() {
        if is_kind(c, "VirtualSystem") || is_kind(c, "VirtualSystemCollection") {
            collect_systems(c, out);
        }
    }
}

/// The one VirtualSystem of the descriptor (hardware edits apply to one machine).
///
/// # Errors
/// [`crate::ErrorKind::Usage`] for a collection of several systems.
pub(crate) fn only_system(env: &mut Envelope) -> Result<&mut Element> {
    let content = content_mut(env)?;
    let mut systems = systems_mut(content);
    match systems.len() {
        1 => Ok(systems.remove(0)),
        0 => Err(Error::invalid_ovf("the descriptor has no VirtualSystem")),
        n => Err(Error::usage(format!(
            "the package holds {n} virtual systems; hardware edits apply to one machine"
        ))),
    }
}

/// The text of the first child of `el` with local name `local` (any namespace).
pub(crate) fn field(el: &Element, local: &str) -> Option<String> {
    el.elements()
        .find(|c| c.local_name() == local)
        .map(|c| c.text().trim().to_string())
}

/// Sets the text of the first child with local name `local`; returns false when absent.
pub(crate) fn set_field(el: &mut Element, local: &str, value: &str) -> bool {
    match el.elements_mut().find(|c| c.local_name() == local) {
        Some(c) => {
            c.set_text(value);
            true
        }
        None => false,
    }
}

/// The RASD items of every VirtualHardwareSection of `system`.
pub(crate) fn items_mut(system: &mut Element) -> Vec<&mut Element> {
    let mut out = Vec::new();
    for hw in system
        .elements_mut()
        .filter(|e| is_kind(e, "VirtualHardwareSection"))
    {
        for it in hw.elements_mut().filter(|e| {
            is_core(e) && matches!(kind(e), "Item" | "StorageItem" | "EthernetPortItem")
        }) {
            out.push(it);
        }
    }
    out
}

/// The resource type of an item element.
pub(crate) fn resource_type(item: &Element) -> Option<ResourceType> {
    field(item, "ResourceType").and_then(|v| v.parse().ok())
}

/// Whether `uri` is the RASD namespace or one of its OVF 2 siblings.
pub(crate) fn is_cim_data(uri: Option<&str>) -> bool {
    matches!(uri, Some(ns::RASD | ns::SASD | ns::EPASD))
}

/// The children index of the first element child matching `f`.
pub(crate) fn find_index(parent: &Element, f: impl Fn(&Element) -> bool) -> Option<usize> {
    parent
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if f(e)))
}

/// The element child at children index `i` (from [`find_index`]).
pub(crate) fn element_at(parent: &mut Element, i: usize) -> Option<&mut Element> {
    match parent.children.get_mut(i) {
        Some(Node::Element(e)) => Some(e),
        _ => None,
    }
}
