// The guard against non-finite values: flags every splat that holds an infinity or a NaN in one
// parameter group, its Adam moments or its density statistics, so that density control's plan
// (densify_plan.wgsl) removes it instead of cloning it or keeping it. A NaN passes every
// comparison the plan makes ("transparent", "too large" are false for it), so without this flag
// a broken splat would stay, and its clones would inherit it. Dispatched once per group into the
// same `bad` flags (cleared before the first); the groups go one at a time so that this pass
// binds two buffers whatever the SH degree.
// Bindings:
//   0 params  uniform MarkParams
//   1 values  array<u32> [N*row_len] one group's floats, as bits (parameters, moments or stats)
//   2 bad     array<u32> [N] set to 1 where the splat's row holds a non-finite float
// main: one invocation, one splat's row of this group.

#import dispatch

// Mirrors `MarkParams` in train/densify_gpu.rs.
struct MarkParams {
    num_splats: u32,
    // Floats per splat in `values`.
    row_len: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: MarkParams;
@group(0) @binding(1) var<storage, read> values: array<u32>;
@group(0) @binding(2) var<storage, read_write> bad: array<u32>;

// An f32 is infinite or NaN exactly when its exponent bits are all ones (read from the bits, so
// that no compiler's fast-math folds the test away).
const EXPONENT: u32 = 0x7f800000u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.num_splats {
        return;
    }
    var broken = false;
    let first = i * p.row_len;
    for (var k = 0u; k < p.row_len; k++) {
        broken = broken || (values[first + k] & EXPONENT) == EXPONENT;
    }
    if broken {
        bad[i] = 1u;
    }
}
