//! Data-parallel training over several devices of one machine (`wgsplat train --gpus N`): every
//! device holds a replica of the whole training state (splats, Adam moments, density
//! statistics, the training images) and renders and backpropagates its share of each step's
//! views; the gradients are summed across devices (`kernel::all_reduce`, through the host) and
//! every replica takes the same Adam step from the same sum. Density control sums the
//! statistics once a round (they only add up between rounds) and runs on every device from the
//! same inputs. The lead trainer draws every random number and decides the schedule; the peers
//! follow it.
//!
//! Replicas are checked every step: each device hashes its parameters (replica_checksum.wgsl)
//! before the exchange and the hashes travel with the gradients; a difference stops training
//! (`TrainError::ReplicasDiverged`).

use std::ops::Range;

use bytemuck::{Pod, Zeroable};

use super::trainer::{TrainError, Trainer};
use crate::GpuContext;
use crate::kernel::all_reduce::{AllReduce, Member};
use crate::kernel::buffers;
use crate::kernel::jobs::dispatch_2d;
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::shader::compute_pipeline;
use crate::kernel::submit;
use crate::render::GpuSplats;
use crate::render::backward::GpuSplatGrads;

/// A replica on another device, following the lead trainer.
pub struct Peer {
    pub gpu: GpuContext,
    pub trainer: Trainer,
}

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

/// The peers of a lead trainer and what they exchange through.
pub(super) struct Replicas {
    pub peers: Vec<Peer>,
    all_reduce: AllReduce,
    /// One per device, the lead's first.
    checksums: Vec<ReplicaChecksum>,
    pub report: ExchangeReport,
}

impl Replicas {
    pub fn new(lead: &GpuContext, peers: Vec<Peer>) -> Self {
        let gpus: Vec<&GpuContext> = std::iter::once(lead).chain(peers.iter().map(|p| &p.gpu)).collect();
        let all_reduce = AllReduce::new(&gpus);
        let checksums = gpus.iter().map(|gpu| ReplicaChecksum::new(gpu)).collect();
        Self { report: ExchangeReport { devices: gpus.len(), ..Default::default() }, peers, all_reduce, checksums }
    }

    pub fn devices(&self) -> usize {
        1 + self.peers.len()
    }

    /// GPU memory the exchange takes on the lead's device.
    pub fn lead_memory_bytes(&self) -> u64 {
        self.all_reduce.memory_bytes(0) + self.checksums[0].sums.size()
    }

    /// Lets go of the exchange's kept bind groups (they hold the gradient and splat buffers):
    /// before density control replaces those.
    pub fn forget_bind_groups(&mut self) {
        self.all_reduce.forget_bind_groups();
        for checksum in &mut self.checksums {
            checksum.uniforms.forget_bind_groups();
        }
    }

    /// Sums the gradients of step `step` across devices (`lead_grads` on the lead, `peer_grads`
    /// in the peers' order), leaving the sum in every device's gradients, after checking that
    /// every replica rendered the same parameters.
    pub async fn exchange(
        &mut self,
        lead: &GpuContext,
        lead_splats: &GpuSplats,
        lead_grads: &GpuSplatGrads,
        peer_grads: &[GpuSplatGrads],
        step: u32,
    ) -> Result<(), TrainError> {
        self.checksums[0].submit(lead, lead_splats);
        for (peer, checksum) in self.peers.iter().zip(&mut self.checksums[1..]) {
            checksum.submit(&peer.gpu, &peer.trainer.splats);
        }
        let bytes = GpuSplatGrads::floats(lead_grads.num_splats, lead_grads.coeffs_per_splat) * 4;
        let mut members = vec![Member { gpu: lead, buffer: &lead_grads.buffer, tail: Some(&self.checksums[0].sums) }];
        for ((peer, grads), checksum) in self.peers.iter().zip(peer_grads).zip(&self.checksums[1..]) {
            members.push(Member { gpu: &peer.gpu, buffer: &grads.buffer, tail: Some(&checksum.sums) });
        }
        let (tails, timing) = self.all_reduce.sum(&members, bytes, CHECKSUM_WORDS * 4).await.map_err(crate::render::RenderError::from)?;
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

    /// Writes the density statistics summed over every device (`Trainer::summed_stats`) into
    /// every device's `stats`, so that each runs the round from the same inputs.
    pub fn write_stats(&self, lead: &GpuContext, lead_stats: &wgpu::Buffer, summed: &[f32]) {
        lead.queue.write_buffer(lead_stats, 0, bytemuck::cast_slice(summed));
        for peer in &self.peers {
            peer.gpu.queue.write_buffer(&peer.trainer.stats, 0, bytemuck::cast_slice(summed));
        }
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
