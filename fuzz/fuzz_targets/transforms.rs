//! A nerfstudio / NeRF-synthetic transforms.json, with and without a size from an image.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = wgsplat_formats::dataset::read_transforms_cameras(text, "transforms.json", None);
    let _ = wgsplat_formats::dataset::read_transforms_cameras(text, "transforms.json", Some((64, 48)));
});
