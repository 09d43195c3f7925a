// Density control, first pass: what happens to each splat in this round (3DGS's clone, split and
// prune). A splat whose mean view-space gradient reaches the threshold grows: cloned when it is
// small (it stays, and a copy with fresh moments is appended), split when it is large (it goes,
// and two smaller children are appended). Then every splat that would remain, original or
// new, is pruned when transparent or (after the first opacity reset) too large. Every test is a
// comparison of the stored values (log-scales, opacity logits) with limits the CPU computed
// (`densify::PlanLimits`), so that the CPU twin decides exactly alike.
// Bindings:
//   0 params      uniform PlanParams
//   1 log_scales  array<f32> [N*3]
//   2 opacities   array<f32> [N] logits
//   3 stats       array<f32> [N*4] gradient sum, times seen, largest radius (px), unused
//   4 keep        array<u32> [N] out: 1 when the splat itself stays
//   5 children    array<u32> [N] out: splats appended for it (0, 1 or 2)
//   6 counts      array<atomic<u32>> [5] added to: cloned, split, pruned; [3] (total_children)
//                 the number of splats appended; [4] removed for a non-finite value
//   9 bad         array<u32> [N] 1 where the splat holds a non-finite value (nonfinite_mark.wgsl):
//                 it neither grows nor stays
//   7 rank        array<u32> [N] with a budget: the splat's place among the candidates by
//                 gradient, largest first (u32 max when it is none); else unused
//   8 child_offsets array<u32> [N] (total_children) the exclusive scan of `children`
// main: one invocation, one splat. total_children: one invocation.

#import dispatch

// Mirrors `PlanParams` in train/densify_gpu.rs.
struct PlanParams {
    num_splats: u32,
    // 1 after the first opacity reset: large splats are pruned.
    prune_large: u32,
    // With a budget: candidates ranked below this grow; u32 max: all of them.
    max_growing: u32,
    use_rank: u32,
    grad_threshold: f32,
    // ln(percent_dense * extent): splats with a larger log-scale are split, the others cloned.
    log_dense_limit: f32,
    // logit(min_opacity): pruned below.
    min_logit: f32,
    // Radius in pixels (0: no screen-size pruning).
    max_screen_size: f32,
    // ln(max_world_size * extent).
    log_world_limit: f32,
    // ln(1.6): split children's log-scales are their original's minus this.
    ln_split: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: PlanParams;
@group(0) @binding(1) var<storage, read> log_scales: array<f32>;
@group(0) @binding(2) var<storage, read> opacities: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> keep: array<u32>;
@group(0) @binding(5) var<storage, read_write> children: array<u32>;
@group(0) @binding(6) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read> rank: array<u32>;
@group(0) @binding(9) var<storage, read> bad: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.num_splats {
        return;
    }
    let seen = stats[4u * i + 1u];
    let grad = select(0.0, stats[4u * i] / seen, seen > 0.0);
    let max_log = max(log_scales[3u * i], max(log_scales[3u * i + 1u], log_scales[3u * i + 2u]));
    let transparent = opacities[i] < p.min_logit;
    let large = p.prune_large != 0u;
    let broken = bad[i] != 0u;
    var grows = !broken && grad >= p.grad_threshold;
    if grows && p.use_rank != 0u {
        grows = rank[i] < p.max_growing;
    }
    let split = grows && max_log > p.log_dense_limit;
    let too_big_on_screen = p.max_screen_size > 0.0 && stats[4u * i + 2u] > p.max_screen_size;
    // The original stays unless split or pruned; its screen size counts, its copies' does not.
    let stays = !broken && !split && !(transparent || (large && (too_big_on_screen || max_log > p.log_world_limit)));
    var appended = 0u;
    if grows && !split {
        // The clone: same parameters as the original.
        let pruned = transparent || (large && max_log > p.log_world_limit);
        appended = select(1u, 0u, pruned);
    } else if split {
        // Two children 1.6 times smaller, the same opacity.
        let pruned = transparent || (large && max_log - p.ln_split > p.log_world_limit);
        appended = select(2u, 0u, pruned);
    }
    keep[i] = select(0u, 1u, stays);
    children[i] = appended;
    if grows && !split {
        atomicAdd(&counts[0], 1u);
    }
    if split {
        atomicAdd(&counts[1], 1u);
    }
    if broken {
        atomicAdd(&counts[4], 1u);
        return;
    }
    // Pruned: the originals that neither stay nor were split, and the appended ones dropped.
    let dropped_new = select(0u, select(1u, 2u, split), grows) - appended;
    let pruned = select(0u, 1u, !stays && !split) + dropped_new;
    if pruned > 0u {
        atomicAdd(&counts[2], pruned);
    }
}

// After the scan of `children`: the number of splats appended, into counts[3]. One invocation.
@group(0) @binding(8) var<storage, read> child_offsets: array<u32>;

@compute @workgroup_size(1)
fn total_children() {
    if p.num_splats == 0u {
        return;
    }
    let last = p.num_splats - 1u;
    atomicStore(&counts[3], child_offsets[last] + children[last]);
}
