// Helpers of every kernel: turn a 2D dispatch (`kernel::jobs::dispatch_2d` on the CPU: a
// dimension holds at most 65535 workgroups) into one linear workgroup index.

fn linear_workgroup(wg: vec3<u32>, num_wg: vec3<u32>) -> u32 {
    return wg.x + wg.y * num_wg.x;
}

fn ceil_div(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}
