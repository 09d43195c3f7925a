// Sums each gradient over the subgroup first, so one invocation per subgroup hands it to the sink. Every invocation must call this (zeros where it has nothing).

fn accumulate(slot: u32, values: array<f32, 10>, lid: u32) {
    // Most splats of a tile touch few of its pixels: skip subgroups with nothing to add.
    var any_value = false;
    for (var i = 0u; i < 10u; i++) {
        any_value = any_value || values[i] != 0.0;
    }
    if all(subgroupBallot(any_value) == vec4<u32>(0u)) {
        return;
    }
    var sums: array<f32, 10>;
    for (var i = 0u; i < 10u; i++) {
        sums[i] = subgroupAdd(values[i]);
    }
    // The first active invocation of the subgroup adds.
    if subgroupBroadcastFirst(lid) == lid {
        for (var i = 0u; i < 10u; i++) {
            if sums[i] != 0.0 {
                sink_add(slot, i, sums[i]);
            }
        }
    }
}
