//! A dropped zip (`ZipSource`, small limits so that a bomb is found fast), every entry read, then
//! the dataset in it found and indexed (`load_dataset`: transforms or COLMAP, image headers).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat_formats::dataset::{FileSource, LoadOptions, ZipLimits, ZipSource, load_dataset};

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    let limits = ZipLimits { max_total_bytes: 16 << 20, max_entry_bytes: 4 << 20 };
    let Ok(zip) = ZipSource::with_limits(data.to_vec(), "fuzz.zip", limits) else { return };
    for path in zip.list() {
        let _ = zip.read(&path);
    }
    let _ = load_dataset(&zip, "fuzz.zip", &LoadOptions::default());
});
