//! What the loss reads of a step's training images: the buffer they were gathered into
//! (`GpuImages::gather`) and where each view's image lies in it. Apart from both the images and
//! the loss, so that neither imports the other.

/// A step's images in one buffer, at `offsets` (words); `copies` (from, from offset, to
/// offset, bytes) must run before the loss reads them.
pub struct GroundTruth {
    pub buffer: wgpu::Buffer,
    pub offsets: Vec<u32>,
    pub copies: Vec<(wgpu::Buffer, u64, u64, u64)>,
}

impl GroundTruth {
    /// Images already in `buffer` (the loss's views give their offsets).
    pub fn whole(buffer: wgpu::Buffer) -> Self {
        Self { buffer, offsets: Vec::new(), copies: Vec::new() }
    }
}

/// A view's ground truth as the loss reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtView {
    pub width: u32,
    pub height: u32,
    /// First word of the image in the ground-truth buffer.
    pub offset: u32,
    /// What RGBA8 ground truth is composited over (unused for RGB8).
    pub background: [f32; 3],
    /// RGB8 composited already (`ImageFormat::Rgb8Over`) instead of RGBA8.
    pub rgb8: bool,
}
