//! Splats on the GPU: one storage buffer per parameter group, in the layout of `Splats`.

use super::{RenderError, buffers};
use crate::{GpuContext, Splats};

pub struct GpuSplats {
    pub means: wgpu::Buffer,
    pub quats: wgpu::Buffer,
    pub log_scales: wgpu::Buffer,
    pub opacity_logits: wgpu::Buffer,
    pub sh: wgpu::Buffer,
    pub num_splats: u32,
    pub sh_degree: u32,
}

impl GpuSplats {
    /// Validates the splats and uploads them; errors when a buffer would exceed the adapter's limits.
    pub fn upload(gpu: &GpuContext, splats: &Splats) -> Result<Self, RenderError> {
        splats.validate()?;
        if splats.is_empty() {
            return Err(RenderError::EmptyScene);
        }
        let sh_bytes = (splats.sh.len() * 4) as u64;
        // The renderer needs at least 48 bytes per splat for one camera's projections.
        let per_camera_bytes = splats.len() as u64 * 48;
        let limit = gpu.max_binding_bytes();
        if sh_bytes > limit || per_camera_bytes > limit || splats.len() as u64 > u32::MAX as u64 / 64 {
            return Err(RenderError::TooLarge(format!(
                "{} splats need {} MiB of SH and {} MiB of projections per camera; the adapter binds at most {} MiB",
                splats.len(),
                sh_bytes >> 20,
                per_camera_bytes >> 20,
                limit >> 20
            )));
        }
        let device = &gpu.device;
        let quats: Vec<f32> = splats.rotations.iter().flatten().copied().collect();
        Ok(Self {
            means: buffers::storage_init(device, "means", &splats.means.concat()),
            quats: buffers::storage_init(device, "quats", &quats),
            log_scales: buffers::storage_init(device, "log_scales", &splats.log_scales.concat()),
            opacity_logits: buffers::storage_init(device, "opacity_logits", &splats.opacity_logits),
            sh: buffers::storage_init(device, "sh", &splats.sh),
            num_splats: splats.len() as u32,
            sh_degree: splats.sh_degree,
        })
    }

    pub fn coeffs_per_splat(&self) -> u32 {
        (self.sh_degree + 1) * (self.sh_degree + 1)
    }
}
