//! The shader table of this crate and its typed stage names (`crate::shaders::{render,train}`),
//! from the shader folders of the modules that own them; imports fall back to the kernel's.

use wgsplat_shader_build::{Library, StageFolder, generate};

fn main() {
    generate(
        &Library {
            name: "wgsplat",
            shader_module: "wgsplat_kernel::shader",
            stages: &[
                StageFolder { module: "render", dir: "src/render/shaders" },
                StageFolder { module: "train", dir: "src/train/shaders" },
            ],
            shared: &["src/render/shaders/shared", "src/train/shaders/shared"],
            base: Some("wgsplat_kernel::shaders::LIBRARY"),
        },
        "shaders.rs",
    );
}
