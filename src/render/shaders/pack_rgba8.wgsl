// Packs rendered pixels to 8-bit RGBA for a compact readback (RVS and other image outputs read
// a quarter of the float image's bytes, and no depth).
// Bindings:
//   0 params  uniform PackParams: pixels to pack
//   1 rgba    array<vec4<f32>> read: the rendered images, back to back
//   2 packed  array<u32> out: one RGBA8 word per pixel (r in the low byte), alpha 255
// One invocation: one pixel, colour clamped to [0, 1], times 255 and rounded (as
// `RenderedImage::to_rgba8` does on the CPU).

#import dispatch

struct PackParams {
    pixels: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: PackParams;
@group(0) @binding(1) var<storage, read> rgba: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> packed: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.pixels {
        return;
    }
    packed[i] = pack4x8unorm(vec4<f32>(rgba[i].rgb, 1.0));
}
