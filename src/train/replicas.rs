//! Data-parallel training over several devices of one machine (`wgsplat train --gpus N`): every
//! device holds a replica of the whole training state (splats, Adam moments, density
//! statistics, the training images) and renders and backpropagates its share of each step's
//! views; the gradients are summed across devices (`kernel::all_reduce`, through the host) and
//! every replica takes the same Adam step from the same sum. Density control sums the
//! statistics once a round (they only add up between rounds) and runs on every device from the
//! same inputs. The coordinator (`trainer`) draws every random number and decides the
//! schedule for all of them. With one device there is nothing to exchange: every method here is
//! then a no-op, so that one device runs the code N devices run.
//!
//! Replicas are checked every step: each device hashes its parameters (replica_checksum.wgsl)
//! before the exchange and the hashes travel with the gradients; a difference stops training
//! (`TrainError::ReplicasDiverged`).

use std::ops::Range;

use bytemuck::{Pod, Zeroable};

use super::device::{Device, STATS_PER_SPLAT};
use super::error::TrainError;
use crate::GpuContext;
use crate::kernel::all_reduce::{AllReduce, Member};
use crate::kernel::buffers;
use crate::kernel::jobs::dispatch_2d;
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::shader::compute_pipeline;
use crate::kernel::submit;
use crate::render::backward::GpuSplatGrads;
use crate::render::{GpuSplats, RenderError};

/// What the gradient exchange has cost so far (`eval.json`'s `data_parallel`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ExchangeReport {
    /// Devices training together (the lead's included).
    pub devices: usize,
    /// Steps whose gradients were summed.
    pub steps: u64,
    /// Bytes of gradients each device sent at the last step (as many came from every other).
    pub bytes_per_step: u64,
    /// Host milliseconds waiting for the devices' backward passes and downloads, in all.
    pub wait_ms: f64,
    /// Host milliseconds writing every device's gradients to the others and submitting the sums,
    /// in all.
    pub host_ms: f64,
}

/// Mirrors `ChecksumParams` in replica_checksum.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ChecksumParams {
    count: u32,
    slot: u32,
    _pad: [u32; 2],
}

/// Words of a replica checksum: two sums for each of the five parameter groups.
pub const CHECKSUM_WORDS: u64 = 10;

/// A device's checksum of its parameters (replica_checksum.wgsl).
struct ReplicaChecksum {
    pipeline: wgpu::ComputePipeline,
    sums: wgpu::Buffer,
    uniforms: Uniforms,
}

impl ReplicaChecksum {
    fn new(gpu: &GpuContext) -> Self {
        Self {
            pipeline: compute_pipeline(&gpu.device, crate::shaders::train::REPLICA_CHECKSUM, &[], "main"),
            sums: buffers::storage(&gpu.device, "replica checksum", CHECKSUM_WORDS * 4),
            uniforms: Uniforms::default(),
        }
    }

    /// Submits the checksum of `splats`' parameters into `self.sums`.
    fn submit(&mut self, gpu: &GpuContext, splats: &GpuSplats) {
        let mut rec = Recorder::new();
        rec.clear(&self.sums);
        rec.stage("replica checksum");
        let n = splats.num_splats;
        let groups = [
            (&splats.means, 3),
            (&splats.quats, 4),
            (&splats.log_scales, 3),
            (&splats.opacity_logits, 1),
            (&splats.sh, 3 * splats.coeffs_per_splat()),
        ];
        for (slot, (buffer, row)) in groups.into_iter().enumerate() {
            let count = n * row;
            let params = ChecksumParams { count, slot: slot as u32, _pad: [0; 2] };
            rec.dispatch(
                "replica_checksum",
                &self.pipeline,
                &params,
                vec![(0, Binding::Params), (1, Binding::of(buffer)), (2, Binding::of(&self.sums))],
                Workgroups::Direct(dispatch_2d(count.div_ceil(256))),
            );
        }
        submit::submit(gpu, "replica checksum", rec, &mut self.uniforms, |_| {});
    }
}

/// What the devices of a run exchange through: the gradient all-reduce and each device's
/// parameter checksum (none with one device).
pub struct Exchange {
    all_reduce: Option<AllReduce>,
    /// One per device, the lead's first (none with one device).
    checksums: Vec<ReplicaChecksum>,
    report: ExchangeReport,
}

impl Exchange {
    /// The exchange between the devices of `gpus`, in device order.
    pub fn new(gpus: &[&GpuContext]) -> Self {
        let replicated = gpus.len() > 1;
        Self {
            all_reduce: replicated.then(|| AllReduce::new(gpus)),
            checksums: if replicated { gpus.iter().map(|gpu| ReplicaChecksum::new(gpu)).collect() } else { Vec::new() },
            report: ExchangeReport { devices: gpus.len(), ..Default::default() },
        }
    }

    /// What the exchange has cost, with several devices.
    pub fn report(&self) -> Option<ExchangeReport> {
        self.all_reduce.is_some().then(|| self.report.clone())
    }

    /// GPU memory the exchange takes on the lead's device.
    pub fn lead_memory_bytes(&self) -> u64 {
        self.all_reduce.as_ref().map_or(0, |a| a.memory_bytes(0)) + self.checksums.first().map_or(0, |c| c.sums.size())
    }

    /// Lets go of the exchange's kept bind groups (they hold the gradient and splat buffers):
    /// before density control replaces those.
    pub fn forget_bind_groups(&mut self) {
        if let Some(all_reduce) = &mut self.all_reduce {
            all_reduce.forget_bind_groups();
        }
        for checksum in &mut self.checksums {
            checksum.uniforms.forget_bind_groups();
        }
    }

    /// Sums the gradients of step `step` across `devices` (`grads` in device order), leaving the
    /// sum in every device's gradients, after checking that every replica rendered the same
    /// parameters.
    pub async fn sum_gradients(&mut self, devices: &[Device], grads: &[GpuSplatGrads], step: u32) -> Result<(), TrainError> {
        let Some(all_reduce) = self.all_reduce.as_mut() else { return Ok(()) };
        for (device, checksum) in devices.iter().zip(&mut self.checksums) {
            checksum.submit(&device.gpu, &device.splats);
        }
        let bytes = GpuSplatGrads::floats(grads[0].num_splats, grads[0].coeffs_per_splat) * 4;
        let members: Vec<Member> = devices
            .iter()
            .zip(grads)
            .zip(&self.checksums)
            .map(|((device, grads), checksum)| Member { gpu: &device.gpu, buffer: &grads.buffer, tail: Some(&checksum.sums) })
            .collect();
        let (tails, timing) = all_reduce.sum(&members, bytes, CHECKSUM_WORDS * 4).await.map_err(RenderError::from)?;
        if let Some(rank) = tails.iter().position(|t| *t != tails[0]) {
            return Err(TrainError::ReplicasDiverged {
                step,
                detail: format!(
                    "device {rank} holds other parameters than device 0 (checksums {} and {})",
                    hex(&tails[rank]),
                    hex(&tails[0])
                ),
            });
        }
        self.report.steps += 1;
        self.report.bytes_per_step = bytes;
        self.report.wait_ms += timing.wait_us / 1e3;
        self.report.host_ms += timing.host_us / 1e3;
        Ok(())
    }

    /// The statistics of every device since they were last used, read back and added up
    /// (`combine_stats`; with one device, its own).
    pub async fn summed_stats(&self, devices: &[Device]) -> Result<Vec<f32>, TrainError> {
        let bytes = devices[0].splats.num_splats as u64 * STATS_PER_SPLAT * 4;
        let mut summed: Option<Vec<f32>> = None;
        for device in devices {
            let words = buffers::read_u32s(&device.gpu, &device.stats, bytes).await.map_err(RenderError::from)?;
            let theirs = words.into_iter().map(f32::from_bits);
            match summed.as_mut() {
                None => summed = Some(theirs.collect()),
                Some(sum) => combine_stats(sum, theirs),
            }
        }
        Ok(summed.unwrap_or_default())
    }

    /// Leaves the statistics summed over every device in every device's, so that each runs a
    /// round of density control from the same inputs (with one device, nothing to do: they are
    /// its own).
    pub async fn share_stats(&mut self, devices: &[Device]) -> Result<(), TrainError> {
        if self.all_reduce.is_none() {
            return Ok(());
        }
        let summed = self.summed_stats(devices).await?;
        for device in devices {
            device.gpu.queue.write_buffer(&device.stats, 0, bytemuck::cast_slice(&summed));
        }
        // The round may replace the buffers the exchange's kept bind groups hold.
        self.forget_bind_groups();
        Ok(())
    }
}

/// Adds one device's density statistics into `into` (densify_stats.wgsl's layout: gradient
/// sum and times seen add up, the largest radius is the largest of all, the fourth is unused).
pub fn combine_stats(into: &mut [f32], other: impl IntoIterator<Item = f32>) {
    for (i, (mine, theirs)) in into.iter_mut().zip(other).enumerate() {
        *mine = match i % 4 {
            0 | 1 => *mine + theirs,
            2 => mine.max(theirs),
            _ => *mine,
        };
    }
}

/// The views of a step of `batch` views each of `devices` devices renders: contiguous, in
/// device order, sizes at most one apart (the first devices take fewer).
pub fn shares(batch: usize, devices: usize) -> Vec<Range<usize>> {
    let devices = devices.max(1);
    (0..devices).map(|d| d * batch / devices..(d + 1) * batch / devices).collect()
}

/// The most views one device renders in a step of `batch` views (the largest of [`shares`]).
pub fn most_views_per_device(batch: u32, devices: usize) -> usize {
    (batch.max(1) as usize).div_ceil(devices.max(1))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_batch_in_order() {
        assert_eq!(shares(4, 2), [0..2, 2..4]);
        assert_eq!(shares(3, 2), [0..1, 1..3]);
        assert_eq!(shares(5, 3), [0..1, 1..3, 3..5]);
        assert_eq!(shares(1, 1)[0], 0..1);
        for batch in 1..20 {
            for devices in 1..=batch {
                let s = shares(batch, devices);
                assert_eq!(s.len(), devices);
                assert_eq!(s[0].start, 0);
                assert_eq!(s[devices - 1].end, batch);
                assert!(s.windows(2).all(|w| w[0].end == w[1].start));
                assert!(s.iter().all(|r| r.len() == batch / devices || r.len() == batch.div_ceil(devices)));
            }
        }
    }

    #[test]
    fn statistics_add_their_sums_and_keep_the_largest_radius() {
        let mut a = vec![1.0, 2.0, 5.0, 0.0, 0.5, 1.0, 1.0, 0.0];
        combine_stats(&mut a, [2.0, 1.0, 3.0, 9.0, 0.25, 0.0, 4.0, 9.0]);
        assert_eq!(a, [3.0, 3.0, 5.0, 0.0, 0.75, 1.0, 4.0, 0.0]);
    }
}
