//! What the format modules' tests share: comparing decoded splats with their source.

/// The logistic function, as the renderer applies it to opacity logits.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn normalized(q: [f32; 4]) -> [f32; 4] {
    let n = q.iter().map(|v| v * v).sum::<f32>().sqrt();
    q.map(|v| v / n)
}

/// Largest per-component difference of two rotations, up to sign.
pub fn rotation_error(a: [f32; 4], b: [f32; 4]) -> f32 {
    let (a, b) = (normalized(a), normalized(b));
    let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let sign = if dot < 0.0 { -1.0 } else { 1.0 };
    a.iter().zip(&b).map(|(x, y)| (x - sign * y).abs()).fold(0.0, f32::max)
}
