// Adam on one parameter group: one invocation per float.
// Bindings:
//   0 params   uniform AdamParams
//   1 values   array<f32> the parameters (updated in place)
//   2 grads    array<f32> gradients; this group's start at `grad_offset`
//   3 moments  array<vec2<f32>> first and second moments (updated in place)
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; x -= lr * m_hat / (sqrt(v_hat) + eps).

struct AdamParams {
    count: u32,
    grad_offset: u32,
    // Floats per row of this group; columns below `split_col` step at `lr`, the rest at
    // `lr_rest` (SH band 0 and the higher bands have different rates; one dispatch for both).
    row_len: u32,
    split_col: u32,
    lr_rest: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    // 1 - beta^t, for the bias correction.
    bias1: f32,
    bias2: f32,
    dispatch_x: u32,
}

@group(0) @binding(0) var<uniform> p: AdamParams;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> moments: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * p.dispatch_x) * 256u + lid;
    if i >= p.count {
        return;
    }
    let lr = select(p.lr_rest, p.lr, i % p.row_len < p.split_col);
    let g = grads[p.grad_offset + i];
    var m = moments[i];
    m.x = p.beta1 * m.x + (1.0 - p.beta1) * g;
    m.y = p.beta2 * m.y + (1.0 - p.beta2) * g * g;
    moments[i] = m;
    let m_hat = m.x / p.bias1;
    let v_hat = m.y / p.bias2;
    values[i] -= lr * m_hat / (sqrt(v_hat) + p.eps);
}
