//! The kernel primitives against their CPU twins, at several sizes: radix sort, prefix sum and
//! stream compaction.

use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::GpuContext;
use wgsplat::kernel::compact::{CompactPipelines, compact};
use wgsplat::kernel::cpu;
use wgsplat::kernel::scan::{ScanPipelines, exclusive_scan};
use wgsplat::kernel::sort::{SortPipelines, sort_pairs};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

#[test]
fn prefix_sum_matches_cpu() {
    let gpu = gpu();
    let pipes = ScanPipelines::new(&gpu.device);
    let mut rng = StdRng::seed_from_u64(7);
    for len in [1usize, 2, 511, 512, 513, 5000, 262_144, 300_001] {
        let data: Vec<u32> = (0..len).map(|_| rng.random_range(0..20)).collect();
        let got = pollster::block_on(exclusive_scan(&gpu, &pipes, &data)).unwrap();
        assert_eq!(got, cpu::exclusive_scan(&data), "length {len}");
    }
}

#[test]
fn radix_sort_is_stable_and_matches_cpu() {
    let gpu = gpu();
    let pipes = SortPipelines::new(&gpu.device);
    let mut rng = StdRng::seed_from_u64(11);
    for (len, bits) in [(1usize, 4u32), (1000, 8), (1024, 12), (1025, 32), (70_000, 16), (200_000, 32)] {
        let max = if bits == 32 { u32::MAX } else { (1u32 << bits) - 1 };
        // Few distinct keys at small bit widths, so stability is exercised.
        let keys: Vec<u32> = (0..len).map(|_| rng.random_range(0..=max)).collect();
        let values: Vec<u32> = (0..len as u32).collect();
        let got = pollster::block_on(sort_pairs(&gpu, &pipes, &keys, &values, bits)).unwrap();
        assert_eq!(got, cpu::sort_pairs(&keys, &values, bits), "length {len}, bits {bits}");
    }
}

/// The depth sort's keys: the top 28 bits of positive depths, culled pairs all ones. Culled
/// pairs sort after every visible one, equal keys keep their index order, in 7 passes.
#[test]
fn depth_keys_sort_in_28_bits_with_culled_pairs_last() {
    use wgsplat::render::cpu::project::{DEPTH_KEY_BITS, depth_sort_key};
    let gpu = gpu();
    let pipes = SortPipelines::new(&gpu.device);
    let mut rng = StdRng::seed_from_u64(13);
    let len = 50_000usize;
    let keys: Vec<u32> = (0..len).map(|i| if i % 17 == 0 { u32::MAX } else { depth_sort_key(rng.random_range(0.01f32..100.0)) }).collect();
    let values: Vec<u32> = (0..len as u32).collect();
    let (sorted, order) = pollster::block_on(sort_pairs(&gpu, &pipes, &keys, &values, DEPTH_KEY_BITS)).unwrap();
    assert_eq!((sorted.clone(), order.clone()), cpu::sort_pairs(&keys, &values, DEPTH_KEY_BITS));
    let culled = keys.iter().filter(|&&k| k == u32::MAX).count();
    assert!(order[len - culled..].iter().all(|&i| keys[i as usize] == u32::MAX), "culled pairs last");
    assert!(order[..len - culled].windows(2).all(|w| keys[w[0] as usize] <= keys[w[1] as usize]), "visible pairs by depth");
}

#[test]
fn stream_compaction_matches_cpu() {
    let gpu = gpu();
    let pipes = CompactPipelines::new(&gpu.device);
    let mut rng = StdRng::seed_from_u64(5);
    for (len, keep_one_in) in [(1usize, 1u32), (1, 1_000_000), (255, 2), (256, 3), (257, 1), (5000, 10), (300_001, 4), (70_000, 1_000_000)]
    {
        // Flags of any nonzero value keep an element.
        let keep: Vec<u32> =
            (0..len).map(|_| if rng.random_range(0..keep_one_in) == 0 { rng.random_range(1..u32::MAX) } else { 0 }).collect();
        let got = pollster::block_on(compact(&gpu, &pipes, &keep)).unwrap();
        assert_eq!(got, cpu::compact(&keep), "length {len}, one in {keep_one_in} kept");
    }
}

/// A job's bind groups are made once and reused by its next encodes; a dispatch whose buffer
/// changed gets a new one (a stale one would scan the old buffer), and the cache keeps only what
/// the last encode used.
#[test]
fn bind_groups_are_reused_and_follow_new_buffers() {
    use wgsplat::kernel::recorder::{Recorder, Uniforms};
    use wgsplat::kernel::scan::{ScanScratch, record_scan};
    use wgsplat::kernel::{buffers, jobs, submit};
    let gpu = gpu();
    let pipes = ScanPipelines::new(&gpu.device);
    let len = 3000usize;
    let mut counter_values = vec![0u32; jobs::SCAN_JOB_LEN as usize];
    jobs::plan_scan(&mut counter_values, 0, len as u32);
    let counters = buffers::counters(&gpu.device, counter_values.len());
    let scratch = ScanScratch::new(&gpu.device, len as u64);
    let mut uniforms = Uniforms::default();
    let mut rng = StdRng::seed_from_u64(3);
    let mut scan = |uniforms: &mut Uniforms, buffer: &wgpu::Buffer| {
        let data: Vec<u32> = (0..len).map(|_| rng.random_range(0..20)).collect();
        gpu.queue.write_buffer(buffer, 0, bytemuck::cast_slice(&data));
        gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
        let mut rec = Recorder::new();
        rec.stage("scan");
        record_scan(&mut rec, &pipes, &counters, 0, buffer, &scratch);
        submit::submit(&gpu, "scan", rec, uniforms, |_| {});
        let got = pollster::block_on(buffers::read_u32s(&gpu, buffer, len as u64 * 4)).unwrap();
        assert_eq!(got, cpu::exclusive_scan(&data));
    };
    let a = buffers::storage(&gpu.device, "a", len as u64 * 4);
    let b = buffers::storage(&gpu.device, "b", len as u64 * 4);
    scan(&mut uniforms, &a);
    let first = uniforms.bind_groups_created();
    assert_eq!(first, 3, "two levels (3000 elements fit a block of blocks): three dispatches, each its own parameters");
    scan(&mut uniforms, &a);
    assert_eq!(uniforms.bind_groups_created(), first, "the same job again makes none");
    scan(&mut uniforms, &b);
    assert_eq!(uniforms.bind_groups_created(), first + 2, "the two dispatches that bind the data buffer get new ones");
    assert_eq!(uniforms.cached_bind_groups(), 3);
    scan(&mut uniforms, &a);
    assert_eq!(uniforms.bind_groups_created(), first + 4, "the groups of `a` were dropped with the encode that did not use them");
}

/// The scan dispatches as many levels as the buffer's capacity needs and reads the length from
/// its job: a GPU-computed length far below the capacity (and one at it) scans right whichever
/// level count the capacity picks.
#[test]
fn prefix_sum_of_a_length_below_the_buffers_capacity() {
    use wgsplat::kernel::recorder::{Recorder, Uniforms};
    use wgsplat::kernel::scan::{ScanScratch, levels_for_capacity, record_scan};
    use wgsplat::kernel::{buffers, jobs, submit};
    let gpu = gpu();
    let pipes = ScanPipelines::new(&gpu.device);
    let mut rng = StdRng::seed_from_u64(11);
    for (capacity, levels) in [(512u64, 1usize), (513, 2), (262_144, 2), (262_145, 3)] {
        assert_eq!(levels_for_capacity(capacity), levels, "capacity {capacity}");
        for len in [1u64, capacity / 3 + 1, capacity] {
            let data: Vec<u32> = (0..len).map(|_| rng.random_range(0..20)).collect();
            let buffer = buffers::storage(&gpu.device, "scan data", capacity * 4);
            gpu.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&data));
            let mut counter_values = vec![0u32; jobs::SCAN_JOB_LEN as usize];
            jobs::plan_scan(&mut counter_values, 0, len as u32);
            let counters = buffers::counters(&gpu.device, counter_values.len());
            gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
            let scratch = ScanScratch::new(&gpu.device, capacity);
            let mut rec = Recorder::new();
            rec.stage("scan");
            record_scan(&mut rec, &pipes, &counters, 0, &buffer, &scratch);
            submit::submit(&gpu, "scan", rec, &mut Uniforms::default(), |_| {});
            let got = pollster::block_on(buffers::read_u32s(&gpu, &buffer, len * 4)).unwrap();
            assert_eq!(got, cpu::exclusive_scan(&data), "capacity {capacity}, length {len}");
        }
    }
}
