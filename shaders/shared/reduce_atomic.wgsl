// Without subgroups: every invocation adds its own non-zero gradients into the workgroup's
// per-splat sums.

fn accumulate(slot: u32, values: array<f32, 10>, lid: u32) {
    for (var i = 0u; i < 10u; i++) {
        if values[i] != 0.0 {
            shared_add_f32(slot * 10u + i, values[i]);
        }
    }
}
