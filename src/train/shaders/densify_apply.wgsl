// Density control, second pass: one parameter group (or its Adam moments) of the splats after the
// round, gathered into `dst` in the order the CPU twin builds them: the splats that stay, in
// order (at their compact index), then the appended ones, in the order of their originals (at
// kept_total + the scan of `children`). Clones copy their original; split children copy it too,
// but for a new mean (the original's plus a normal sample of its shape, rotated) and scales 1.6
// times smaller; appended moments are zero. A wide group goes in slices of its columns
// [col_first, col_first + slice_len), so that `dst` (the gather buffer) holds only a slice:
// dst row r is the slice of splat r after the round; `scatter_slice` writes it back into the
// group's buffer.
// Bindings:
//   0 params         uniform ApplyParams
//   1 src            array<f32> [N*row_len] the group before the round
//   2 dst            array<f32> out, [N'*slice_len]
//   3 keep           array<u32> [N] 1 when splat i stays (densify_plan.wgsl)
//   4 kept_index     array<u32> [N] exclusive scan of keep (compact.wgsl's offsets)
//   5 children       array<u32> [N] splats appended for splat i (1: a clone, 2: split children)
//   6 child_offsets  array<u32> [N] exclusive scan of children
//   7 kept_total     array<u32> [1] how many stay
//   8 quats          array<f32> [N*4] (kind 1: the children's means)
//   9 log_scales     array<f32> [N*3] (kind 1)
// main: one invocation per (splat, float of its slice). scatter_slice: one invocation per
// (splat after the round, float of the slice), from the gather buffer back. opacity_cap: one invocation
// per splat.

#import dispatch
#import quat
#import hash

// Mirrors `ApplyParams` in train/densify_gpu.rs.
struct ApplyParams {
    num_splats: u32,
    row_len: u32,
    // 0: copied as is; 1: means; 2: log-scales; 3: moments (zero when appended).
    kind: u32,
    // This round's seed: the split samples are a function of (seed, splat, child, axis).
    seed: u32,
    // opacity_cap: the largest logit kept.
    cap: f32,
    // ln(1.6) (densify_plan.wgsl).
    ln_split: f32,
    // The columns of this slice: [col_first, col_first + slice_len) of each row.
    col_first: u32,
    slice_len: u32,
}

@group(0) @binding(0) var<uniform> p: ApplyParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> keep: array<u32>;
@group(0) @binding(4) var<storage, read> kept_index: array<u32>;
@group(0) @binding(5) var<storage, read> children: array<u32>;
@group(0) @binding(6) var<storage, read> child_offsets: array<u32>;
@group(0) @binding(7) var<storage, read> kept_total: array<u32>;
@group(0) @binding(8) var<storage, read> quats: array<f32>;
@group(0) @binding(9) var<storage, read> log_scales: array<f32>;

// A standard normal sample for axis `axis` of child `child` of splat `i` (Box-Muller).
fn split_normal(i: u32, child: u32, axis: u32) -> f32 {
    let key = pcg_hash(p.seed ^ pcg_hash(i));
    let j = child * 3u + axis;
    let u1 = uniform01(pcg_hash(key ^ pcg_hash(2u * j + 1u)));
    let u2 = uniform01(pcg_hash(key ^ pcg_hash(2u * j + 2u)));
    return sqrt(-2.0 * log(u1)) * cos(6.2831855 * u2);
}

fn child_value(i: u32, child: u32, col: u32, original: f32) -> f32 {
    if p.kind == 3u {
        return 0.0;
    }
    if children[i] != 2u {
        return original;
    }
    if p.kind == 2u {
        return original - p.ln_split;
    }
    if p.kind == 1u {
        let s = exp(vec3<f32>(log_scales[3u * i], log_scales[3u * i + 1u], log_scales[3u * i + 2u]));
        let local = vec3<f32>(split_normal(i, child, 0u), split_normal(i, child, 1u), split_normal(i, child, 2u)) * s;
        let q = vec4<f32>(quats[4u * i], quats[4u * i + 1u], quats[4u * i + 2u], quats[4u * i + 3u]);
        let offset = quat_to_mat(q) * local;
        return original + offset[col];
    }
    return original;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let gid = linear_workgroup(wg, nwg) * 256u + lid;
    if gid >= p.num_splats * p.slice_len {
        return;
    }
    let i = gid / p.slice_len;
    let k = gid % p.slice_len;
    let col = p.col_first + k;
    let value = src[i * p.row_len + col];
    if keep[i] != 0u {
        dst[kept_index[i] * p.slice_len + k] = value;
    }
    let base = kept_total[0] + child_offsets[i];
    for (var child = 0u; child < children[i]; child++) {
        dst[(base + child) * p.slice_len + k] = child_value(i, child, col, value);
    }
}

// The gathered slice (bound as src) back into the group's buffer (bound as dst); here
// num_splats is the count after the round.
@compute @workgroup_size(256)
fn scatter_slice(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let gid = linear_workgroup(wg, nwg) * 256u + lid;
    if gid >= p.num_splats * p.slice_len {
        return;
    }
    dst[(gid / p.slice_len) * p.row_len + p.col_first + gid % p.slice_len] = src[gid];
}

// Opacity reset: every opacity capped at `cap` (a logit), in place in `dst`.
@compute @workgroup_size(256)
fn opacity_cap(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.num_splats {
        return;
    }
    dst[i] = min(dst[i], p.cap);
}
