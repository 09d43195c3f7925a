// The dispatch-cost probe's kernel (`wgsplat bench dispatch`, and the page's web/train/probe.js,
// which fetches this file): trivial work, so that timing many dispatches of it measures what the
// API charges per dispatch, pass and submission rather than the GPU.
// Bindings:
//   0 data    array<u32> (read and written)
//   1 params  uniform vec4<u32>; x is added
// One invocation adds params.x to one element of data (rows of workgroups along y, as one
// dimension holds at most 65535).

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = id.y * groups.x * 64u + id.x;
    if i < arrayLength(&data) {
        data[i] = data[i] + params.x;
    }
}
