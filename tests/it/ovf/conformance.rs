//! ovftool's own positive/negative suite (govmomi `OVFToolTemplates/OVF/xmltestfiles`): every
//! `Pos` file validates without error (`LaxMode/` with `--lax`), `Neg` files are rejected. The
//! per-area table printed here is the one in `docs/CONFORMANCE.md`; the floors below make any
//! regression fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ovftool::ovf::{Envelope, Severity, ValidateOptions};

use crate::support;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ovf")) {
            out.push(p);
        }
    }
}

/// Whether the library rejects `path` (parse error or an error diagnostic), with the reason.
pub fn rejects(path: &Path, lax: bool) -> Option<String> {
    let bytes = std::fs::read(path).unwrap();
    match Envelope::parse(&bytes) {
        Err(e) => Some(e.to_string()),
        Ok(env) => env
            .validate(&ValidateOptions { lax })
            .into_iter()
            .find(|d| d.severity == Severity::Error)
            .map(|d| d.to_string()),
    }
}

#[test]
fn ovftool_conformance_suite() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let root =
        corpus.join("vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    // area -> (pos, pos ok, neg, neg rejected)
    let mut table: BTreeMap<String, (u32, u32, u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap();
        let comps: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
        let area = comps[0].to_string();
        let (pos, neg) = (comps.contains(&"Pos"), comps.contains(&"Neg"));
        if !pos && !neg {
            continue;
        }
        let lax = area == "LaxMode";
        let verdict = rejects(f, lax);
        let row = table.entry(area).or_default();
        if pos {
            row.0 += 1;
            match verdict {
                None => row.1 += 1,
                Some(why) => misses.push(format!("Pos rejected: {}: {why}", rel.display())),
            }
        } else {
            row.2 += 1;
            match verdict {
                Some(_) => row.3 += 1,
                None => misses.push(format!("Neg accepted: {}", rel.display())),
            }
        }
    }
    let mut total = (0, 0, 0, 0);
    println!("| area | Pos valid | Neg rejected |\n|---|---|---|");
    for (area, r) in &table {
        println!("| {area} | {}/{} | {}/{} |", r.1, r.0, r.3, r.2);
        total = (total.0 + r.0, total.1 + r.1, total.2 + r.2, total.3 + r.3);
    }
    println!(
        "| **total** | **{}/{}** | **{}/{}** |",
        total.1, total.0, total.3, total.2
    );
    for m in &misses {
        println!("{m}");
    }
    assert!(total.0 > 100 && total.2 > 70, "suite not found complete");
    assert_eq!(total.1, total.0, "every Pos file must validate");
    assert!(
        total.3 >= NEG_FLOOR,
        "Neg rejected {} < floor {NEG_FLOOR}",
        total.3
    );
}

/// Neg files rejected when this floor was last raised (see docs/CONFORMANCE.md).
const NEG_FLOOR: u32 = 68;
