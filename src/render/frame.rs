//! The intermediate buffers of a render, named by their index space: `cam_gid` = camera * N +
//! splat id; depth rank = position in the depth-sorted order; intersection = one (tile, splat).
//! Sized for the largest chunk seen and grown, never shrunk.

use super::buffers;
use super::prefix_sum::ScanScratch;
use super::radix_sort::{SortBuffers, hist_len};

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

    /// Bytes of GPU memory these buffers take.
    pub fn bytes(&self) -> u64 {
        let c = self.cam_gids;
        let i = self.isects;
        c * 48 + c * 4 * 2 + c * 4 * 4 + hist_len(c) * 4 + i * 4 * 4 + hist_len(i) * 4 + self.tiles * 8
    }
}

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
}
