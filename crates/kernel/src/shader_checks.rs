//! Checks every crate runs over its [`ShaderLibrary`] in its tests (feature `validate`, which
//! brings in naga): every stage in every variant the code builds parses and validates, every
//! shared file is imported by some stage, workgroup memory fits what browsers allow, and every
//! loop of a kernel ends (kernels are built without wgpu's loop counters).

use crate::shader::{ShaderLibrary, Variant, assemble_source, includes_of};

/// The variants of a stage (by name) that the code builds: a stage without redirected imports
/// has one, the empty variant.
pub type VariantsOf<'a> = &'a dyn Fn(&str) -> Vec<Vec<(&'static str, &'static str)>>;

/// Every stage of `library`, in every variant, parses and validates.
pub fn every_stage_validates(library: &'static ShaderLibrary, variants_of: VariantsOf<'_>) {
    for stage in library.all_stages() {
        for variant in variants_of(stage.name) {
            let wgsl = assemble_source(library, stage.source, &variant, false);
            let module =
                naga::front::wgsl::parse_str(&wgsl).unwrap_or_else(|e| panic!("{} {variant:?}: {}", stage.name, e.emit_to_string(&wgsl)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::SUBGROUP | naga::valid::Capabilities::SHADER_FLOAT32_ATOMIC,
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{} {variant:?}: {e:?}", stage.name));
        }
    }
}

/// Every shared file of `libraries` is imported by some stage of them (a library's shared files
/// may serve only the libraries built on it, so the check runs where all of them are known).
pub fn every_shared_file_is_used(libraries: &[(&'static ShaderLibrary, VariantsOf<'_>)]) {
    let mut used: Vec<String> = Vec::new();
    for (library, variants_of) in libraries {
        for stage in library.all_stages() {
            for variant in variants_of(stage.name) {
                used.extend(includes_of(library, stage.source, &variant));
            }
        }
    }
    for (library, _) in libraries {
        let unused: Vec<_> = library.shared_names().filter(|s| !used.iter().any(|u| u == s)).collect();
        assert!(unused.is_empty(), "shared WGSL files of {} no stage imports: {unused:?}", library.name);
    }
}

/// Every entry point's workgroup memory fits WebGPU's default limit (16 KiB), counted as browsers
/// count it (the variables the entry point uses, each rounded up to 16 bytes as Tint does):
/// natively the device may allow more, so no native test would notice a kernel that the page
/// cannot build.
pub fn workgroup_memory_fits_webgpus_default_limit(library: &'static ShaderLibrary, variants_of: VariantsOf<'_>) {
    const WEBGPU_DEFAULT: u32 = 16384;
    for stage in library.all_stages() {
        for variant in variants_of(stage.name) {
            let name = stage.name;
            let wgsl = assemble_source(library, stage.source, &variant, false);
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

/// Kernels are built without wgpu's loop counters (`ShaderChecks::NoLoopBounding`), which is
/// sound only while every loop ends. Every `for` must step its variable by a constant (`i++`,
/// `i += CONST`, `i <<= 1u`, `i >>= 1u`: against a bound that is a finite u32 it ends); `loop`
/// and `while` are allowed only where `allowed` lists them, (file, loop start), with the reason
/// they end beside the list.
pub fn every_loop_ends(library: &ShaderLibrary, allowed: &[(&str, &str)]) {
    for (name, text) in library.stages.iter().chain(library.shared.iter()) {
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
                assert!(constant_step, "{at}: a for loop must step by a constant (see shader_checks::every_loop_ends)");
            }
            if code.starts_with("while ") || code.starts_with("loop ") || code == "loop {" {
                assert!(
                    allowed.iter().any(|(file, what)| file == name && code.starts_with(what)),
                    "{at}: a loop or while must be listed where every_loop_ends is called, with why it ends"
                );
            }
        }
    }
}

/// A variant list for [`every_stage_validates`] from (stage, variants) pairs.
pub fn variants_from(
    table: &'static [(&'static str, &'static [Variant<'static>])],
) -> impl Fn(&str) -> Vec<Vec<(&'static str, &'static str)>> {
    move |name| match table.iter().find(|(stage, _)| *stage == name) {
        Some((_, variants)) => variants.iter().map(|v| v.to_vec()).collect(),
        None => vec![Vec::new()],
    }
}
