//! The parameter gradients a backward pass leaves on the GPU (`Renderer::backward`), apart
//! from the pass so that the renderer, which keeps the last ones, does not import it.

use super::RenderError;
use crate::GpuContext;
use crate::kernel::buffers;

/// Parameter gradients on the GPU, packed: means [N*3], quats [N*4], log_scales [N*3],
/// opacity logits [N], SH [N*K*3].
#[derive(Clone)]
pub struct GpuSplatGrads {
    pub buffer: wgpu::Buffer,
    pub num_splats: u32,
    pub coeffs_per_splat: u32,
}

impl GpuSplatGrads {
    pub fn floats(num_splats: u32, coeffs: u32) -> u64 {
        num_splats as u64 * (11 + 3 * coeffs as u64)
    }

    /// Reads the gradients back, split by parameter group (tests, debugging).
    pub async fn read(&self, gpu: &GpuContext) -> Result<crate::render::cpu::backward::SplatGrads, RenderError> {
        let n = self.num_splats as usize;
        let words = buffers::read_u32s(gpu, &self.buffer, Self::floats(self.num_splats, self.coeffs_per_splat) * 4).await?;
        let f: Vec<f64> = words.iter().map(|w| f32::from_bits(*w) as f64).collect();
        Ok(crate::render::cpu::backward::SplatGrads {
            means: f[..3 * n].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            quats: f[3 * n..7 * n].chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
            log_scales: f[7 * n..10 * n].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            opacity_logits: f[10 * n..11 * n].to_vec(),
            sh: f[11 * n..].to_vec(),
        })
    }
}
