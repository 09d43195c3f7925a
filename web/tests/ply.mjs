// A small valid 3D Gaussian splatting .ply (binary little-endian, SH degree 0) for the page
// test: `count` splats on a sphere of radius 1, coloured by position.

const PROPERTIES = ['x', 'y', 'z', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3'];
const SH_C0 = 0.28209479177387814;

export function spherePly(count) {
  const header =
    'ply\nformat binary_little_endian 1.0\n' +
    `element vertex ${count}\n` +
    PROPERTIES.map((p) => `property float ${p}\n`).join('') +
    'end_header\n';
  const body = Buffer.alloc(count * PROPERTIES.length * 4);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < count; i++) {
    const z = 1 - (2 * (i + 0.5)) / count;
    const r = Math.sqrt(1 - z * z);
    const x = r * Math.cos(golden * i);
    const y = r * Math.sin(golden * i);
    const colour = [x, y, z].map((c) => (0.5 + 0.4 * c - 0.5) / SH_C0);
    const values = [x, y, z, ...colour, 3, Math.log(0.08), Math.log(0.08), Math.log(0.08), 1, 0, 0, 0];
    values.forEach((v, k) => body.writeFloatLE(v, (i * PROPERTIES.length + k) * 4));
  }
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}
