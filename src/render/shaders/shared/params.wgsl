// The renderer's shared declarations: the parameters every dispatch of a render chunk shares
// (`RenderParams` in render/params.rs) and the per-camera record.

#import dispatch

struct RenderParams {
    // Index into `counters` of the chunk's jobs (see jobs.wgsl).
    counters_base: u32,
    num_splats: u32,
    num_cameras: u32,
    sh_degree: u32,
    num_coeffs: u32,
    near: f32,
    far: f32,
    eps2d: f32,
    // Capacity of the intersection buffers.
    isect_capacity: u32,
    // Cameras of the whole batch (a chunk has `num_cameras` of them): the loss weighs each
    // view by 1 / batch_cameras.
    batch_cameras: u32,
    _pad1: u32,
    _pad2: u32,
}

struct CameraGpu {
    // World-to-camera rows (OpenCV axes).
    row0: vec4<f32>,
    row1: vec4<f32>,
    row2: vec4<f32>,
    // Camera centre in world space (xyz).
    center: vec4<f32>,
    // fx, fy, cx, cy.
    intrinsics: vec4<f32>,
    // Background colour (rgb).
    background: vec4<f32>,
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    // Index of this camera's first tile among all tiles of the batch.
    tile_offset: u32,
    // Index of this camera's first pixel in the output images.
    pixel_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

const TILE_SIZE: u32 = 16u;
