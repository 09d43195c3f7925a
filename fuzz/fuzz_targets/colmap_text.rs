//! COLMAP's text model files: cameras.txt, images.txt and points3D.txt, each given every input;
//! a camera that parses must also give its pinhole intrinsics or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat_formats::dataset::colmap;

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    if let Ok(cameras) = colmap::read_cameras_text(data, "cameras.txt") {
        for camera in cameras {
            let _ = camera.pinhole(false);
            let _ = camera.distortion();
        }
    }
    if let Ok(images) = colmap::read_images_text(data, "images.txt", true) {
        for image in images {
            let _ = image.world_to_camera();
        }
    }
    let _ = colmap::read_points3d_text(data, "points3D.txt", true);
});
