//! What `OvfManager.CreateImportSpec` says of a descriptor: its `error[]` and `warning[]`
//! (`LocalizedMethodFault`s) as notes with a stable code each, and the verdict on them.
//!
//! The code is the kebab-case of the fault's vSphere type, which the API defines and keeps
//! (`OvfUnsupportedType` → `ovf-unsupported-type`, `OvfMissingElement` →
//! `ovf-missing-element`); a fault without a usable type gets `import-spec-fault`. The list of
//! the types a server returns, with their codes, is in docs/JSON.md.
//!
//! The verdict follows the project's exit codes and `validate`/`import`: a device the target
//! cannot create (`OvfUnsupportedType`) is refused like an unknown device in `validate` and
//! `import` (an input failure, exit 1, [`ErrorKind::Unsupported`]), and `--lax` downgrades it to
//! a warning, as ovftool's `--lax` does; other `Ovf*` faults are about the descriptor
//! ([`ErrorKind::InvalidOvf`], exit 1); a fault that is not an `Ovf*` one is the server's
//! (permissions, resources: [`ErrorKind::Io`], exit 2).

use serde::Serialize;

use super::xml::El;
use crate::error::{Error, ErrorKind, Hint};
use crate::finding::Severity;

/// The code of a fault without a usable type.
pub const GENERIC_CODE: &str = "import-spec-fault";

/// The longest server text kept in a note (a message, a name): the answer is the server's,
/// untrusted, and ends up on a terminal.
const MAX_TEXT: usize = 1000;

/// The longest fault type turned into a code (vSphere's longest are about 40 characters).
const MAX_TYPE: usize = 64;

/// One error or warning of the import spec, or another warning of the deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecNote {
    /// Stable kebab-case code (`ovf-unsupported-type`; a verification finding's own code).
    pub code: String,
    /// `error` or `warning`, as the server (or the verification) reported it.
    pub severity: Severity,
    /// What it is about: the device (`SATA0 (InstanceID 4)`), element or section name, the
    /// descriptor line, or the package member.
    pub subject: Option<String>,
    /// In words (the fault's type and the server's message).
    pub message: String,
}

impl std::fmt::Display for SpecNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.subject {
            write!(f, "{s}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.code)
    }
}

/// `OvfUnsupportedType` → `ovf-unsupported-type`; `None` for a type that is not a plain
/// identifier of bounded length.
pub fn fault_code(fault_type: &str) -> Option<String> {
    if fault_type.is_empty()
        || fault_type.len() > MAX_TYPE
        || !fault_type.bytes().all(|b| b.is_ascii_alphanumeric())
        || !fault_type.as_bytes()[0].is_ascii_alphabetic()
    {
        return None;
    }
    let b = fault_type.as_bytes();
    let mut out = String::with_capacity(b.len() + 8);
    for (i, &c) in b.iter().enumerate() {
        // A word starts at an upper-case letter after a lower-case one or a digit, or at the
        // last capital of a run followed by a lower-case letter (`HTTPFault` → `http-fault`).
        let starts = i > 0
            && c.is_ascii_uppercase()
            && (!b[i - 1].is_ascii_uppercase()
                || b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if starts {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase() as char);
    }
    Some(out)
}

/// The first `MAX_TEXT` characters of `s`, control characters replaced.
fn clean(s: &str) -> String {
    s.trim()
        .chars()
        .take(MAX_TEXT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One `LocalizedMethodFault` of the import spec result as a note.
pub fn note_of(f: &El, severity: Severity) -> SpecNote {
    let fault = f.child("fault");
    let kind = fault.and_then(|x| x.xsi_type()).unwrap_or("");
    let code = fault_code(kind).unwrap_or_else(|| GENERIC_CODE.to_string());
    let text = |n: &str| {
        fault
            .and_then(|x| x.text_of(n))
            .map(clean)
            .filter(|t| !t.is_empty())
    };
    let line = text("lineNumber").filter(|l| l != "0");
    let subject = match (text("name"), text("instanceId")) {
        (Some(n), Some(id)) => Some(format!("{n} (InstanceID {id})")),
        (None, Some(id)) => Some(format!("InstanceID {id}")),
        (Some(n), None) => Some(n),
        (None, None) => None,
    };
    let subject = match (subject, line) {
        (Some(s), Some(l)) => Some(format!("{s}, line {l}")),
        (None, Some(l)) => Some(format!("line {l}")),
        (s, None) => s,
    };
    let kind = if code == GENERIC_CODE {
        "fault".to_string()
    } else {
        clean(kind)
    };
    let msg = f.text_of("localizedMessage").map(clean).unwrap_or_default();
    SpecNote {
        code,
        severity,
        subject,
        message: if msg.is_empty() {
            kind
        } else {
            format!("{kind}: {msg}")
        },
    }
}

/// The notes of an `OvfCreateImportSpecResult`, judged: `(warnings, errors)`. The server's
/// warnings are warnings; its errors are errors, except an `OvfUnsupportedType` under `lax`,
/// which becomes a warning (the VM is deployed without that device).
pub fn judge(result: &El, lax: bool) -> (Vec<SpecNote>, Vec<SpecNote>) {
    let mut warnings: Vec<SpecNote> = result
        .all("warning")
        .map(|w| note_of(w, Severity::Warning))
        .collect();
    let mut errors = Vec::new();
    for e in result.all("error") {
        let mut n = note_of(e, Severity::Error);
        if lax && n.code == "ovf-unsupported-type" {
            n.severity = Severity::Warning;
            n.message.push_str(" (lax: deployed without it)");
            warnings.push(n);
        } else {
            errors.push(n);
        }
    }
    (warnings, errors)
}

/// The error that stops a deploy the server refused (`errors` not empty): its kind by the
/// faults (see the module documentation), its message every note with its code.
pub fn refusal(errors: &[SpecNote], lax: bool) -> Error {
    let is = |prefix: &str| errors.iter().any(|n| n.code.starts_with(prefix));
    let kind = if errors
        .iter()
        .all(|n| n.code.starts_with("ovf-unsupported-"))
    {
        ErrorKind::Unsupported
    } else if is("ovf-") {
        ErrorKind::InvalidOvf
    } else {
        ErrorKind::Io
    };
    let e = Error::new(
        kind,
        format!(
            "the server refuses the descriptor: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    // Lax mode deploys without the devices the server does not support.
    if !lax && errors.iter().any(|n| n.code == "ovf-unsupported-type") {
        e.with_hint(Hint::Lax)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `OvfCreateImportSpecResult` as a vCenter 7 answers it for a VirtualBox-made descriptor
    /// (the import spec itself left out), with the simulator's `OvfUnsupportedType` error.
    const RESULT: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><CreateImportSpecResponse xmlns="urn:vim25"><returnval>
<importSpec xsi:type="VirtualMachineImportSpec"><configSpec><name>vm</name></configSpec></importSpec>
<fileItem><deviceId>/vm/VirtualLsiLogicController0:0</deviceId><path>disk1.vmdk</path></fileItem>
<warning><fault xsi:type="OvfUnsupportedSection"><lineNumber>52</lineNumber><name>vbox:Machine</name><info>Complete VirtualBox machine configuration in VirtualBox format</info></fault><localizedMessage>Line 52: Unsupported section 'vbox:Machine'</localizedMessage></warning>
<warning><fault xsi:type="OvfMissingElement"><lineNumber>31</lineNumber><name>rasd:InstanceID</name></fault><localizedMessage>Line 31: Missing element 'rasd:InstanceID'</localizedMessage></warning>
<warning><fault xsi:type="OvfHardwareCheck"></fault><localizedMessage>The hardware family virtualbox-2.2 is not supported&#7;</localizedMessage></warning>
<warning><fault xsi:type="../../etc"></fault></warning>
<error><fault xsi:type="OvfUnsupportedType"><name>sataController0</name><instanceId>4</instanceId><deviceType>20</deviceType></fault><localizedMessage>unsupported resource type: 20</localizedMessage></error>
</returnval></CreateImportSpecResponse></soapenv:Body></soapenv:Envelope>"#;

    fn result() -> El {
        let doc = crate::vsphere::xml::parse(RESULT).unwrap();
        doc.find("returnval").unwrap().clone()
    }

    #[test]
    fn fault_types_become_kebab_codes() {
        for (t, c) in [
            ("OvfUnsupportedType", "ovf-unsupported-type"),
            ("OvfUnsupportedSection", "ovf-unsupported-section"),
            ("OvfMissingElement", "ovf-missing-element"),
            ("OvfHardwareCheck", "ovf-hardware-check"),
            (
                "OvfNetworkMappingNotSupported",
                "ovf-network-mapping-not-supported",
            ),
            ("HTTPFault", "http-fault"),
            ("Ovf2Fault", "ovf2-fault"),
        ] {
            assert_eq!(fault_code(t).as_deref(), Some(c), "{t}");
        }
        for bad in ["", "../../etc", "ovf-x", "1Fault", &"A".repeat(65)] {
            assert_eq!(fault_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn warnings_and_errors_of_a_recorded_answer_get_distinct_codes() {
        let (w, e) = judge(&result(), false);
        let codes: Vec<&str> = w.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "ovf-unsupported-section",
                "ovf-missing-element",
                "ovf-hardware-check",
                GENERIC_CODE
            ]
        );
        assert_eq!(w[0].subject.as_deref(), Some("vbox:Machine, line 52"));
        assert_eq!(
            w[0].message,
            "OvfUnsupportedSection: Line 52: Unsupported section 'vbox:Machine'"
        );
        assert_eq!(w[1].subject.as_deref(), Some("rasd:InstanceID, line 31"));
        assert_eq!(w[2].subject, None);
        // The bell of the server's text does not reach the terminal.
        assert!(!w[2].message.contains('\u{7}'), "{}", w[2].message);
        assert_eq!(w[3].message, "fault");
        assert!(w.iter().all(|n| n.severity == Severity::Warning));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "ovf-unsupported-type");
        assert_eq!(e[0].severity, Severity::Error);
        assert_eq!(
            e[0].subject.as_deref(),
            Some("sataController0 (InstanceID 4)")
        );
        let err = refusal(&e, false);
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.kind().is_input_failure(), "exit 1, as validate/import");
        let msg = err.to_string();
        assert!(msg.contains("[ovf-unsupported-type]"), "{msg}");
        assert_eq!(err.hint(), Some(&Hint::Lax));
    }

    #[test]
    fn lax_turns_an_unsupported_device_into_a_warning() {
        let (w, e) = judge(&result(), true);
        assert!(e.is_empty());
        let last = w.last().unwrap();
        assert_eq!(last.code, "ovf-unsupported-type");
        assert_eq!(last.severity, Severity::Warning);
        assert!(last.message.ends_with("(lax: deployed without it)"));
    }

    #[test]
    fn refusal_kind_follows_the_faults() {
        let n = |code: &str| SpecNote {
            code: code.into(),
            severity: Severity::Error,
            subject: None,
            message: "m".into(),
        };
        assert_eq!(
            refusal(
                &[n("ovf-missing-element"), n("ovf-unsupported-type")],
                false
            )
            .kind(),
            ErrorKind::InvalidOvf
        );
        assert_eq!(
            refusal(&[n("ovf-unsupported-section")], false).kind(),
            ErrorKind::Unsupported
        );
        let server = refusal(&[n("no-permission")], false);
        assert_eq!(server.kind(), ErrorKind::Io);
        assert_eq!(server.hint(), None);
    }
}
