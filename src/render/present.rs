//! Draws one rendered image (an `array<vec4<f32>>` storage buffer, as the renderer leaves it on
//! the GPU) onto a colour target such as the canvas surface: a fullscreen triangle whose
//! fragment shader reads the pixel under it (`src/render/shaders/present.wgsl`).

use crate::kernel::GpuContext;
use bytemuck::{Pod, Zeroable};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PresentParams {
    width: u32,
    height: u32,
    pixel_offset: u32,
    _pad0: u32,
    target_width: u32,
    target_height: u32,
    _pad1: [u32; 2],
}

/// Where one image lies in the pixel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRegion {
    pub width: u32,
    pub height: u32,
    /// Index of the image's first pixel (in `vec4<f32>` elements).
    pub pixel_offset: u32,
}

/// The present pipeline for one colour target format.
pub struct Presenter {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    format: wgpu::TextureFormat,
}

impl Presenter {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("present"),
            source: wgpu::ShaderSource::Wgsl(crate::shaders::render::PRESENT.source.into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("present"),
            entries: &[entry(0, wgpu::BufferBindingType::Uniform), entry(1, wgpu::BufferBindingType::Storage { read_only: true })],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("present"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("present"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState { format, blend: None, write_mask: wgpu::ColorWrites::ALL })],
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        });
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("present params"),
            size: std::mem::size_of::<PresentParams>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self { pipeline, layout, params, format }
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// Records drawing `image` (from `pixels`) over all of `target` (of size `target_size`).
    /// The params write goes through the queue, so submit `encoder` before the next `draw`.
    pub fn draw(
        &self,
        gpu: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        pixels: &wgpu::Buffer,
        image: ImageRegion,
        target: &wgpu::TextureView,
        target_size: (u32, u32),
    ) {
        if image.width == 0 || image.height == 0 {
            return;
        }
        let params = PresentParams {
            width: image.width,
            height: image.height,
            pixel_offset: image.pixel_offset,
            _pad0: 0,
            target_width: target_size.0.max(1),
            target_height: target_size.1.max(1),
            _pad1: [0; 2],
        };
        gpu.queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("present"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: pixels.as_entire_binding() },
            ],
        });
        let mut pass = begin_pass(encoder, target, wgpu::Color::BLACK);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

impl Presenter {
    /// Records filling `target` with one colour (rgb in [0, 1]), e.g. before a scene is loaded.
    pub fn clear(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView, rgb: [f32; 3]) {
        let [r, g, b] = rgb.map(f64::from);
        drop(begin_pass(encoder, target, wgpu::Color { r, g, b, a: 1.0 }));
    }
}

fn begin_pass<'e>(encoder: &'e mut wgpu::CommandEncoder, target: &wgpu::TextureView, clear: wgpu::Color) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("present"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations { load: wgpu::LoadOp::Clear(clear), store: wgpu::StoreOp::Store },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}
