// Gradient sink with native float atomics (wgpu's SHADER_FLOAT32_ATOMIC): straight into grads2d.

@group(0) @binding(9) var<storage, read_write> grads2d: array<atomic<f32>>;

fn sink_begin_batch(lid: u32) {}

fn sink_add(slot: u32, i: u32, value: f32) {
    atomicAdd(&grads2d[batch_ids[slot] * GRAD_STRIDE + i], value);
}

fn sink_end_batch(count: u32, lid: u32) {}
