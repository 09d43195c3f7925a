// Sums each gradient over the subgroup first, so one invocation per subgroup hands it to the
// sink. Every invocation must call this (zeros where it has nothing). Gradients travel as three
// vec4s (see rasterize_backward.wgsl) so that they stay in registers.

#enable subgroups

fn accumulate(slot: u32, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, lid: u32) {
    // Most splats of a tile touch few of its pixels: skip subgroups with nothing to add.
    let any_value = any(g0 != vec4<f32>(0.0)) || any(g1 != vec4<f32>(0.0)) || any(g2 != vec4<f32>(0.0));
    if all(subgroupBallot(any_value) == vec4<u32>(0u)) {
        return;
    }
    let s0 = subgroupAdd(g0);
    let s1 = subgroupAdd(g1);
    let s2 = subgroupAdd(g2);
    // The first active invocation of the subgroup adds.
    if subgroupBroadcastFirst(lid) == lid {
        sink_add(slot, s0, s1, s2);
    }
}
