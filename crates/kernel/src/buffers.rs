//! GPU buffer helpers: storage, uniform, readback and indirect-argument buffers of the sizes
//! every backend accepts (never empty, 4-byte multiples), and one-off readbacks (tests, tools).

use wgpu::util::DeviceExt;

pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST).union(wgpu::BufferUsages::COPY_SRC);

/// A storage buffer of at least `bytes` (never empty: bindings need a non-zero size).
pub fn storage(device: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).next_multiple_of(4),
        usage: STORAGE,
        mapped_at_creation: false,
    })
}

/// A storage buffer holding `data` (padded so that it is never empty).
pub fn storage_init<T: bytemuck::Pod>(device: &wgpu::Device, label: &str, data: &[T]) -> wgpu::Buffer {
    let mut bytes = bytemuck::cast_slice::<T, u8>(data).to_vec();
    bytes.resize(bytes.len().max(16).next_multiple_of(4), 0);
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents: &bytes, usage: STORAGE })
}

pub fn readback(device: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).next_multiple_of(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

pub fn uniform(device: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(256),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

pub fn counters(device: &wgpu::Device, len: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("counters"),
        size: (len as u64 * 4).max(16),
        usage: STORAGE,
        mapped_at_creation: false,
    })
}

/// Copies `bytes` of `buffer` to the CPU (one readback).
pub async fn read_u32s(gpu: &crate::GpuContext, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u32>, super::GpuError> {
    let staging = readback(&gpu.device, "readback", bytes);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes.next_multiple_of(4));
    gpu.queue.submit([encoder.finish()]);
    let data = super::read_buffer(gpu, &staging).await?;
    Ok(bytemuck::cast_slice::<u8, u32>(&data[..bytes as usize]).to_vec())
}
