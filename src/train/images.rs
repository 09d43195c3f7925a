//! Ground-truth images for training and evaluation: RGBA8 as decoded, or (training with a fixed
//! background) RGB8 composited over that background as they are uploaded, a quarter less memory.
//!
//! They live on the GPU up to a budget, packed back to back into chunks no larger than one
//! binding; images beyond the budget stay in host memory and are written into the step's own
//! buffer when a step uses them. A step's images reach the loss in one buffer: the chunk they
//! all lie in (with every image in one chunk, the usual case, nothing is copied at all), else
//! the gather buffer, filled by GPU copies from the chunks and queue writes from host memory.
//! Both are queued commands: the CPU never waits on them, and since the CPU records up to
//! `MAX_STEPS_IN_FLIGHT` steps ahead of the GPU, a streamed image's upload is issued steps
//! before the GPU reaches the loss that reads it. (wgpu has one queue, so the copy itself runs
//! in line with the step's passes: about 2.6 MB, tens of microseconds, per 800x800 view.)

pub use super::ground_truth::GroundTruth;
use super::ground_truth::GtView;
use crate::GpuContext;
use crate::kernel::buffers;

/// GPU memory the training images may take by default (the adapter cannot say how much it has;
/// browsers hold pages to less). Beyond it, images stream from host memory.
pub const DEFAULT_GPU_IMAGE_BYTES: u64 = if cfg!(target_arch = "wasm32") { 1 << 30 } else { 4 << 30 };

/// How an image's pixels are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageFormat {
    /// RGBA8 as decoded; the loss composites it over each view's background (random
    /// backgrounds and evaluation need the alpha).
    Rgba8,
    /// RGB8 already composited over this background, 3 bytes a pixel back to back, each image
    /// padded to whole words. A pixel's colour moves by at most half a step of 8 bits where its
    /// alpha is partial (the composite is rounded); opaque and clear pixels are exact.
    Rgb8Over([f32; 3]),
}

impl ImageFormat {
    /// The format training images take under `config`: composited once when every step uses
    /// the same background.
    pub fn for_training(config: &super::config::TrainConfig) -> Self {
        if config.random_background { Self::Rgba8 } else { Self::Rgb8Over(config.background) }
    }

    /// Bytes of one width x height image (whole words: the loss reads u32s).
    pub fn bytes(self, width: u32, height: u32) -> u64 {
        let pixels = width as u64 * height as u64;
        match self {
            Self::Rgba8 => pixels * 4,
            Self::Rgb8Over(_) => (pixels * 3).div_ceil(4) * 4,
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rgba8 => write!(f, "RGBA8"),
            Self::Rgb8Over(bg) => write!(f, "RGB8 composited over {bg:?}"),
        }
    }
}

/// `rgba` (RGBA8) composited over `background` as the loss composites RGBA8 (in f32, colour
/// times alpha plus background times one minus alpha), rounded to RGB8 and padded with zeros
/// to whole words.
pub fn composite_rgb8(rgba: &[u8], background: [f32; 3]) -> Vec<u8> {
    let padded = (rgba.len() / 4 * 3).div_ceil(4) * 4;
    let mut out = Vec::with_capacity(padded);
    for p in rgba.chunks_exact(4) {
        let a = p[3] as f32 / 255.0;
        for c in 0..3 {
            let v = p[c] as f32 / 255.0 * a + background[c] * (1.0 - a);
            out.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
        }
    }
    // The computed length, not the capacity: a Vec may be given more than it asked for.
    out.resize(padded, 0);
    out
}

/// Where an image lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On the GPU: chunk `chunk`, first word `offset`.
    Resident { chunk: u32, offset: u32 },
    /// In host memory, written into the gather buffer by each step that uses it.
    Streamed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageSlot {
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub place: Place,
}

impl ImageSlot {
    pub fn bytes(&self) -> u64 {
        self.format.bytes(self.width, self.height)
    }
}

/// Images that cannot be held.
#[derive(Debug, thiserror::Error)]
pub enum ImagesTooLarge {
    #[error("image {index} ({width}x{height}) needs {} MiB of GPU memory in one binding; the adapter binds at most {} MiB (lower the resolution scale, --resolution-scale)", bytes >> 20, limit >> 20)]
    Image { index: usize, width: u32, height: u32, bytes: u64, limit: u64 },
    #[error("{images} images need {} MiB of host memory beyond the {} MiB they may take on the GPU, but {} MiB are available (lower the resolution scale, --resolution-scale)", bytes >> 20, gpu_budget >> 20, available >> 20)]
    Host { images: usize, bytes: u64, gpu_budget: u64, available: u64 },
    #[error("host memory for image {index} ({} MiB) could not be allocated (lower the resolution scale, --resolution-scale)", bytes >> 20)]
    HostAllocation { index: usize, bytes: u64 },
    #[error("the {views} images of one step need {} MiB of GPU memory in one binding; the adapter binds at most {} MiB (fewer views per step, or a lower resolution scale)", bytes >> 20, limit >> 20)]
    Step { views: usize, bytes: u64, limit: u64 },
}

/// Where each image of `sizes` (in `format`) goes: into chunks of at most `chunk_limit` bytes
/// while the total stays within `gpu_budget`, else to host memory. Returns the slots and each
/// chunk's size in bytes; an image larger than a chunk is an error.
pub fn plan(
    sizes: &[(u32, u32)],
    format: ImageFormat,
    gpu_budget: u64,
    chunk_limit: u64,
) -> Result<(Vec<ImageSlot>, Vec<u64>), ImagesTooLarge> {
    // Offsets are u32 words: a chunk of up to 16 GiB.
    let chunk_limit = chunk_limit.min(u32::MAX as u64 * 4) & !3;
    let mut chunks: Vec<u64> = Vec::new();
    let mut resident = 0u64;
    let mut slots = Vec::with_capacity(sizes.len());
    for (index, &(width, height)) in sizes.iter().enumerate() {
        let bytes = format.bytes(width, height);
        if bytes > chunk_limit {
            return Err(ImagesTooLarge::Image { index, width, height, bytes, limit: chunk_limit });
        }
        let place = if resident + bytes > gpu_budget {
            Place::Streamed
        } else {
            if chunks.last().is_none_or(|&used| used + bytes > chunk_limit) {
                chunks.push(0);
            }
            let chunk = chunks.len() - 1;
            let offset = (chunks[chunk] / 4) as u32;
            chunks[chunk] += bytes;
            resident += bytes;
            Place::Resident { chunk: chunk as u32, offset }
        };
        slots.push(ImageSlot { width, height, format, place });
    }
    Ok((slots, chunks))
}

/// Host memory the streamed images may take: most of what the system has free natively (Linux
/// says; elsewhere the allocation itself is the check), 2 GiB of the page's 4 GiB address space.
pub fn host_memory_for_images() -> u64 {
    if cfg!(target_arch = "wasm32") {
        return 2 << 30;
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(u64::MAX, |kib| kib * 1024 / 10 * 8)
}

pub struct GpuImages {
    format: ImageFormat,
    chunks: Vec<wgpu::Buffer>,
    pub slots: Vec<ImageSlot>,
    /// The streamed images' pixels, once uploaded.
    host: Vec<Option<Vec<u8>>>,
    /// Which slots hold an image (a broken image leaves its slot empty and out of training).
    pub loaded: Vec<bool>,
    /// The step's images when they are not all in one chunk (grown on demand).
    gather: Option<wgpu::Buffer>,
    binding_limit: u64,
}

impl GpuImages {
    /// Room for RGBA8 images of the given sizes, all on the GPU when they fit (a 4 GiB budget
    /// natively, 1 GiB in the page).
    pub fn new(gpu: &GpuContext, sizes: &[(u32, u32)]) -> Result<Self, ImagesTooLarge> {
        Self::with_gpu_budget(gpu, sizes, ImageFormat::Rgba8, DEFAULT_GPU_IMAGE_BYTES)
    }

    /// Room for images of the given sizes in `format`, on the GPU up to `gpu_budget` bytes and
    /// beyond it in host memory; an error before any allocation when host memory cannot hold
    /// the rest.
    pub fn with_gpu_budget(gpu: &GpuContext, sizes: &[(u32, u32)], format: ImageFormat, gpu_budget: u64) -> Result<Self, ImagesTooLarge> {
        Self::with_limits(gpu, sizes, format, gpu_budget, gpu.max_binding_bytes())
    }

    /// As [`Self::with_gpu_budget`], in chunks of at most `chunk_bytes` (at most the adapter's
    /// binding size; smaller lets tests cover several chunks).
    pub fn with_limits(
        gpu: &GpuContext,
        sizes: &[(u32, u32)],
        format: ImageFormat,
        gpu_budget: u64,
        chunk_bytes: u64,
    ) -> Result<Self, ImagesTooLarge> {
        let binding_limit = gpu.max_binding_bytes();
        let (slots, chunk_bytes) = plan(sizes, format, gpu_budget, chunk_bytes.min(binding_limit))?;
        let streamed: Vec<&ImageSlot> = slots.iter().filter(|s| s.place == Place::Streamed).collect();
        let host_bytes: u64 = streamed.iter().map(|s| s.bytes()).sum();
        let available = host_memory_for_images();
        if host_bytes > available {
            return Err(ImagesTooLarge::Host { images: streamed.len(), bytes: host_bytes, gpu_budget, available });
        }
        let chunks =
            chunk_bytes.iter().enumerate().map(|(i, &bytes)| buffers::storage(&gpu.device, &format!("ground truth {i}"), bytes)).collect();
        Ok(Self { format, chunks, host: vec![None; slots.len()], loaded: vec![false; slots.len()], slots, gather: None, binding_limit })
    }

    /// How the images are kept.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Uploads image `index` (RGBA8, the slot's size) without waiting, composited first when
    /// the images are RGB8: onto the GPU, or into host memory for a streamed image.
    pub fn upload(&mut self, gpu: &GpuContext, index: usize, rgba: &[u8]) -> Result<(), ImagesTooLarge> {
        let slot = self.slots[index];
        debug_assert_eq!(rgba.len() as u64, slot.width as u64 * slot.height as u64 * 4);
        let composited;
        let pixels = match self.format {
            ImageFormat::Rgba8 => rgba,
            ImageFormat::Rgb8Over(background) => {
                composited = composite_rgb8(rgba, background);
                &composited[..]
            }
        };
        match slot.place {
            Place::Resident { chunk, offset } => gpu.queue.write_buffer(&self.chunks[chunk as usize], offset as u64 * 4, pixels),
            Place::Streamed => {
                let mut copy = Vec::new();
                copy.try_reserve_exact(pixels.len()).map_err(|_| ImagesTooLarge::HostAllocation { index, bytes: pixels.len() as u64 })?;
                copy.extend_from_slice(pixels);
                self.host[index] = Some(copy);
            }
        }
        self.loaded[index] = true;
        Ok(())
    }

    /// The images `indices` (loaded ones) in one buffer for the loss: their chunk when they
    /// share one, else the gather buffer (streamed images are written into it now, resident
    /// ones are copied by the returned `copies`).
    pub fn gather(&mut self, gpu: &GpuContext, indices: &[usize]) -> Result<GroundTruth, ImagesTooLarge> {
        let places: Vec<Place> = indices.iter().map(|&i| self.slots[i].place).collect();
        if let Some(&Place::Resident { chunk, .. }) = places.first()
            && places.iter().all(|p| matches!(p, Place::Resident { chunk: c, .. } if *c == chunk))
        {
            let offsets = places.iter().map(|p| if let Place::Resident { offset, .. } = p { *offset } else { 0 }).collect();
            return Ok(GroundTruth { buffer: self.chunks[chunk as usize].clone(), offsets, copies: Vec::new() });
        }
        let total: u64 = indices.iter().map(|&i| self.slots[i].bytes()).sum();
        if total > self.binding_limit {
            return Err(ImagesTooLarge::Step { views: indices.len(), bytes: total, limit: self.binding_limit });
        }
        if self.gather.as_ref().is_none_or(|b| b.size() < total) {
            // Room for a few more images than asked, so that a batch of larger images later
            // rarely reallocates.
            self.gather = Some(buffers::storage(
                &gpu.device,
                "ground truth of the step",
                total.max(self.gather.as_ref().map_or(0, |b| b.size()) * 2).min(self.binding_limit),
            ));
        }
        let gather = self.gather.clone().expect("allocated above");
        let mut offsets = Vec::with_capacity(indices.len());
        let mut copies = Vec::new();
        let mut at = 0u64;
        for &i in indices {
            let slot = self.slots[i];
            offsets.push((at / 4) as u32);
            match slot.place {
                Place::Resident { chunk, offset } => {
                    copies.push((self.chunks[chunk as usize].clone(), offset as u64 * 4, at, slot.bytes()))
                }
                Place::Streamed => {
                    if let Some(pixels) = &self.host[i] {
                        gpu.queue.write_buffer(&gather, at, pixels);
                    }
                }
            }
            at += slot.bytes();
        }
        Ok(GroundTruth { buffer: gather, offsets, copies })
    }

    /// Images that live on the GPU (the rest stream from host memory).
    pub fn resident_count(&self) -> usize {
        self.slots.len() - self.streamed_count()
    }

    /// Images that stream from host memory.
    pub fn streamed_count(&self) -> usize {
        self.slots.iter().filter(|s| s.place == Place::Streamed).count()
    }

    /// What the loss reads of each image of a step, at the offsets `gather` gave them, over
    /// `backgrounds` (RGBA8 images; RGB8 ones are composited already).
    pub fn loss_views(&self, indices: &[usize], truth: &GroundTruth, backgrounds: impl IntoIterator<Item = [f32; 3]>) -> Vec<GtView> {
        indices
            .iter()
            .zip(&truth.offsets)
            .zip(backgrounds)
            .map(|((&i, &offset), background)| {
                let slot = &self.slots[i];
                GtView { width: slot.width, height: slot.height, offset, background, rgb8: matches!(slot.format, ImageFormat::Rgb8Over(_)) }
            })
            .collect()
    }

    /// GPU memory held (chunks and the gather buffer).
    pub fn memory_bytes(&self) -> u64 {
        self.chunks.iter().map(|b| b.size()).sum::<u64>() + self.gather.as_ref().map_or(0, |b| b.size())
    }

    /// Host memory the streamed images hold.
    pub fn host_bytes(&self) -> u64 {
        self.host.iter().flatten().map(|h| h.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_fill_chunks_up_to_the_budget_and_the_rest_stream() {
        // 10 images of 100 bytes (5x5 pixels), chunks of 250 bytes, budget 700.
        let sizes = vec![(5, 5); 10];
        let (slots, chunks) = plan(&sizes, ImageFormat::Rgba8, 700, 250).unwrap();
        assert_eq!(chunks, vec![200, 200, 200, 100]);
        assert_eq!(slots[0].place, Place::Resident { chunk: 0, offset: 0 });
        assert_eq!(slots[1].place, Place::Resident { chunk: 0, offset: 25 });
        assert_eq!(slots[2].place, Place::Resident { chunk: 1, offset: 0 });
        assert_eq!(slots[6].place, Place::Resident { chunk: 3, offset: 0 });
        assert!(slots[7..].iter().all(|s| s.place == Place::Streamed));
        // Everything fits: one chunk.
        let (slots, chunks) = plan(&sizes, ImageFormat::Rgba8, u64::MAX, 1 << 20).unwrap();
        assert_eq!(chunks, vec![1000]);
        assert!(slots.iter().all(|s| matches!(s.place, Place::Resident { chunk: 0, .. })));
        // No GPU budget: everything streams.
        let (slots, chunks) = plan(&sizes, ImageFormat::Rgba8, 0, 1 << 20).unwrap();
        assert!(chunks.is_empty() && slots.iter().all(|s| s.place == Place::Streamed));
    }

    #[test]
    fn an_image_larger_than_a_binding_is_refused_with_its_size() {
        let err = plan(&[(5, 5), (20000, 20000)], ImageFormat::Rgba8, u64::MAX, 1 << 30).unwrap_err();
        assert!(matches!(err, ImagesTooLarge::Image { index: 1, width: 20000, .. }), "{err}");
        assert!(err.to_string().contains("--resolution-scale"), "{err}");
    }

    #[test]
    fn rgb8_images_take_three_bytes_a_pixel_in_whole_words() {
        let rgb8 = ImageFormat::Rgb8Over([1.0; 3]);
        assert_eq!(rgb8.bytes(5, 5), 76);
        assert_eq!(rgb8.bytes(800, 800), 800 * 800 * 3);
        // 10 images of 5x5: 76 bytes each in RGB8 instead of 100, offsets in words.
        let (slots, chunks) = plan(&[(5, 5); 10], rgb8, u64::MAX, 250).unwrap();
        assert_eq!(chunks, vec![228, 228, 228, 76]);
        assert_eq!(slots[1].place, Place::Resident { chunk: 0, offset: 19 });
    }

    #[test]
    fn compositing_matches_the_loss_and_rounds_partial_alpha() {
        // Opaque, clear, half transparent, and a pixel whose composite lies between two steps.
        let rgba = [10, 20, 30, 255, 200, 100, 50, 0, 255, 0, 0, 127, 3, 0, 0, 85];
        let out = composite_rgb8(&rgba, [1.0, 0.5, 0.0]);
        assert_eq!(out.len(), 12);
        assert_eq!(&out[0..3], &[10, 20, 30]);
        // Green 0.5 * 255 = 127.5 rounds up.
        assert_eq!(&out[3..6], &[255, 128, 0]);
        // Red 127/255 + 128/255 = 1; green 0.5 * 128/255 -> 64.
        assert_eq!(&out[6..9], &[255, 64, 0]);
        // Red: 3/255 * 1/3 + 2/3 = 0.67059 -> 171.0; green: 0.5 * 170/255 -> 85.
        assert_eq!(&out[9..12], &[171, 85, 0]);
        // 5 pixels: 15 bytes, padded to 16.
        assert_eq!(composite_rgb8(&[0; 20], [0.0; 3]).len(), 16);
    }
}
