// The sum across devices of data-parallel training (`kernel::all_reduce`), as each device forms
// it: the same additions in the same order on every device (device 0's term first, then 1, ...),
// so that every replica gets the same bits and takes the same optimizer step. One invocation
// per float.
// Bindings:
//   0 params  uniform SumParams
//   1 own     array<f32> [count] this device's values; replaced by the sum over all devices
//   2 peers   array<f32> [(devices - 1) * count] the other devices' values, one slot of `count`
//             floats each, in device order with this device's own left out

#import dispatch

struct SumParams {
    count: u32,
    // This device's index among the devices.
    rank: u32,
    devices: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: SumParams;
@group(0) @binding(1) var<storage, read_write> own: array<f32>;
@group(0) @binding(2) var<storage, read> peers: array<f32>;

// Device k's value of float i.
fn term(k: u32, i: u32, mine: f32) -> f32 {
    if k == p.rank {
        return mine;
    }
    let slot = select(k, k - 1u, k > p.rank);
    return peers[slot * p.count + i];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.count {
        return;
    }
    let mine = own[i];
    var sum = term(0u, i, mine);
    for (var k = 1u; k < p.devices; k++) {
        sum += term(k, i, mine);
    }
    own[i] = sum;
}
