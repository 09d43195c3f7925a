// present.wgsl: draws one rendered image onto the canvas (or any colour target).
//
// Bindings (group 0):
//   0  uniform              params: PresentParams (image size, its first pixel, target size)
//   1  storage, read-only   pixels: array<vec4<f32>>, rgb + alpha per pixel, row-major, images
//                           back to back; this image is `width` x `height` from `pixel_offset`
//
// One vertex invocation: one corner of a triangle that covers the whole target.
// One fragment invocation: one target pixel; it takes the nearest image pixel (the image is
// stretched when the target has another size) and writes its rgb clamped to [0, 1], alpha 1.

struct PresentParams {
    width: u32,
    height: u32,
    pixel_offset: u32,
    _pad0: u32,
    target_width: u32,
    target_height: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: PresentParams;
@group(0) @binding(1) var<storage, read> pixels: array<vec4<f32>>;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // (-1,-1), (3,-1), (-1,3): one triangle over the clip square.
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index >> 1u) * 4 - 1);
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let tx = u32(position.x);
    let ty = u32(position.y);
    let x = min(tx * params.width / max(params.target_width, 1u), params.width - 1u);
    let y = min(ty * params.height / max(params.target_height, 1u), params.height - 1u);
    let colour = pixels[params.pixel_offset + y * params.width + x];
    return vec4<f32>(clamp(colour.rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
