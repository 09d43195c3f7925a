//! COLMAP's binary model files: cameras.bin, images.bin and points3D.bin, each given every input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat_formats::dataset::colmap;

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    let _ = colmap::read_cameras_binary(data, "cameras.bin");
    let _ = colmap::read_images_binary(data, "images.bin", true);
    let _ = colmap::read_points3d_binary(data, "points3D.bin", true);
});
