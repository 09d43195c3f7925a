// Density control under a splat budget: the candidates to grow ranked by gradient, largest first,
// so that only the best `max_growing` of them grow. `keys` writes one sort key per splat (sorted
// by kernel::sort with the splat indices as values), `ranks` turns the sorted order into each
// splat's rank.
// Bindings:
//   0 params         uniform RankParams
//   1 stats          array<f32> [N*4] (keys) gradient sum, times seen
//   2 keys           array<u32> [N] (keys) out: u32 max - 1 - bits(mean gradient) for candidates,
//                    u32 max for the others; (ranks) in: the same keys, sorted
//   3 sorted_values  array<u32> [N] (ranks) the splat at each sorted place
//   4 rank           array<u32> [N] (ranks) out: the splat's place, u32 max when no candidate
// One invocation: one splat (keys) or one sorted place (ranks).

#import dispatch

// Mirrors `RankParams` in train/densify_gpu.rs.
struct RankParams {
    num_splats: u32,
    grad_threshold: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: RankParams;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<u32>;
@group(0) @binding(3) var<storage, read> sorted_values: array<u32>;
@group(0) @binding(4) var<storage, read_write> rank: array<u32>;

const NONE: u32 = 0xffffffffu;

@compute @workgroup_size(256)
fn keys_of(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.num_splats {
        return;
    }
    let seen = stats[4u * i + 1u];
    let grad = select(0.0, stats[4u * i] / seen, seen > 0.0);
    // Positive floats order as their bits: largest gradient, smallest key.
    keys[i] = select(NONE, NONE - 1u - bitcast<u32>(grad), grad >= p.grad_threshold);
}

@compute @workgroup_size(256)
fn ranks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = linear_workgroup(wg, nwg) * 256u + lid;
    if j >= p.num_splats {
        return;
    }
    rank[sorted_values[j]] = select(j, NONE, keys[j] == NONE);
}
