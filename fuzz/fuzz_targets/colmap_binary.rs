//! COLMAP's binary model files: cameras.bin, images.bin and points3D.bin, each given every input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat::dataset::colmap;

fuzz_target!(|data: &[u8]| {
    let _ = colmap::read_cameras_binary(data, "cameras.bin");
    let _ = colmap::read_images_binary(data, "images.bin", true);
    let _ = colmap::read_points3d_binary(data, "points3D.bin", true);
});
