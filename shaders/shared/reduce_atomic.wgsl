// Without subgroups: every invocation adds its own non-zero gradients.

fn accumulate(base: u32, values: array<f32, 10>, lid: u32) {
    for (var i = 0u; i < 10u; i++) {
        if values[i] != 0.0 {
            atomic_add_f32(base + i, values[i]);
        }
    }
}
