//! Deterministic mutation of real descriptors (byte flips, deletions, duplications): parsing never
//! panics, and whatever parses validates, serialises and re-parses to an equal tree.

use ovftool::ovf::{Envelope, ValidateOptions};

use crate::support;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check(bytes: &[u8]) {
    let parsed = Envelope::parse(bytes);
    support::assert_input_error("mutated descriptor", &parsed);
    if let Ok(env) = parsed {
        let _ = env.validate(&ValidateOptions::default());
        let _ = env.validate(&ValidateOptions { lax: true });
        for d in env.disks() {
            let _ = d.capacity_bytes(&env);
        }
        let out = env.to_bytes().unwrap();
        let again = Envelope::parse(&out).expect("what we write parses");
        assert_eq!(again.document(), env.document());
    }
}

#[test]
fn mutated_descriptors_never_panic_and_round_trip() {
    let mut inputs = vec![std::fs::read(support::samples().join("tiny.ovf")).unwrap()];
    if let Some(c) = support::corpus() {
        for rel in [
            "glennmatthews__cot/COT/tests/ubuntu.2.0.ovf",
            "glennmatthews__cot/COT/tests/csr1000v_2017.ovf",
            "vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles/VirtualHardware/Pos/valid_bound.ovf",
        ] {
            inputs.push(std::fs::read(c.join(rel)).unwrap());
        }
    }
    let mut rng = Lcg(0x0f7_2026);
    let specials = b"<>&\"'=:/ \n\x00\xff;#x";
    for input in &inputs {
        for _ in 0..300 {
            let mut m = input.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(m.len());
                match rng.below(4) {
                    0 => m[at] = specials[rng.below(specials.len())],
                    1 => {
                        let end = (at + rng.below(64)).min(m.len());
                        m.drain(at..end);
                    }
                    2 => {
                        let end = (at + rng.below(64)).min(m.len());
                        let chunk = m[at..end].to_vec();
                        let to = rng.below(m.len());
                        m.splice(to..to, chunk);
                    }
                    _ => m[at] ^= 1 << rng.below(8),
                }
                if m.is_empty() {
                    break;
                }
            }
            check(&m);
        }
    }
}
