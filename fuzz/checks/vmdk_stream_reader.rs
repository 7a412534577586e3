//! The calls and checks of the fuzz target `vmdk_stream_reader`, in one place:
//! fuzz/fuzz_targets/vmdk_stream_reader.rs runs them on what libFuzzer generates, tests/it/fuzz.rs
//! (on the stable toolchain) on the inputs kept under fuzz/regressions/vmdk_stream_reader/.

use ovftool::codec::Inflater;
use ovftool::disk::{DiskSource, GrainData};
use ovftool::vmdk::stream::{Origin, StreamReader};
use ovftool::Limits;

/// Runs the `vmdk_stream_reader` target on one input; panics where a check fails.
pub fn check(data: &[u8]) {
    let Ok(mut r) = StreamReader::new(data, Origin::entry("fuzz.vmdk"), &Limits::default()) else {
        return;
    };
    let mut inflater = Inflater::new();
    let mut last = None;
    while let Ok(Some(g)) = r.next_grain() {
        assert!(last.is_none_or(|l| g.offset > l), "grains must ascend");
        assert!(g.offset < r.capacity_bytes());
        last = Some(g.offset);
        if let GrainData::Zlib { data, .. } = &g.data {
            if let Ok(b) = inflater.inflate_grain(data, g.len as usize) {
                assert_eq!(b.len(), g.len as usize);
            }
        }
    }
}
