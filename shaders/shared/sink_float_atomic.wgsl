// Gradient sink with native float atomics (wgpu's SHADER_FLOAT32_ATOMIC): straight into grads2d.

@group(0) @binding(9) var<storage, read_write> grads2d: array<atomic<f32>>;

fn sink_begin_batch(lid: u32) {}

fn add_nonzero(index: u32, value: f32) {
    if value != 0.0 {
        atomicAdd(&grads2d[index], value);
    }
}

fn sink_add(slot: u32, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>) {
    let base = batch_ids[slot] * GRAD_STRIDE;
    add_nonzero(base, g0.x);
    add_nonzero(base + 1u, g0.y);
    add_nonzero(base + 2u, g0.z);
    add_nonzero(base + 3u, g0.w);
    add_nonzero(base + 4u, g1.x);
    add_nonzero(base + 5u, g1.y);
    add_nonzero(base + 6u, g1.z);
    add_nonzero(base + 7u, g1.w);
    add_nonzero(base + 8u, g2.x);
    add_nonzero(base + 9u, g2.y);
}

fn sink_end_batch(count: u32, lid: u32) {}
