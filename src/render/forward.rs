//! What a render returns: the images on the GPU and, for the backward pass, everything the
//! render wrote (its `FrameSet`) and how it was recorded (the chunks). Nothing about a render is
//! kept in the renderer: the backward pass takes the `Forward` (as gsplat's stages hand their
//! intermediates on), and dropping it gives the buffers back to the renderer's pool for the next
//! render.

use std::sync::{Arc, Mutex};

use super::frame::FrameSet;
use super::params::RenderParams;

/// Images left on the GPU: `rgba` is `array<vec4<f32>>` (rgb with the background composited,
/// alpha), `depth` is `array<f32>` (sum of z times blend weight), all images back to back.
pub struct RenderTarget {
    pub rgba: wgpu::Buffer,
    pub depth: wgpu::Buffer,
    pub layouts: Vec<ImageLayout>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    pub width: u32,
    pub height: u32,
    /// First pixel of this image in the output buffers.
    pub pixel_offset: u32,
}

/// One chunk of a batch as it was recorded: which cameras, its tile grid, its parameters and
/// where its sorted intersections ended up.
#[derive(Debug, Clone, Copy)]
pub struct RecordedChunk {
    pub first: usize,
    pub count: usize,
    pub tiles: u32,
    pub max_tiles: [u32; 2],
    pub params: RenderParams,
    /// Which of the intersection sort's buffer pairs holds the sorted intersections.
    pub isect_out: usize,
}

/// The buffers a renderer lends to its renders, one set at a time.
pub(crate) type FramePool = Arc<Mutex<Option<FrameSet>>>;

/// A submitted (or recorded) render: see the module docs.
pub struct Forward {
    pub target: RenderTarget,
    pub(crate) set: Option<FrameSet>,
    pub(crate) chunks: Vec<RecordedChunk>,
    pub(crate) num_splats: u32,
    pub(crate) pool: FramePool,
}

impl Forward {
    /// Chunks the batch was split into (each fits the adapter's binding limits).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    pub fn num_splats(&self) -> u32 {
        self.num_splats
    }

    pub(crate) fn set(&self) -> &FrameSet {
        self.set.as_ref().expect("a forward holds its buffers until dropped")
    }

    /// The render's status words (`render::STATUS_BYTES` from offset 0): word 0 is the largest
    /// intersection count a chunk needed; more than the renderer's capacity means the images
    /// are incomplete (see `Renderer::grow_if_overflowed`).
    pub fn status_buffer(&self) -> &wgpu::Buffer {
        &self.set().counters
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let Some(set) = self.set.take() else { return };
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the larger set when two renders were alive at once.
        if pool.as_ref().is_none_or(|kept| kept.memory_bytes() < set.memory_bytes()) {
            *pool = Some(set);
        }
    }
}
