//! Splats on the GPU: one storage buffer per parameter group, in the layout of `Splats`.

use super::RenderError;
use crate::kernel::buffers;
use crate::{GpuContext, Splats};

pub struct GpuSplats {
    pub means: wgpu::Buffer,
    pub quats: wgpu::Buffer,
    pub log_scales: wgpu::Buffer,
    pub opacity_logits: wgpu::Buffer,
    pub sh: wgpu::Buffer,
    pub num_splats: u32,
    /// Splats the buffers have room for (density control grows them with headroom).
    pub capacity: u32,
    /// Degree the SH buffer is laid out for (its stride).
    pub sh_degree: u32,
    /// Degree rendered (training raises it step by step up to `sh_degree`).
    pub active_sh_degree: u32,
}

impl GpuSplats {
    /// Whether `count` splats of SH degree `sh_degree` fit an adapter that binds at most `limit`
    /// bytes: the SH buffer and one camera's projections (48 bytes a splat) must each fit one
    /// binding. `upload` checks decoded splats with it; the CLI checks a file's header with it
    /// before decoding, so that a scene too large costs no memory.
    pub fn check_fits(count: u64, sh_degree: u32, limit: u64) -> Result<(), RenderError> {
        let sh_bytes = count.saturating_mul(crate::scene::sh_coeffs_for_degree(sh_degree) as u64 * 3 * 4);
        let per_camera_bytes = count.saturating_mul(48);
        if sh_bytes <= limit && per_camera_bytes <= limit && count <= u64::from(u32::MAX) / 64 {
            return Ok(());
        }
        Err(RenderError::TooLarge(format!(
            "{count} splats of SH degree {sh_degree} need {} MiB of SH and {} MiB of projections per camera; the adapter binds at most {} MiB",
            sh_bytes >> 20,
            per_camera_bytes >> 20,
            limit >> 20
        )))
    }

    /// Validates the splats and uploads them; errors when a buffer would exceed the adapter's limits.
    pub fn upload(gpu: &GpuContext, splats: &Splats) -> Result<Self, RenderError> {
        splats.validate()?;
        if splats.is_empty() {
            return Err(RenderError::EmptyScene);
        }
        Self::check_fits(splats.len() as u64, splats.sh_degree, gpu.max_binding_bytes())?;
        let device = &gpu.device;
        let quats: Vec<f32> = splats.rotations.iter().flatten().copied().collect();
        Ok(Self {
            means: buffers::storage_init(device, "means", &splats.means.concat()),
            quats: buffers::storage_init(device, "quats", &quats),
            log_scales: buffers::storage_init(device, "log_scales", &splats.log_scales.concat()),
            opacity_logits: buffers::storage_init(device, "opacity_logits", &splats.opacity_logits),
            sh: buffers::storage_init(device, "sh", &splats.sh),
            num_splats: splats.len() as u32,
            capacity: splats.len() as u32,
            sh_degree: splats.sh_degree,
            active_sh_degree: splats.sh_degree,
        })
    }

    pub fn coeffs_per_splat(&self) -> u32 {
        (self.sh_degree + 1) * (self.sh_degree + 1)
    }

    /// The five parameter buffers bound from `first` on (means, quats, log-scales, opacity
    /// logits, SH), as project.wgsl and project_backward.wgsl declare them.
    pub fn bindings_from(&self, first: u32) -> Vec<(u32, crate::kernel::recorder::Binding)> {
        [&self.means, &self.quats, &self.log_scales, &self.opacity_logits, &self.sh]
            .into_iter()
            .zip(first..)
            .map(|(b, at)| (at, crate::kernel::recorder::Binding::of(b)))
            .collect()
    }

    /// Bytes the splat buffers take on the GPU.
    pub fn memory_bytes(&self) -> u64 {
        [&self.means, &self.quats, &self.log_scales, &self.opacity_logits, &self.sh].iter().map(|b| b.size()).sum()
    }
}

impl GpuSplats {
    /// Reads the splats back (density control, export, checkpoints).
    pub async fn download(&self, gpu: &GpuContext) -> Result<Splats, RenderError> {
        let n = self.num_splats as u64;
        let read = |buffer: &wgpu::Buffer, floats: u64| {
            let buffer = buffer.clone();
            async move { buffers::read_u32s(gpu, &buffer, floats * 4).await.map(|w| w.into_iter().map(f32::from_bits).collect::<Vec<f32>>()) }
        };
        let means = read(&self.means, n * 3).await?;
        let quats = read(&self.quats, n * 4).await?;
        let scales = read(&self.log_scales, n * 3).await?;
        let opacity_logits = read(&self.opacity_logits, n).await?;
        let sh = read(&self.sh, n * 3 * self.coeffs_per_splat() as u64).await?;
        Ok(Splats {
            means: means.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            rotations: quats.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
            log_scales: scales.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            opacity_logits,
            sh,
            sh_degree: self.sh_degree,
        })
    }
}
