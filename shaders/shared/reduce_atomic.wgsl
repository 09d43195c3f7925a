// Without subgroups: every invocation hands its own gradients to the sink when it has any.

fn accumulate(slot: u32, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, lid: u32) {
    if any(g0 != vec4<f32>(0.0)) || any(g1 != vec4<f32>(0.0)) || any(g2 != vec4<f32>(0.0)) {
        sink_add(slot, g0, g1, g2);
    }
}
