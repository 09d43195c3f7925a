//! The buffers of a render, named by their index space: `cam_gid` = camera * N + splat id;
//! depth rank = position in the depth-sorted order; intersection = one (tile, splat); pixel =
//! one output pixel of the batch. A `FrameSet` is what one render writes and its backward pass
//! reads; it travels inside the render's `Forward` and goes back to the renderer's pool when
//! that is done with (sized for the largest chunk seen and grown, never shrunk).

use crate::kernel::buffers;
use crate::kernel::scan::ScanScratch;
use crate::kernel::sort::{SortBuffers, hist_len};

use super::params::CAMERAS_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameSize {
    pub cam_gids: u64,
    pub isects: u64,
    pub tiles: u64,
}

impl FrameSize {
    pub fn covers(&self, other: &FrameSize) -> bool {
        self.cam_gids >= other.cam_gids && self.isects >= other.isects && self.tiles >= other.tiles
    }

    pub fn max(&self, other: &FrameSize) -> FrameSize {
        FrameSize { cam_gids: self.cam_gids.max(other.cam_gids), isects: self.isects.max(other.isects), tiles: self.tiles.max(other.tiles) }
    }
}

/// Per-chunk intermediates (one chunk at a time uses them).
pub struct FrameBuffers {
    pub size: FrameSize,
    /// By cam_gid: 3 vec4 per pair (see project.wgsl).
    pub projected: wgpu::Buffer,
    /// By cam_gid: tiles touched, 0 when culled.
    pub tile_counts: wgpu::Buffer,
    /// By depth rank: tile counts, then (scanned in place) the first intersection slot.
    pub offsets_by_rank: wgpu::Buffer,
    /// Depth keys -> cam_gid by depth rank.
    pub depth_sort: SortBuffers,
    /// Tile keys -> cam_gid by intersection.
    pub isect_sort: SortBuffers,
    pub scan: ScanScratch,
    /// Per tile: start and end in the sorted intersections.
    pub tile_ranges: wgpu::Buffer,
}

impl FrameBuffers {
    pub fn new(device: &wgpu::Device, size: FrameSize) -> Self {
        let c = size.cam_gids;
        Self {
            size,
            projected: buffers::storage(device, "projected", c * 48),
            tile_counts: buffers::storage(device, "tile_counts", c * 4),
            offsets_by_rank: buffers::storage(device, "offsets_by_rank", c * 4),
            depth_sort: SortBuffers::new(device, "depth sort", c),
            isect_sort: SortBuffers::new(device, "intersection sort", size.isects),
            scan: ScanScratch::new(device, c.max(hist_len(c)).max(hist_len(size.isects))),
            tile_ranges: buffers::storage(device, "tile_ranges", size.tiles * 8),
        }
    }

    /// Bytes of GPU memory these buffers take.
    pub fn memory_bytes(&self) -> u64 {
        [&self.projected, &self.tile_counts, &self.offsets_by_rank, &self.tile_ranges].iter().map(|b| b.size()).sum::<u64>()
            + self.depth_sort.memory_bytes()
            + self.isect_sort.memory_bytes()
            + self.scan.memory_bytes()
    }
}

/// Per-pixel outputs of a render, all images back to back.
pub struct Outputs {
    pub pixels: u64,
    /// rgb with the background composited, alpha.
    pub rgba: wgpu::Buffer,
    pub depth: wgpu::Buffer,
    /// One past the last intersection blended (what the backward pass starts from).
    pub last: wgpu::Buffer,
}

impl Outputs {
    pub fn new(device: &wgpu::Device, pixels: u64) -> Self {
        Self {
            pixels,
            rgba: buffers::storage(device, "out_rgba", pixels * 16),
            depth: buffers::storage(device, "out_depth", pixels * 4),
            last: buffers::storage(device, "out_last", pixels * 4),
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.rgba.size() + self.depth.size() + self.last.size()
    }
}

/// Everything one render writes.
pub struct FrameSet {
    pub frame: FrameBuffers,
    pub outputs: Outputs,
    /// The jobs and status (render/jobs.rs layout), `chunks` chunks of room.
    pub counters: wgpu::Buffer,
    pub counter_chunks: usize,
    /// One camera array per chunk.
    pub cameras: wgpu::Buffer,
    pub camera_chunks: usize,
}

impl FrameSet {
    pub fn memory_bytes(&self) -> u64 {
        self.frame.memory_bytes() + self.outputs.memory_bytes() + self.counters.size() + self.cameras.size()
    }

    /// This set, grown where it is smaller than asked.
    pub fn grown(self, device: &wgpu::Device, size: FrameSize, pixels: u64, chunks: usize) -> FrameSet {
        let FrameSet { mut frame, mut outputs, mut counters, mut counter_chunks, mut cameras, mut camera_chunks } = self;
        if !frame.size.covers(&size) {
            let size = frame.size.max(&size);
            drop(frame);
            frame = FrameBuffers::new(device, size);
        }
        if outputs.pixels < pixels {
            outputs = Outputs::new(device, pixels);
        }
        if counter_chunks < chunks {
            counters = buffers::counters(device, super::jobs::counters_len(chunks));
            counter_chunks = chunks;
        }
        if camera_chunks < chunks {
            cameras = buffers::uniform(device, "cameras", chunks as u64 * CAMERAS_BYTES);
            camera_chunks = chunks;
        }
        FrameSet { frame, outputs, counters, counter_chunks, cameras, camera_chunks }
    }

    pub fn new(device: &wgpu::Device, size: FrameSize, pixels: u64, chunks: usize) -> FrameSet {
        FrameSet {
            frame: FrameBuffers::new(device, size),
            outputs: Outputs::new(device, pixels),
            counters: buffers::counters(device, super::jobs::counters_len(chunks)),
            counter_chunks: chunks,
            cameras: buffers::uniform(device, "cameras", chunks as u64 * CAMERAS_BYTES),
            camera_chunks: chunks,
        }
    }
}
