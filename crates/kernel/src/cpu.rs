//! The CPU twins of the kernel's primitives, one function per GPU primitive and of the same name:
//! what the tests and benchmarks compare the GPU's results with. Every crate keeps its twins the
//! same way, in a `cpu` module beside the GPU code (`render::cpu`, `train::cpu`).

/// `sort::sort_pairs`: a stable sort of the pairs by the low `bits` bits of their keys.
pub fn sort_pairs(keys: &[u32], values: &[u32], bits: u32) -> (Vec<u32>, Vec<u32>) {
    let mask = if bits >= 32 { u32::MAX } else { (1u32 << bits) - 1 };
    let mut pairs: Vec<(u32, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|(k, _)| k & mask);
    pairs.into_iter().unzip()
}

/// `scan::exclusive_scan`: each element replaced by the wrapping sum of those before it.
pub fn exclusive_scan(data: &[u32]) -> Vec<u32> {
    data.iter()
        .scan(0u32, |sum, &x| {
            let before = *sum;
            *sum = sum.wrapping_add(x);
            Some(before)
        })
        .collect()
}

/// `compact::compact`: the indices of the elements whose keep flag is not zero, in order.
pub fn compact(keep: &[u32]) -> Vec<u32> {
    keep.iter().enumerate().filter(|(_, k)| **k != 0).map(|(i, _)| i as u32).collect()
}
