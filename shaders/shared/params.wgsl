// Shared declarations: the per-dispatch parameters, the per-camera record and helpers to turn a
// 2D dispatch into one linear index (a dimension holds at most 65535 workgroups).

struct DispatchParams {
    // Index into `counters` of the job (sort, scan) this dispatch works for.
    counters_base: u32,
    // Radix-sort pass: lowest bit of the digit.
    shift: u32,
    // Radix-sort pass: 1 when the values are the element indices (first pass of the depth sort).
    identity_values: u32,
    // Prefix-sum level (0 = the caller's array).
    level: u32,
    num_splats: u32,
    num_cameras: u32,
    sh_degree: u32,
    num_coeffs: u32,
    near: f32,
    far: f32,
    eps2d: f32,
    // Capacity of the intersection buffers.
    isect_capacity: u32,
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
// Workgroups along x in a 2D dispatch; see `dispatch_2d` in render/pipelines.rs.
const DISPATCH_X_MAX: u32 = 32768u;

fn linear_workgroup(wg: vec3<u32>, num_wg: vec3<u32>) -> u32 {
    return wg.x + wg.y * num_wg.x;
}

fn ceil_div(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}

// Indirect dispatch arguments for `groups` workgroups, split over x and y.
fn dispatch_2d(groups: u32) -> vec3<u32> {
    let g = max(groups, 1u);
    let x = min(g, DISPATCH_X_MAX);
    return vec3<u32>(x, ceil_div(g, x), 1u);
}
