// The portable backward pass's batch sums into grads2d with native float atomics
// (wgpu's SHADER_FLOAT32_ATOMIC): one atomic add each, nothing waits for it.

@group(0) @binding(9) var<storage, read_write> grads2d: array<atomic<f32>>;

fn add_batch_to_memory(count: u32, lid: u32) {
    for (var j = lid; j < count * 10u; j += THREADS) {
        let value = batch_sums[j];
        if value != 0.0 {
            atomicAdd(&grads2d[batch_color_gid[j / 10u].w * GRAD_STRIDE + j % 10u], value);
        }
    }
}
