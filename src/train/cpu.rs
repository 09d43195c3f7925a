//! The CPU twins of training's own GPU stages, one function per stage, in f64: what the tests
//! compare the GPU with (density control's twin is `strategy::cpu`, the renderer's `render::cpu`,
//! the kernel's primitives' `kernel::cpu`).

use super::adam::{BETA1, BETA2, EPS};

/// CPU twin of one float's update in adam.wgsl, in f64: returns (value, m, v) after a step
/// with gradient `g` at learning rate `lr`, `step` steps counted (for the bias correction).
pub fn adam_update(value: f64, m: f64, v: f64, g: f64, lr: f64, step: u32) -> (f64, f64, f64) {
    let (b1, b2) = (BETA1 as f64, BETA2 as f64);
    let m = b1 * m + (1.0 - b1) * g;
    let v = b2 * v + (1.0 - b2) * g * g;
    let m_hat = m / (1.0 - b1.powi(step as i32));
    let v_hat = v / (1.0 - b2.powi(step as i32));
    (value - lr * m_hat / (v_hat.sqrt() + EPS as f64), m, v)
}
