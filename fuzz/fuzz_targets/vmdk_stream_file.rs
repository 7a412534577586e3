//! streamOptimized in seekable mode (grain directory, footer): arbitrary bytes as a file.
//! Must never panic, hang or allocate more than the file can hold.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run vmdk_stream_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovftool::disk::{DiskSource, GrainData};
use ovftool::vmdk::codec::Inflater;
use ovftool::vmdk::stream::{Origin, StreamFileSource};
use ovftool::Limits;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = StreamFileSource::new(
        data,
        data.len() as u64,
        Origin::entry("fuzz.vmdk"),
        &Limits::default(),
    ) else {
        return;
    };
    let mut inflater = Inflater::new();
    let mut last = None;
    while let Ok(Some(g)) = r.next_grain() {
        assert!(last.is_none_or(|l| g.offset > l), "grains must ascend");
        last = Some(g.offset);
        if let GrainData::Zlib { data, .. } = &g.data {
            let _ = inflater.inflate_grain(data, g.len as usize);
        }
    }
});
