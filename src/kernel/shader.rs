//! WGSL sources by name and the one mechanism that assembles them: `#import name` lines are
//! replaced by the shared file of that name (shaders/shared, recursively, each file once), and a
//! variant of a stage is the same stage with some imports pointing elsewhere (`batch_add` ->
//! `batch_add_cas`). An `#enable name` line in any included file becomes the WGSL directive
//! `enable name;` at the top of the module where the browser wants it (naga, natively, has the
//! builtins without it and rejects the directive).
//!
//! The tables of files come from build.rs, which lists the folders: nothing is kept by hand.

include!(concat!(env!("OUT_DIR"), "/shader_sources.rs"));

/// Which shared file each redirected `#import` takes: (import name, shared file name).
pub type Variant<'a> = &'a [(&'a str, &'a str)];

/// Every pipeline stage's file name (without `.wgsl`).
pub fn stage_names() -> impl Iterator<Item = &'static str> {
    STAGES.iter().map(|(name, _)| *name)
}

/// Every shared include's file name (without `.wgsl`).
pub fn shared_names() -> impl Iterator<Item = &'static str> {
    SHARED.iter().map(|(name, _)| *name)
}

/// The raw text of stage `name` (shaders/NAME.wgsl).
pub fn stage_source(name: &str) -> &'static str {
    lookup(STAGES, name).unwrap_or_else(|| panic!("no shader stage {name}.wgsl"))
}

fn lookup(table: &[(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    table.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// Stage `name` with its imports resolved (variant redirects first), for the current target.
pub fn assemble(name: &str, variant: Variant<'_>) -> String {
    assemble_source(stage_source(name), variant, cfg!(target_arch = "wasm32"))
}

/// `source` with its imports resolved; `emit_enables` writes the `enable` directives that
/// included files ask for (what browsers need).
pub fn assemble_source(source: &str, variant: Variant<'_>, emit_enables: bool) -> String {
    let mut included = Vec::new();
    let mut enables = Vec::new();
    let body = expand(source, variant, &mut included, &mut enables);
    if emit_enables && !enables.is_empty() {
        let directives: String = enables.iter().map(|e| format!("enable {e};\n")).collect();
        format!("{directives}{body}")
    } else {
        body
    }
}

fn expand(source: &str, variant: Variant<'_>, included: &mut Vec<String>, enables: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("#enable ") {
            let name = name.trim().to_string();
            if !enables.contains(&name) {
                enables.push(name);
            }
        } else if let Some(name) = trimmed.strip_prefix("#import ") {
            let name = name.trim();
            let file = variant.iter().find(|(from, _)| *from == name).map_or(name, |(_, to)| *to);
            if included.iter().any(|i| i == file) {
                continue;
            }
            included.push(file.to_string());
            let text = lookup(SHARED, file).unwrap_or_else(|| panic!("unknown WGSL import {name} (file {file}.wgsl)"));
            out.push_str(&expand(text, variant, included, enables));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Which of the checks wgpu can add to a shader's code (natively; the browser's compiler adds
/// its own) our kernels are built with. `WGSPLAT_SHADER_CHECKS` (`all`, `no-loop-bounding`,
/// `bounds`) picks one for measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaderChecks {
    /// Everything wgpu checks by default: bounds, a counter in every loop, guarded division.
    All,
    /// No counter in every loop; bounds and division stay checked. Sound because every loop of
    /// our kernels ends (`tests` below hold each loop to a form that does).
    NoLoopBounding,
    /// Bounds checks only: no loop counters, no division guards.
    Bounds,
}

impl ShaderChecks {
    /// From `WGSPLAT_SHADER_CHECKS`, else the default.
    pub fn from_env() -> Self {
        match std::env::var("WGSPLAT_SHADER_CHECKS").as_deref() {
            Ok("all") => Self::All,
            Ok("bounds") => Self::Bounds,
            _ => Self::NoLoopBounding,
        }
    }

    fn runtime_checks(self) -> wgpu::ShaderRuntimeChecks {
        let mut checks = wgpu::ShaderRuntimeChecks::checked();
        if self != Self::All {
            checks.force_loop_bounding = false;
        }
        if self == Self::Bounds {
            checks.int_div_checks = false;
        }
        checks
    }
}

/// A compute pipeline of stage `name` (its variant) at `entry_point`, with an automatic layout.
pub fn compute_pipeline(device: &wgpu::Device, name: &str, variant: Variant<'_>, entry_point: &str) -> wgpu::ComputePipeline {
    let label = format!("{name}::{entry_point}");
    let descriptor = wgpu::ShaderModuleDescriptor { label: Some(&label), source: wgpu::ShaderSource::Wgsl(assemble(name, variant).into()) };
    // SAFETY: without loop bounding every loop of our kernels must end, which the loop-form
    // test below holds them to; `Bounds` (measurements only) also needs every integer divisor
    // to be non-zero. Bounds checks stay on either way.
    let module = unsafe { device.create_shader_module_trusted(descriptor, ShaderChecks::from_env().runtime_checks()) };
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&label),
        layout: None,
        module: &module,
        entry_point: Some(entry_point),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A bind group for group 0 of `pipeline` from (binding, resource) pairs.
pub fn bind_group(
    device: &wgpu::Device,
    pipeline: &wgpu::ComputePipeline,
    entries: &[(u32, wgpu::BindingResource<'_>)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> =
        entries.iter().map(|(binding, resource)| wgpu::BindGroupEntry { binding: *binding, resource: resource.clone() }).collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &pipeline.get_bind_group_layout(0), entries: &entries })
}

/// The variants of every stage that the code builds, for the validation test: a stage that
/// has redirected imports lists them here.
pub fn variants_of(name: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    match name {
        // render::pipelines::BackwardPath's variants of this stage.
        "rasterize_backward" => ["batch_add_cas", "batch_add_float_atomic"].into_iter().map(|add| vec![("batch_add", add)]).collect(),
        _ => vec![Vec::new()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in shaders/ (build.rs lists the folder), in every variant, parses and
    /// validates; every shared file is used by some stage.
    #[test]
    fn every_shader_parses_and_validates() {
        let mut used = Vec::new();
        for name in stage_names() {
            for variant in variants_of(name) {
                let wgsl = assemble_source(stage_source(name), &variant, false);
                let module =
                    naga::front::wgsl::parse_str(&wgsl).unwrap_or_else(|e| panic!("{name} {variant:?}: {}", e.emit_to_string(&wgsl)));
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::SUBGROUP | naga::valid::Capabilities::SHADER_FLOAT32_ATOMIC,
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{name} {variant:?}: {e:?}"));
                for shared in shared_names() {
                    if wgsl_includes(stage_source(name), &variant, shared) && !used.contains(&shared) {
                        used.push(shared);
                    }
                }
            }
        }
        let unused: Vec<_> = shared_names().filter(|s| !used.contains(s)).collect();
        assert!(unused.is_empty(), "shared WGSL files no stage imports: {unused:?}");
        assert!(stage_names().count() >= 16, "build.rs found too few stages");
    }

    /// Every entry point's workgroup memory fits WebGPU's default limit (16 KiB), counted as
    /// browsers count it (the variables the entry point uses, each rounded up to 16 bytes as Tint
    /// does): natively the device may allow more, so no native test would notice a kernel that
    /// the page cannot build.
    #[test]
    fn workgroup_memory_fits_webgpus_default_limit() {
        const WEBGPU_DEFAULT: u32 = 16384;
        for name in stage_names() {
            for variant in variants_of(name) {
                let wgsl = assemble_source(stage_source(name), &variant, false);
                let module = naga::front::wgsl::parse_str(&wgsl).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&wgsl)));
                let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
                    .validate(&module)
                    .unwrap_or_else(|e| panic!("{name} {variant:?}: {e:?}"));
                let mut layouter = naga::proc::Layouter::default();
                layouter.update(module.to_ctx()).expect("types lay out");
                for (index, entry) in module.entry_points.iter().enumerate() {
                    let uses = info.get_entry_point(index);
                    let bytes: u32 = module
                        .global_variables
                        .iter()
                        .filter(|(handle, v)| v.space == naga::AddressSpace::WorkGroup && !uses[*handle].is_empty())
                        .map(|(_, v)| layouter[v.ty].size.next_multiple_of(16))
                        .sum();
                    assert!(
                        bytes <= WEBGPU_DEFAULT,
                        "{name} {variant:?} {}: {bytes} bytes of workgroup memory, over {WEBGPU_DEFAULT}",
                        entry.name
                    );
                }
            }
        }
    }

    fn wgsl_includes(source: &str, variant: Variant<'_>, shared: &str) -> bool {
        let mut included = Vec::new();
        expand(source, variant, &mut included, &mut Vec::new());
        included.iter().any(|i| i == shared)
    }

    /// Kernels are built without wgpu's loop counters (`ShaderChecks::NoLoopBounding`), which
    /// is sound only while every loop ends. Every `for` must step its variable by a constant
    /// (`i++`, `i += CONST`, `i <<= 1u`, `i >>= 1u`: against a bound that is a finite u32 it
    /// ends); `loop` and `while` are allowed only where listed here with the reason they end.
    #[test]
    fn every_loop_ends() {
        // (file, loop): why it ends.
        let allowed_while = [("batch_add_cas", "while !finished")]; // each round some CAS succeeds
        let all = STAGES.iter().chain(SHARED.iter());
        for (name, text) in all {
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("").trim();
                let at = format!("{name}.wgsl:{}: {code}", number + 1);
                if let Some(header) = code.strip_prefix("for (") {
                    let step = header.rsplit(';').next().unwrap_or("").trim().trim_end_matches('{').trim().trim_end_matches(')').trim();
                    let constant_step = step.ends_with("++")
                        || step.ends_with("--")
                        || step.ends_with("<<= 1u")
                        || step.ends_with(">>= 1u")
                        || step.split_once("+= ").is_some_and(|(_, by)| {
                            by.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                                || by.trim_end_matches('u').parse::<u32>().is_ok_and(|n| n > 0)
                        });
                    assert!(constant_step, "{at}: a for loop must step by a constant (see the test's comment)");
                }
                if code.starts_with("while ") || code.starts_with("loop ") || code == "loop {" {
                    assert!(
                        allowed_while.iter().any(|(file, what)| file == name && code.starts_with(what)),
                        "{at}: a loop or while must be listed in every_loop_ends with why it ends"
                    );
                }
            }
        }
    }

    #[test]
    fn imports_resolve_once_and_enables_are_hoisted() {
        let source = "#enable f16\n#import quat\n#import quat\nfn main() {}\n";
        let text = assemble_source(source, &[], true);
        assert!(text.starts_with("enable f16;\n"), "{text}");
        assert_eq!(text.matches("fn quat_to_mat").count(), 1, "{text}");
        assert!(!assemble_source(source, &[], false).contains("enable f16;"));
    }
}
