//! Issue 27, item 6: an image too large for the device's bindings is named by its file (the
//! training images used to be reported by index, "image 0"), natively and in the page alike
//! (both make their images with `session::frame_images`).

use wgsplat::dataset::FrameInfo;
use wgsplat::train::images::{ImageFormat, ImagesTooLarge};
use wgsplat::train::session::frame_images;
use wgsplat::{Camera, GpuContext};

fn frame(name: &str, side: u32) -> FrameInfo {
    let camera = Camera {
        width: side,
        height: side,
        fx: side as f32,
        fy: side as f32,
        cx: side as f32 / 2.0,
        cy: side as f32 / 2.0,
        world_to_camera: [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]],
    };
    FrameInfo { name: name.into(), image_path: format!("{name}.png"), camera, image_size: (side, side) }
}

#[test]
fn an_image_past_the_binding_limit_is_named_by_its_file() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    // One side whose RGBA8 image is just past what one binding holds: refused when the room is
    // planned, before anything is allocated, whatever the device.
    let side = ((gpu.max_binding_bytes() / 4) as f64).sqrt() as u32 + 1;
    let frames = [frame("train/small", 8), frame("train/huge", side)];
    let e =
        frame_images(&gpu, &frames, ImageFormat::Rgba8, 1 << 20, &|path| format!("set/{path}")).err().expect("the huge image is refused");
    assert_eq!(e.file.as_deref(), Some("set/train/huge.png"));
    assert!(matches!(e.problem, ImagesTooLarge::Image { index: 1, .. }), "{e}");
    let text = e.to_string();
    assert!(text.starts_with("set/train/huge.png: ") && text.contains(&format!("{side}x{side}")), "{text}");
    // Images that fit are made as before.
    let images = frame_images(&gpu, &frames[..1], ImageFormat::Rgba8, 1 << 20, &|path| path.to_string()).unwrap();
    assert_eq!(images.loaded.len(), 1);
}
