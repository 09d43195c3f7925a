//! The run's state read back from the devices: what a checkpoint keeps and the debugging probe
//! checks.

use super::adam::Group;
use super::device::Device;
use super::error::TrainError;
use super::replicas::Exchange;
use super::strategy::densify::RefineState;
use crate::kernel::buffers;
use crate::render::RenderError;

/// The splats and Adam moments (the lead's: every device holds the same) and the statistics
/// since the strategy last used them, summed over the devices.
pub async fn download_state(devices: &[Device], exchange: &Exchange) -> Result<RefineState, TrainError> {
    let lead = &devices[0];
    let gpu = &lead.gpu;
    let splats = lead.splats.download(gpu).await?;
    let n = lead.splats.num_splats as u64;
    let coeffs = lead.splats.coeffs_per_splat();
    let mut moments: [Vec<[f32; 2]>; 5] = Default::default();
    for (i, group) in Group::ALL.iter().enumerate() {
        let floats = n * group.row_len(coeffs) as u64 * 2;
        let words = buffers::read_u32s(gpu, &lead.adam.moments[i], floats * 4).await.map_err(RenderError::from)?;
        moments[i] = words.chunks(2).map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1])]).collect();
    }
    let stats = exchange.summed_stats(devices).await?.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    Ok(RefineState { splats, moments, stats })
}
