//! Ground-truth images on the GPU: RGBA8, one buffer, images back to back, uploaded as they are
//! decoded (the loss composites them over the step's background).

use crate::GpuContext;
use crate::kernel::buffers;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSlot {
    /// First pixel in the buffer.
    pub offset: u32,
    pub width: u32,
    pub height: u32,
}

/// Images that do not fit the device.
#[derive(Debug, thiserror::Error)]
#[error("{images} images of {pixels} pixels in all need {} MiB of GPU memory; the adapter binds at most {} MiB (lower the resolution scale)", bytes >> 20, limit >> 20)]
pub struct ImagesTooLarge {
    pub images: usize,
    pub pixels: u64,
    pub bytes: u64,
    pub limit: u64,
}

pub struct GpuImages {
    pub buffer: wgpu::Buffer,
    pub slots: Vec<ImageSlot>,
    /// Which slots hold an image (a broken image leaves its slot empty and out of training).
    pub loaded: Vec<bool>,
}

impl GpuImages {
    /// Room for images of the given sizes; an error before any allocation when they do not fit
    /// in one buffer the adapter can bind.
    pub fn new(gpu: &GpuContext, sizes: &[(u32, u32)]) -> Result<Self, ImagesTooLarge> {
        let pixels: u64 = sizes.iter().map(|&(w, h)| w as u64 * h as u64).sum();
        let limit = gpu.max_binding_bytes();
        if pixels * 4 > limit || pixels > u32::MAX as u64 {
            return Err(ImagesTooLarge { images: sizes.len(), pixels, bytes: pixels * 4, limit });
        }
        let mut offset = 0u64;
        let slots = sizes
            .iter()
            .map(|&(width, height)| {
                let slot = ImageSlot { offset: offset as u32, width, height };
                offset += width as u64 * height as u64;
                slot
            })
            .collect();
        Ok(Self { buffer: buffers::storage(&gpu.device, "ground truth", offset * 4), slots, loaded: vec![false; sizes.len()] })
    }

    /// Uploads image `index` (RGBA8, the slot's size) without waiting.
    pub fn upload(&mut self, gpu: &GpuContext, index: usize, rgba: &[u8]) {
        let slot = self.slots[index];
        debug_assert_eq!(rgba.len() as u64, slot.width as u64 * slot.height as u64 * 4);
        gpu.queue.write_buffer(&self.buffer, slot.offset as u64 * 4, rgba);
        self.loaded[index] = true;
    }

    pub fn memory_bytes(&self) -> u64 {
        self.buffer.size()
    }
}
