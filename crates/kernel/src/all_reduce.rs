//! The sum of a buffer across several devices, left in every device's buffer: data-parallel
//! training's gradient exchange.
//!
//! wgpu devices share no memory and wgpu has no copy between devices (nor has burn-wgpu: burn
//! 0.22.1's `all_reduce` needs a device transport that only CUDA with NCCL provides, see
//! BENCHMARKS.md), so the values travel through the host: each device copies its buffer into a
//! staging buffer the host maps, the host writes every other device's values into each
//! device's `peers` buffer (the copies cut into pieces written by threads of their own),
//! and each device adds the terms in device order (all_reduce_sum.wgsl), so that every device
//! gets the same bits. A small `tail` buffer per device rides along with the download (the
//! replicas' checksums) and comes back to the caller.
//!
//! One sync point a call: the host waits for every device's work before the copy lands.

use bytemuck::{Pod, Zeroable};

use super::clock::now_us;
use super::jobs::dispatch_2d;
use super::recorder::{Binding, Recorder, Uniforms, Workgroups};
use super::shader::compute_pipeline;
use super::{GpuContext, GpuError, buffers, submit};

/// Mirrors `SumParams` in all_reduce_sum.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct SumParams {
    count: u32,
    rank: u32,
    devices: u32,
    _pad: u32,
}

/// One device's part in a sum: its context, the buffer summed in place and the tail that rides
/// along with its download.
pub struct Member<'a> {
    pub gpu: &'a GpuContext,
    pub buffer: &'a wgpu::Buffer,
    pub tail: Option<&'a wgpu::Buffer>,
}

/// How long a sum took on the host: waiting for the devices' work and the download
/// (`wait_us`), then the writes to the other devices and the submission of the sums
/// (`host_us`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SumTiming {
    pub wait_us: f64,
    pub host_us: f64,
}

/// What one device keeps between sums.
struct DeviceSlot {
    pipeline: wgpu::ComputePipeline,
    staging: Option<wgpu::Buffer>,
    peers: Option<wgpu::Buffer>,
    uniforms: Uniforms,
}

pub struct AllReduce {
    slots: Vec<DeviceSlot>,
}

impl AllReduce {
    /// For the devices of `gpus`, in rank order (the order `sum` takes its members in).
    pub fn new(gpus: &[&GpuContext]) -> Self {
        let slots = gpus
            .iter()
            .map(|gpu| DeviceSlot {
                pipeline: compute_pipeline(&gpu.device, crate::shaders::ALL_REDUCE_SUM, &[], "main"),
                staging: None,
                peers: None,
                uniforms: Uniforms::default(),
            })
            .collect();
        Self { slots }
    }

    pub fn devices(&self) -> usize {
        self.slots.len()
    }

    /// GPU memory of device `rank`'s peer buffer (its staging buffer is mapped host memory).
    pub fn memory_bytes(&self, rank: usize) -> u64 {
        self.slots.get(rank).map_or(0, |s| s.peers.as_ref().map_or(0, |b| b.size()))
    }

    /// Lets go of the kept bind groups (they hold the summed buffers): before those are
    /// replaced.
    pub fn forget_bind_groups(&mut self) {
        for slot in &mut self.slots {
            slot.uniforms.forget_bind_groups();
        }
    }

    /// Replaces the first `bytes` of every member's buffer by their sum over the members (the
    /// sums are submitted, not waited for) and returns each member's tail (`tail_bytes` of it,
    /// empty without one) with the time the host spent. `members` come in rank order.
    pub async fn sum(&mut self, members: &[Member<'_>], bytes: u64, tail_bytes: u64) -> Result<(Vec<Vec<u8>>, SumTiming), GpuError> {
        if members.len() != self.slots.len() {
            return Err(GpuError::AllReduce(format!("{} members for an all-reduce over {} devices", members.len(), self.slots.len())));
        }
        let devices = members.len();
        let bytes = bytes.next_multiple_of(4);
        let tail_bytes = tail_bytes.next_multiple_of(4);
        let peer_bytes = bytes * (devices as u64 - 1);
        for m in members {
            let limit = m.gpu.max_binding_bytes();
            if peer_bytes > limit || bytes / 4 > u32::MAX as u64 {
                return Err(GpuError::AllReduce(format!(
                    "the other {} devices' {} MiB each need {} MiB on every device; a binding holds at most {} MiB (fewer devices, or a splat budget)",
                    devices - 1,
                    bytes >> 20,
                    peer_bytes >> 20,
                    limit >> 20
                )));
            }
        }
        let start = now_us();
        // Every device's download first, so that they run together.
        let mut mapped = Vec::with_capacity(devices);
        for (slot, m) in self.slots.iter_mut().zip(members) {
            let staging =
                grown(&mut slot.staging, || buffers::readback(&m.gpu.device, "all-reduce staging", bytes + tail_bytes), bytes + tail_bytes);
            grown(&mut slot.peers, || buffers::storage(&m.gpu.device, "all-reduce peers", peer_bytes), peer_bytes);
            let mut encoder = m.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("all-reduce download") });
            encoder.copy_buffer_to_buffer(m.buffer, 0, &staging, 0, bytes);
            if let Some(tail) = m.tail.filter(|_| tail_bytes > 0) {
                encoder.copy_buffer_to_buffer(tail, 0, &staging, bytes, tail_bytes);
            }
            m.gpu.queue.submit([encoder.finish()]);
            let (sender, receiver) = futures_channel::oneshot::channel();
            staging.slice(..bytes + tail_bytes).map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
            mapped.push((staging, receiver));
        }
        if let Err(e) = wait_mapped(members, &mut mapped).await {
            // Mapped or not, every staging buffer is free for the next sum.
            for (staging, _) in &mapped {
                staging.unmap();
            }
            return Err(e);
        }
        let waited = now_us();
        let result = (|| {
            let views = mapped
                .iter()
                .map(|(staging, _)| staging.slice(..bytes + tail_bytes).get_mapped_range().map_err(|e| GpuError::Readback(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            let values: Vec<&[u8]> = views.iter().map(|v| &v[..bytes as usize]).collect();
            let tails = views.iter().map(|v| v[bytes as usize..].to_vec()).collect();
            let targets: Vec<(&wgpu::Queue, &wgpu::Buffer)> =
                members.iter().zip(&self.slots).map(|(m, s)| (&m.gpu.queue, s.peers.as_ref().expect("sized above"))).collect();
            write_peers(&targets, &values, bytes)?;
            Ok::<_, GpuError>(tails)
        })();
        for (staging, _) in &mapped {
            staging.unmap();
        }
        let tails = result?;
        let count = (bytes / 4) as u32;
        for (rank, (slot, m)) in self.slots.iter_mut().zip(members).enumerate() {
            let mut rec = Recorder::new();
            rec.stage("all-reduce sum");
            let params = SumParams { count, rank: rank as u32, devices: devices as u32, _pad: 0 };
            let peers = slot.peers.as_ref().expect("sized above");
            rec.dispatch(
                "all_reduce_sum",
                &slot.pipeline,
                &params,
                vec![
                    (0, Binding::Params),
                    (1, Binding::Range { buffer: m.buffer.clone(), offset: 0, size: bytes }),
                    (2, Binding::of(peers)),
                ],
                Workgroups::Direct(dispatch_2d(count.div_ceil(256))),
            );
            submit::submit(m.gpu, "all-reduce", rec, &mut slot.uniforms, |_| {});
        }
        let done = now_us();
        let timing = SumTiming { wait_us: waited - start, host_us: done - waited };
        Ok((tails, timing))
    }
}

/// Waits until every member's staging buffer is mapped (natively polling each device; in the
/// browser yielding until the callbacks run).
async fn wait_mapped(members: &[Member<'_>], mapped: &mut [(wgpu::Buffer, MapReceiver)]) -> Result<(), GpuError> {
    for (m, (_, receiver)) in members.iter().zip(mapped) {
        #[cfg(not(target_arch = "wasm32"))]
        m.gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        #[cfg(target_arch = "wasm32")]
        let _ = m;
        receiver
            .await
            .map_err(|_| GpuError::Readback("the map callback was dropped".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
    }
    Ok(())
}

/// Where a staging buffer's map callback reports.
type MapReceiver = futures_channel::oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>;

/// `slot` holding a buffer of at least `bytes` (made anew by `make` when it is smaller).
fn grown(slot: &mut Option<wgpu::Buffer>, make: impl FnOnce() -> wgpu::Buffer, bytes: u64) -> wgpu::Buffer {
    if slot.as_ref().is_none_or(|b| b.size() < bytes) {
        *slot = Some(make());
    }
    slot.clone().expect("made above")
}

/// Writes every device's values into every other device's peer buffer, in device order with
/// the device's own slot left out (as all_reduce_sum.wgsl reads them). The copies into wgpu's
/// staging memory are the cost: natively they are cut into pieces, each written into a staging
/// view of its own (`write_buffer_with`) by a thread of its own, about one a core in all and at
/// least one a pair of devices (`write_buffer` copies under the queue's lock, one at a time).
fn write_peers(targets: &[(&wgpu::Queue, &wgpu::Buffer)], values: &[&[u8]], bytes: u64) -> Result<(), GpuError> {
    let pairs = targets.len() * (targets.len() - 1);
    let destinations = || {
        targets.iter().enumerate().flat_map(move |(rank, &(queue, peers))| {
            values.iter().enumerate().filter(move |(k, _)| *k != rank).map(move |(k, v)| {
                let slot = if k > rank { k - 1 } else { k } as u64;
                (queue, peers, slot * bytes, *v)
            })
        })
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = std::thread::available_parallelism().map_or(4, |n| n.get()) as u64;
        // At least 1 MiB a piece: below that a thread costs more than its copy.
        let piece = (bytes * pairs as u64).div_ceil(threads).max(1 << 20).next_multiple_of(4);
        std::thread::scope(|scope| {
            for (queue, peers, offset, v) in destinations() {
                let mut start = 0;
                while start < bytes {
                    let len = piece.min(bytes - start);
                    let size = wgpu::BufferSize::new(len).expect("a piece is never empty");
                    let mut view = queue
                        .write_buffer_with(peers, offset + start, size)
                        .ok_or_else(|| GpuError::AllReduce(format!("no staging memory for {len} bytes")))?;
                    let src = &v[start as usize..(start + len) as usize];
                    scope.spawn(move || view.copy_from_slice(src));
                    start += len;
                }
            }
            Ok(())
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = pairs;
        for (queue, peers, offset, v) in destinations() {
            queue.write_buffer(peers, offset, v);
        }
        Ok(())
    }
}
