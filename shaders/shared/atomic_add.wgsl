// Float addition on a storage `array<atomic<u32>>` (WGSL has no float atomics): compare and swap
// the bit pattern until no other invocation got in between.

fn atomic_add_f32(index: u32, value: f32) {
    var old = atomicLoad(&grads2d[index]);
    loop {
        let swapped = atomicCompareExchangeWeak(&grads2d[index], old, bitcast<u32>(bitcast<f32>(old) + value));
        if swapped.exchanged {
            break;
        }
        old = swapped.old_value;
    }
}
