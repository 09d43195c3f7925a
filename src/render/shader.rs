//! WGSL sources with `#import name` lines resolved against shaders/shared, and the helpers that
//! turn them into compute pipelines and bind groups.

const SHARED: &[(&str, &str)] = &[
    ("params", include_str!("../../shaders/shared/params.wgsl")),
    ("tiles", include_str!("../../shaders/shared/tiles.wgsl")),
    ("sh", include_str!("../../shaders/shared/sh.wgsl")),
    ("jobs", include_str!("../../shaders/shared/jobs.wgsl")),
    ("quat", include_str!("../../shaders/shared/quat.wgsl")),
    ("perspective", include_str!("../../shaders/shared/perspective.wgsl")),
    ("sh_backward", include_str!("../../shaders/shared/sh_backward.wgsl")),
];

/// Replaces each `#import name` line with the shared file of that name.
pub fn resolve_imports(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.trim().strip_prefix("#import ") {
            Some(name) => SHARED
                .iter()
                .find(|(n, _)| *n == name.trim())
                .map(|(_, text)| text.to_string())
                .unwrap_or_else(|| panic!("unknown WGSL import {name}")),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn compute_pipeline(device: &wgpu::Device, label: &str, source: &str, entry_point: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(resolve_imports(source).into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry_point),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A bind group for group 0 of `pipeline` from (binding, resource) pairs.
pub fn bind_group(device: &wgpu::Device, pipeline: &wgpu::ComputePipeline, entries: &[(u32, wgpu::BindingResource<'_>)]) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> =
        entries.iter().map(|(binding, resource)| wgpu::BindGroupEntry { binding: *binding, resource: resource.clone() }).collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &pipeline.get_bind_group_layout(0), entries: &entries })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shader_parses_and_validates() {
        let variants = [(true, true), (true, false), (false, true), (false, false)]
            .map(|(s, f)| ("rasterize_backward", super::super::pipelines::rasterize_backward_source(s, f)));
        let sources = super::super::pipelines::SOURCES.iter().filter(|(n, _)| *n != "rasterize_backward").map(|(n, s)| (*n, s.to_string()));
        for (name, source) in sources.chain(variants) {
            let wgsl = super::resolve_imports(&source);
            let module = naga::front::wgsl::parse_str(&wgsl).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&wgsl)));
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::SUBGROUP | naga::valid::Capabilities::SHADER_FLOAT32_ATOMIC)
                .validate(&module)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
