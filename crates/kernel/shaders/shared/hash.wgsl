// Counter-based random numbers: the same value for the same key on every device and in the CPU
// twin (`train::densify::hash_u32` and `uniform01`), so that GPU and CPU density control draw
// the same split positions.

fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in (0, 1]: 24 bits, exact in f32.
fn uniform01(h: u32) -> f32 {
    return f32((h >> 8u) + 1u) / 16777216.0;
}
