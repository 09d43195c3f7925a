// Helpers of every kernel: turn a 2D dispatch into one linear workgroup index (a dimension holds
// at most 65535 workgroups) and size indirect dispatches the same way (`kernel::jobs::dispatch_2d`
// on the CPU).

// Workgroups along x in a 2D dispatch; see `dispatch_2d` in kernel/jobs.rs.
const DISPATCH_X_MAX: u32 = 32768u;

fn linear_workgroup(wg: vec3<u32>, num_wg: vec3<u32>) -> u32 {
    return wg.x + wg.y * num_wg.x;
}

fn ceil_div(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}

// Indirect dispatch arguments for `groups` workgroups, split over x and y.
fn dispatch_2d(groups: u32) -> vec3<u32> {
    let g = max(groups, 1u);
    let x = min(g, DISPATCH_X_MAX);
    return vec3<u32>(x, ceil_div(g, x), 1u);
}
