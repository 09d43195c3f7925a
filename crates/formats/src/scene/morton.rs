//! The Morton (Z-order) permutation of splat positions that PlayCanvas's writers use
//! (splat-transform's `morton-order`): compressed PLY chunks and SOG's image rows both store
//! splats in it, so that neighbours in the file are neighbours in space (small chunk bounds,
//! smooth images).

/// Runs of more than this many splats with one code are sorted again over their own bounds.
const RESORT_RUN: usize = 256;

/// Morton (Z-order) permutation of the positions, as splat-transform computes it: 10 bits per
/// axis over the bounds, a stable sort by code, and buckets of more than 256 equal codes
/// sorted again over their own bounds.
pub fn morton_order(means: &[[f32; 3]]) -> Vec<u32> {
    let mut indices: Vec<u32> = (0..means.len() as u32).collect();
    sort_morton(&mut indices, means);
    indices
}

fn sort_morton(indices: &mut [u32], means: &[[f32; 3]]) {
    if indices.is_empty() {
        return;
    }
    let point = |i: u32| means[i as usize].map(|v| v as f64);
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for &i in indices.iter() {
        let p = point(i);
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let len: [f64; 3] = std::array::from_fn(|a| hi[a] - lo[a]);
    if len.iter().any(|l| !l.is_finite()) || len.iter().all(|&l| l == 0.0) {
        return;
    }
    let mul = len.map(|l| if l == 0.0 { 0.0 } else { 1024.0 / l });
    let code = |i: u32| {
        let p = point(i);
        let q: [u32; 3] = std::array::from_fn(|a| ((p[a] - lo[a]) * mul[a]).min(1023.0) as u32);
        (part_1_by_2(q[2]) << 2) + (part_1_by_2(q[1]) << 1) + part_1_by_2(q[0])
    };
    let mut keyed: Vec<(u32, u32)> = indices.iter().map(|&i| (code(i), i)).collect();
    keyed.sort_by_key(|&(c, _)| c);
    for (slot, &(_, i)) in indices.iter_mut().zip(&keyed) {
        *slot = i;
    }
    let mut start = 0;
    while start < keyed.len() {
        let end = start + keyed[start..].iter().take_while(|(c, _)| *c == keyed[start].0).count();
        if end - start > RESORT_RUN {
            sort_morton(&mut indices[start..end], means);
        }
        start = end;
    }
}

/// Spreads the low 10 bits of `v` to every third bit.
fn part_1_by_2(v: u32) -> u32 {
    let mut v = v & 0x3ff;
    v = (v ^ (v << 16)) & 0xff00_00ff;
    v = (v ^ (v << 8)) & 0x0300_f00f;
    v = (v ^ (v << 4)) & 0x030c_30c3;
    (v ^ (v << 2)) & 0x0924_9249
}
