//! streamOptimized in streaming mode: follow the markers of arbitrary bytes, inflate every
//! grain. Must never panic, hang or allocate beyond a grain; grains must ascend.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmdk_stream_reader`.
//! Replay a crash: `cargo fuzz run vmdk_stream_reader artifacts/vmdk_stream_reader/crash-...`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::disk::{DiskSource, GrainData};
use ovftool::vmdk::codec::Inflater;
use ovftool::vmdk::stream::{Origin, StreamReader};
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
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
});
