// The portable backward pass's batch sums into grads2d without float atomics: compare-and-swap
// on the f32 bits, every swap of an invocation in flight at once (a swap's round trip to memory
// is long; waiting for each in turn would stall the tile). Few tiles share a splat, so swaps
// rarely retry.

@group(0) @binding(9) var<storage, read_write> grads2d: array<atomic<u32>>;

// Adds the batch's `count` splats' sums to grads2d. Each invocation's swaps are issued
// together, guessing that the slot still holds zero (grads2d starts cleared, and most slots are
// first written by one tile); only a swap that missed goes round again, with the value it found.
const SUMS_PER_INVOCATION: u32 = BATCH * 10u / THREADS;
fn add_batch_to_memory(count: u32, lid: u32) {
    var index: array<u32, SUMS_PER_INVOCATION>;
    var value: array<f32, SUMS_PER_INVOCATION>;
    var seen: array<u32, SUMS_PER_INVOCATION>;
    var done: array<bool, SUMS_PER_INVOCATION>;
    for (var k = 0u; k < SUMS_PER_INVOCATION; k++) {
        let j = lid + k * THREADS;
        value[k] = 0.0;
        if j < count * 10u {
            value[k] = batch_sums[j];
            index[k] = batch_color_gid[j / 10u].w * GRAD_STRIDE + j % 10u;
        }
        done[k] = value[k] == 0.0;
        seen[k] = 0u;
    }
    for (var k = 0u; k < SUMS_PER_INVOCATION; k++) {
        if !done[k] {
            let swapped = atomicCompareExchangeWeak(&grads2d[index[k]], 0u, bitcast<u32>(value[k]));
            done[k] = swapped.exchanged;
            seen[k] = swapped.old_value;
        }
    }
    for (var k = 0u; k < SUMS_PER_INVOCATION; k++) {
        var old = seen[k];
        var finished = done[k];
        while !finished {
            let swapped = atomicCompareExchangeWeak(&grads2d[index[k]], old, bitcast<u32>(bitcast<f32>(old) + value[k]));
            finished = swapped.exchanged;
            old = swapped.old_value;
        }
    }
}
