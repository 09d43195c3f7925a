//! The GPU radix sort and prefix sum against their CPU twins, at several sizes.

use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::GpuContext;
use wgsplat::render::pipelines::Pipelines;
use wgsplat::render::prefix_sum::{exclusive_scan, exclusive_scan_cpu};
use wgsplat::render::radix_sort::{sort_pairs, sort_pairs_cpu};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

#[test]
fn prefix_sum_matches_cpu() {
    let gpu = gpu();
    let pipes = Pipelines::new(&gpu.device, &gpu.features);
    let mut rng = StdRng::seed_from_u64(7);
    for len in [1usize, 2, 511, 512, 513, 5000, 262_144, 300_001] {
        let data: Vec<u32> = (0..len).map(|_| rng.random_range(0..20)).collect();
        let got = pollster::block_on(exclusive_scan(&gpu, &pipes, &data)).unwrap();
        assert_eq!(got, exclusive_scan_cpu(&data), "length {len}");
    }
}

#[test]
fn radix_sort_is_stable_and_matches_cpu() {
    let gpu = gpu();
    let pipes = Pipelines::new(&gpu.device, &gpu.features);
    let mut rng = StdRng::seed_from_u64(11);
    for (len, bits) in [(1usize, 4u32), (1000, 8), (1024, 12), (1025, 32), (70_000, 16), (200_000, 32)] {
        let max = if bits == 32 { u32::MAX } else { (1u32 << bits) - 1 };
        // Few distinct keys at small bit widths, so stability is exercised.
        let keys: Vec<u32> = (0..len).map(|_| rng.random_range(0..=max)).collect();
        let values: Vec<u32> = (0..len as u32).collect();
        let got = pollster::block_on(sort_pairs(&gpu, &pipes, &keys, &values, bits)).unwrap();
        assert_eq!(got, sort_pairs_cpu(&keys, &values, bits), "length {len}, bits {bits}");
    }
}
