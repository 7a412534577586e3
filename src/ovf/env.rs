//! The OVF environment document (DMTF DSP8027; schema `dsp8027_1.1.0.xsd`): what a deployed
//! guest reads to learn its property values. VMware delivers it through the
//! `com.vmware.guestInfo` transport as the `.vmx` key `guestinfo.ovfEnv` (the guest reads it with
//! `vmtoolsd --cmd "info-get guestinfo.ovfEnv"`).
//!
//! ```
//! use ovftool::ovf::env::Environment;
//! let mut e = Environment::new("vm");
//! e.properties.push(("hostname".into(), "db1".into()));
//! let xml = e.to_xml();
//! assert!(xml.contains(r#"<Property oe:key="hostname" oe:value="db1"/>"#));
//! ```

/// Namespace of the environment document (DSP8027).
pub const OVFENV_NS: &str = "http://schemas.dmtf.org/ovf/environment/1";
/// VMware's environment extensions (`ve:`).
pub const VMWARE_ENV_NS: &str = "http://www.vmware.com/schema/ovfenv";

/// An OVF environment for one virtual system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `oe:id`: the VirtualSystem's `ovf:id`.
    pub id: String,
    /// `PlatformSection`: `Kind`, `Version`, `Vendor`, `Locale` (each optional).
    pub platform: Vec<(String, String)>,
    /// `PropertySection`: `(key, value)` in descriptor order.
    pub properties: Vec<(String, String)>,
    /// `ve:EthernetAdapterSection`: `(network, MAC)` of static adapters.
    pub ethernet: Vec<(String, String)>,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

impl Environment {
    /// An environment for the virtual system `id` with this program as platform.
    pub fn new(id: &str) -> Self {
        Environment {
            id: id.to_string(),
            platform: vec![
                ("Kind".into(), "ovftool-rs".into()),
                ("Version".into(), env!("CARGO_PKG_VERSION").into()),
            ],
            properties: Vec::new(),
            ethernet: Vec::new(),
        }
    }

    /// The XML document (UTF-8, DSP8027 element order: PlatformSection, PropertySection, then
    /// vendor sections).
    pub fn to_xml(&self) -> String {
        let mut x = String::new();
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!(
            "<Environment\n     xmlns=\"{OVFENV_NS}\"\n     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n     xmlns:oe=\"{OVFENV_NS}\"\n     xmlns:ve=\"{VMWARE_ENV_NS}\"\n     oe:id=\"{}\">\n",
            escape(&self.id)
        ));
        if !self.platform.is_empty() {
            x.push_str("   <PlatformSection>\n");
            for (k, v) in &self.platform {
                x.push_str(&format!("      <{k}>{}</{k}>\n", escape(v)));
            }
            x.push_str("   </PlatformSection>\n");
        }
        x.push_str("   <PropertySection>\n");
        for (k, v) in &self.properties {
            x.push_str(&format!(
                "         <Property oe:key=\"{}\" oe:value=\"{}\"/>\n",
                escape(k),
                escape(v)
            ));
        }
        x.push_str("   </PropertySection>\n");
        if !self.ethernet.is_empty() {
            x.push_str("   <ve:EthernetAdapterSection>\n");
            for (net, mac) in &self.ethernet {
                x.push_str(&format!(
                    "      <ve:Adapter ve:mac=\"{}\" ve:network=\"{}\"/>\n",
                    escape(mac),
                    escape(net)
                ));
            }
            x.push_str("   </ve:EthernetAdapterSection>\n");
        }
        x.push_str("</Environment>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_values() {
        let mut e = Environment::new("a\"b");
        e.properties.push(("k".into(), "<&'\">\n".into()));
        let x = e.to_xml();
        assert!(x.contains("oe:id=\"a&quot;b\""));
        assert!(x.contains("oe:value=\"&lt;&amp;&apos;&quot;&gt;&#10;\""));
        // Well-formed: the tree parser reads it back.
        let doc = crate::ovf::tree::parse_document(x.as_bytes(), &crate::Limits::default());
        assert!(doc.is_ok(), "{doc:?}");
    }
}
