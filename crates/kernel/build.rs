//! The kernel's shader table and typed stage names (`crate::shaders`), from shaders/.

use wgsplat_shader_build::{Library, StageFolder, generate};

fn main() {
    generate(
        &Library {
            name: "wgsplat-kernel",
            shader_module: "crate::shader",
            stages: &[StageFolder { module: "", dir: "shaders" }],
            shared: &["shaders/shared"],
            base: None,
        },
        "shaders.rs",
    );
}
