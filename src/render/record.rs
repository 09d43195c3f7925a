//! Recording a chunk's forward stages: what a render records once and the backward pass records
//! again to rebuild the intermediates of a chunk that is no longer in the buffers. Apart from
//! both so that neither the renderer nor its backward pass imports the other.

use super::forward::RecordedChunk;
use super::frame::FrameSet;
use super::jobs;
use super::params::CAMERAS_BYTES;
use super::pipelines::Pipelines;
use super::splats::GpuSplats;
use crate::kernel::recorder::{Binding, Recorder, Workgroups};
use crate::kernel::scan::record_scan;
use crate::kernel::sort::record_sort;

/// The camera array of chunk `ci`.
pub(super) fn chunk_cameras(set: &FrameSet, ci: usize) -> Binding {
    Binding::Range { buffer: set.cameras.clone(), offset: ci as u64 * CAMERAS_BYTES, size: CAMERAS_BYTES }
}

/// Records the forward stages of chunk `ci` into `rec`; returns which intersection buffer pair
/// holds its sorted intersections. The backward pass records it again to rebuild a chunk's
/// intermediates when a batch had several.
pub(super) fn record_chunk(
    rec: &mut Recorder,
    pipes: &Pipelines,
    ci: usize,
    chunk: &RecordedChunk,
    splats: &GpuSplats,
    set: &FrameSet,
) -> usize {
    let frame = &set.frame;
    let outputs = &set.outputs;
    let counters = &set.counters;
    let base = jobs::chunk_base(ci);
    let pairs = splats.num_splats * chunk.count as u32;
    let per_pair = || Workgroups::Direct(jobs::dispatch_2d(pairs.div_ceil(256)));
    let params = &chunk.params;
    let buf = Binding::of;
    rec.clear(&frame.tile_ranges);

    rec.stage("project");
    rec.dispatch(
        "project",
        &pipes.project,
        params,
        [(0, Binding::Params), (1, chunk_cameras(set, ci))]
            .into_iter()
            .chain(splats.bindings_from(2))
            .chain([(7, buf(&frame.projected)), (8, buf(&frame.tile_counts)), (9, buf(&frame.depth_sort.keys[0]))])
            .collect(),
        per_pair(),
    );

    rec.stage("depth sort");
    let depth_out = record_sort(
        rec,
        &pipes.sort,
        counters,
        base + jobs::DEPTH_SORT_JOB,
        super::cpu::project::DEPTH_KEY_BITS,
        &frame.depth_sort,
        &frame.scan,
        true,
    );
    let cam_gid_by_rank = &frame.depth_sort.values[depth_out];

    rec.stage("count and emit intersections");
    rec.dispatch(
        "gather_counts",
        &pipes.gather_counts,
        params,
        vec![(0, Binding::Params), (1, buf(cam_gid_by_rank)), (2, buf(&frame.tile_counts)), (3, buf(&frame.offsets_by_rank))],
        per_pair(),
    );
    record_scan(rec, &pipes.sort.scan, counters, base + jobs::COUNT_SCAN_JOB, &frame.offsets_by_rank, &frame.scan);
    rec.dispatch(
        "plan_intersections",
        &pipes.plan_intersections,
        params,
        vec![
            (0, Binding::Params),
            (1, buf(counters)),
            (2, buf(&frame.offsets_by_rank)),
            (3, buf(&frame.tile_counts)),
            (4, buf(cam_gid_by_rank)),
        ],
        Workgroups::Direct([1, 1, 1]),
    );
    rec.dispatch(
        "emit_intersections",
        &pipes.emit_intersections,
        params,
        vec![
            (0, Binding::Params),
            (1, chunk_cameras(set, ci)),
            (2, buf(cam_gid_by_rank)),
            (3, buf(&frame.offsets_by_rank)),
            (4, buf(&frame.tile_counts)),
            (5, buf(&frame.projected)),
            (6, buf(&frame.isect_sort.keys[0])),
            (7, buf(&frame.isect_sort.values[0])),
        ],
        per_pair(),
    );

    let tile_bits = u32::BITS - chunk.tiles.saturating_sub(1).leading_zeros();
    rec.stage("intersection sort");
    let isect_out =
        record_sort(rec, &pipes.sort, counters, base + jobs::ISECT_SORT_JOB, tile_bits.max(1), &frame.isect_sort, &frame.scan, false);
    rec.stage("tile ranges");
    rec.dispatch(
        "tile_ranges",
        &pipes.tile_ranges,
        params,
        vec![(0, Binding::Params), (1, buf(counters)), (2, buf(&frame.isect_sort.keys[isect_out])), (3, buf(&frame.tile_ranges))],
        // One invocation per intersection the buffers hold; those past the count return.
        Workgroups::Direct(crate::kernel::jobs::capacity_dispatch(&frame.isect_sort.keys[0], 256)),
    );
    rec.stage("rasterize");
    rec.dispatch(
        "rasterize",
        &pipes.rasterize,
        params,
        vec![
            (1, chunk_cameras(set, ci)),
            (2, buf(&frame.tile_ranges)),
            (3, buf(&frame.isect_sort.values[isect_out])),
            (4, buf(&frame.projected)),
            (5, buf(&outputs.rgba)),
            (6, buf(&outputs.depth)),
            (7, buf(&outputs.last)),
        ],
        Workgroups::Direct([chunk.max_tiles[0], chunk.max_tiles[1], chunk.count as u32]),
    );
    isect_out
}
