//! Every well-formed descriptor of the third-party corpus parses, and parse → write → parse
//! gives an equal tree (so unknown content survives) and equal typed views.

use ovftool::ovf::Envelope;

use crate::support;

/// One corpus descriptor: path, well-formed, envelope namespace, intent.
pub type Entry = (std::path::PathBuf, bool, Option<String>, String);

/// `(path, wellformed, envelope namespace (None unless the root is an Envelope), intent)` of every
/// OVF descriptor in the corpus index.
pub fn descriptors() -> Option<Vec<Entry>> {
    let root = support::corpus()?;
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for e in index.as_array().unwrap() {
        if e["kind"] != "ovf" {
            continue;
        }
        out.push((
            root.join(e["path"].as_str().unwrap()),
            e["wellformed"].as_bool().unwrap_or(false),
            e["root"]
                .as_str()
                .filter(|r| r.ends_with("}Envelope"))
                .and(e["rootns"].as_str())
                .map(str::to_string),
            e["intent"].as_str().unwrap_or("").to_string(),
        ));
    }
    Some(out)
}

const ENVELOPE_NS: [&str; 3] = [
    "http://schemas.dmtf.org/ovf/envelope/1",
    "http://schemas.dmtf.org/ovf/envelope/2",
    "http://www.vmware.com/schema/ovf/1/envelope",
];

#[test]
fn every_wellformed_corpus_descriptor_round_trips() {
    let Some(list) = descriptors() else { return };
    let mut n = 0;
    for (path, wellformed, rootns, _) in list {
        let bytes = std::fs::read(&path).unwrap();
        let res = Envelope::parse(&bytes);
        let is_ovf = rootns.as_deref().is_some_and(|r| ENVELOPE_NS.contains(&r));
        if !wellformed {
            // Not well-formed per a namespace-aware parser: either we reject it, or the only
            // problem is an unbound prefix, which the tree records.
            if let Ok(env) = &res {
                assert!(
                    !env.document().unbound_prefixes.is_empty(),
                    "{} accepted but not well-formed",
                    path.display()
                );
            }
            continue;
        }
        if !is_ovf {
            let e = res.expect_err(&format!("{} has no OVF envelope", path.display()));
            assert!(e.location().line_col.is_some());
            continue;
        }
        let env = res.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = env.to_bytes().unwrap();
        let again =
            Envelope::parse(&out).unwrap_or_else(|e| panic!("{} re-parse: {e}", path.display()));
        assert_eq!(env.document(), again.document(), "{}", path.display());
        assert_eq!(env.references(), again.references());
        assert_eq!(env.disks(), again.disks());
        assert_eq!(env.content(), again.content());
        n += 1;
    }
    assert!(n > 500, "only {n} descriptors checked");
}
