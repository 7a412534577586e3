//! Bad input: error kind and position, never a panic (quick-xml `reader-errors.rs` style).

use ovftool::ovf::{Envelope, ParseOptions};
use ovftool::ErrorKind;

const HEAD: &str = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">"#;

fn doc(body: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n{HEAD}\n{body}\n</Envelope>\n")
}

#[test]
fn error_table() {
    // (input, kind, line, column)
    let cases: Vec<(String, ErrorKind, u64, u64)> = vec![
        (doc("<References>\n  <File></Fil>\n</References>"), ErrorKind::Xml, 4, 9),
        (doc("<References"), ErrorKind::Xml, 3, 1),
        (doc("<A x=\"1\" x=\"2\"/>"), ErrorKind::Xml, 3, 1),
        (doc("<A x=1/>"), ErrorKind::Xml, 3, 1),
        (doc("<A x/>"), ErrorKind::Xml, 3, 1),
        (doc("<A>&nbsp;</A>"), ErrorKind::Xml, 3, 4),
        (doc("<A>&#0;</A>"), ErrorKind::Xml, 3, 4),
        ("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<x/>".into(), ErrorKind::Xml, 2, 1),
        ("<?xml version=\"1.0\"?>\n<a/>\n<b/>".into(), ErrorKind::Xml, 3, 1),
        ("<?xml version=\"1.0\"?>\n<a>".into(), ErrorKind::Xml, 2, 4),
        ("".into(), ErrorKind::Xml, 1, 1),
        ("<?xml version=\"1.0\"?>\n<Envelope xmlns=\"http://nosuchspec.com/ovf/envelope/1\"/>".into(), ErrorKind::InvalidOvf, 2, 1),
        ("<?xml version=\"1.0\"?>\n\n  <Envelope/>".into(), ErrorKind::InvalidOvf, 3, 3),
        ("<?xml version=\"1.0\"?>\n<ovf:Foo xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\"/>".into(), ErrorKind::InvalidOvf, 2, 1),
    ];
    for (input, kind, line, col) in cases {
        let e = Envelope::parse(input.as_bytes()).expect_err(&input);
        assert_eq!(e.kind(), kind, "{input}: {e}");
        assert_eq!(e.location().line_col, Some((line, col)), "{input}: {e}");
    }
}

#[test]
fn invalid_utf8_is_reported_with_position() {
    let mut bytes = doc("<A>x</A>").into_bytes();
    let at = bytes.windows(4).position(|w| w == b"<A>x").unwrap() + 3;
    bytes[at] = 0xff;
    let e = Envelope::parse(&bytes).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Xml);
    assert_eq!(e.location().line_col, Some((3, 4)));
}

#[test]
fn doctype_with_billion_laughs_is_refused_without_expansion() {
    let s = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\n<Envelope>&lol2;</Envelope>";
    let e = Envelope::parse(s.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Xml);
    assert!(e.message().contains("DOCTYPE"));
}

#[test]
fn descriptor_over_the_size_limit_is_refused() {
    let mut opts = ParseOptions::default();
    opts.limits.max_descriptor_bytes = 100;
    let s = doc(&"<!-- padding -->".repeat(20));
    let e = Envelope::parse_with(s.as_bytes(), &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(Envelope::parse(s.as_bytes()).is_ok());
}

#[test]
fn deep_nesting_is_refused() {
    let mut opts = ParseOptions::default();
    opts.limits.max_xml_depth = 10;
    let s = doc(&format!("{}{}", "<a>".repeat(20), "</a>".repeat(20)));
    let e = Envelope::parse_with(s.as_bytes(), &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.location().line_col.is_some());
}

#[test]
fn bom_is_accepted_and_kept_out_of_the_tree() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(doc("<References/>").as_bytes());
    let env = Envelope::parse(&bytes).unwrap();
    assert!(env.references().is_empty());
    let utf16 = [0xFF, 0xFE, b'<', 0];
    assert_eq!(Envelope::parse(&utf16).unwrap_err().kind(), ErrorKind::Xml);
}

#[test]
fn truncations_of_a_real_descriptor_never_panic() {
    let s = std::fs::read(crate::support::samples().join("tiny.ovf")).unwrap();
    for n in (0..s.len()).step_by(7) {
        let r = Envelope::parse(&s[..n]);
        crate::support::assert_input_error(&format!("first {n} bytes"), &r);
    }
    assert!(Envelope::parse(&s).is_ok());
}

/// Parse time for one element carrying `n` attributes made by `attr(i)`.
fn time_one_tag(n: usize, attr: impl Fn(usize) -> String) -> std::time::Duration {
    let attrs: String = (0..n).map(attr).collect();
    let s = doc(&format!("<A{attrs}/>"));
    let mut opts = ParseOptions::default();
    opts.limits.max_xml_attributes = usize::MAX;
    let t = crate::support::thread_cpu_seconds();
    assert!(Envelope::parse_with(s.as_bytes(), &opts).is_ok());
    std::time::Duration::from_secs_f64(crate::support::thread_cpu_seconds() - t)
}

#[test]
fn many_attributes_are_capped_and_linear() {
    // RUSTSEC-2026-0194 shape: one start tag with very many distinct attributes.
    let attrs: String = (0..5_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let e = Envelope::parse(doc(&format!("<A{attrs}/>")).as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    // Above the cap, cost must grow about linearly: 16x the attributes may not cost 256x
    // (quadratic). The bound sits well between the two (cache effects make large inputs cost
    // more than 16x per attribute on a loaded machine; 8x inputs measured 20-26x).
    let plain = |i: usize| format!(" a{i}=\"x\"");
    let ns = |i: usize| format!(" xmlns:p{i}=\"urn:{i}\" p{i}:a=\"x\"");
    for f in [&plain as &dyn Fn(usize) -> String, &ns] {
        // Best of three: other tests run in parallel on the same cores.
        let best = |n| {
            (0..3)
                .map(|_| time_one_tag(n, f).as_secs_f64())
                .fold(f64::MAX, f64::min)
        };
        let small = best(4_000).max(1e-3);
        let big = best(64_000);
        assert!(
            big / small < 64.0,
            "16x input took {:.1}x time",
            big / small
        );
    }
}

/// Inputs that are not OVF at all get a message that says what they are, not only where the
/// parser stopped: plain text in the place of a descriptor (a fake or wrong entry in an OVA),
/// text after the root, and an envelope namespace one trailing "/" off the DMTF one (older
/// oVirt export-domain descriptors write `http://schemas.dmtf.org/ovf/envelope/1/`).
#[test]
fn not_ovf_inputs_are_named() {
    let e = Envelope::parse(b"FakeOvfContent").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Xml);
    assert!(e.to_string().contains("not an XML document"), "{e}");
    let e = Envelope::parse(b"<?xml version=\"1.0\"?>\n<a/>\ntrailing words").unwrap_err();
    assert!(e.to_string().contains("after the root element"), "{e}");
    for ns in ["1", "2"] {
        let x = format!(
            "<ovf:Envelope xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/{ns}/\"><References/></ovf:Envelope>"
        );
        let e = Envelope::parse(x.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOvf);
        assert!(e.to_string().contains("trailing \"/\""), "{e}");
    }
    let e = Envelope::parse(b"<Envelope xmlns=\"http://nosuchspec.com/ovf/envelope/1/\"/>")
        .unwrap_err();
    assert!(!e.to_string().contains("trailing"), "{e}");
}
