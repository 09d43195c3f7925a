// Gradient sink without float atomics: sums per splat of the batch in shared memory (float adds
// by compare-and-swap), added to grads2d once per splat and tile at the end of the batch.

@group(0) @binding(9) var<storage, read_write> grads2d: array<atomic<u32>>;

// Per splat of the batch, its 10 gradient sums over the workgroup (f32 bits).
var<workgroup> batch_grads: array<atomic<u32>, 1280>;

fn cas_add_f32(index: u32, value: f32) {
    var old = atomicLoad(&batch_grads[index]);
    loop {
        let swapped = atomicCompareExchangeWeak(&batch_grads[index], old, bitcast<u32>(bitcast<f32>(old) + value));
        if swapped.exchanged {
            break;
        }
        old = swapped.old_value;
    }
}

fn sink_begin_batch(lid: u32) {
    for (var j = lid; j < BATCH * 10u; j += 256u) {
        atomicStore(&batch_grads[j], 0u);
    }
}

fn add_nonzero(index: u32, value: f32) {
    if value != 0.0 {
        cas_add_f32(index, value);
    }
}

fn sink_add(slot: u32, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>) {
    let base = slot * 10u;
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

// After a barrier: adds the batch's sums to grads2d.
fn sink_end_batch(count: u32, lid: u32) {
    for (var j = lid; j < count * 10u; j += 256u) {
        let sum = bitcast<f32>(atomicLoad(&batch_grads[j]));
        if sum != 0.0 {
            let index = batch_ids[j / 10u] * GRAD_STRIDE + j % 10u;
            var old = atomicLoad(&grads2d[index]);
            loop {
                let swapped = atomicCompareExchangeWeak(&grads2d[index], old, bitcast<u32>(bitcast<f32>(old) + sum));
                if swapped.exchanged {
                    break;
                }
                old = swapped.old_value;
            }
        }
    }
}
