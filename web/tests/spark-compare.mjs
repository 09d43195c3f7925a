// What web/tests/spark.test.mjs compares and how: the camera (as transforms.json for our CLI and
// as intrinsics + c2w for the page), Spark's settings that make it blend as our renderer does,
// the formats with their PSNR floors, and the image measures.

// 320x240, square pixels, principal point at the centre; at (0, -4.5, 2) looking at the origin
// with z up (the demo scene lies within 1.5 of the origin and fills most of the view).
export const camera = (() => {
  const width = 320;
  const height = 240;
  const eye = [0, -4.5, 2];
  const target = [0, 0, 0];
  const up = [0, 0, 1];
  const sub = (a, b) => a.map((x, i) => x - b[i]);
  const norm = (a) => { const l = Math.hypot(...a); return a.map((x) => x / l); };
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  // OpenGL camera axes: x right, y up, looking down -z.
  const z = norm(sub(eye, target));
  const x = norm(cross(up, z));
  const y = cross(z, x);
  const c2w = [
    [x[0], y[0], z[0], eye[0]],
    [x[1], y[1], z[1], eye[1]],
    [x[2], y[2], z[2], eye[2]],
    [0, 0, 0, 1],
  ];
  return { width, height, fx: 400, fy: 400, cx: width / 2, cy: height / 2, c2w };
})();

// nerfstudio transforms.json of the one camera, rendered to <out>/view.png.
export function transformsJson(cam) {
  return {
    fl_x: cam.fx, fl_y: cam.fy, cx: cam.cx, cy: cam.cy, w: cam.width, h: cam.height,
    frames: [{ file_path: 'view', transform_matrix: cam.c2w }],
  };
}

// SparkRenderer options that match our renderer (src/render/shaders/project.wgsl, rasterize.wgsl):
// - the 0.3 px low-pass of 3DGS added to the 2D covariance without opacity compensation
//   (Spark's default is the compensated "anti-aliased" blur: blurAmount 0.3, preBlurAmount 0);
// - splats are cut where alpha = opacity exp(-r^2/2) falls below 1/255, which for opacity <= 1
//   is never beyond r = sqrt(2 ln 255) = 3.33 standard deviations (Spark's default cut is
//   sqrt(8) = 2.83, with alpha down to 0.5/255);
// - sorted by view depth, not by distance from the camera (Spark's default is radial).
export const SPARK_OPTIONS = {
  preBlurAmount: 0.3,
  blurAmount: 0,
  maxStdDev: Math.sqrt(2 * Math.log(255)),
  minAlpha: 1 / 255,
  sortRadial: false,
};

// The formats, each compared with our render of the standard .ply. Measured on the demo scene
// (Chromium 148, SwiftShader; our CLI on lavapipe): ply 49.8, compressed.ply 44.5, spz 45.0,
// sog 49.6, splat 37.9 dB. For scale: Spark evaluating no SH costs 12 dB on the .ply (37.9),
// SH degree 2 only 8 dB (41.4), Spark's default settings 15 dB (35.1), radial sorting 6 dB.
// - ply: the target, 30 dB.
// - compressed.ply, spz, sog (they keep SH degree 3): 40 dB, above what dropping the SH would
//   give and 4.5 dB or more under each measurement (their quantization, and for sog its SH
//   palette, may change with their encoders).
// - splat (no SH, 8-bit colour and opacity): 33 dB, 5 dB under its measurement; losing the SH
//   is most of its error, and a wrong axis, scale or colour convention costs far more.
export const FORMATS = [
  { name: 'ply', ext: 'ply', minPsnr: 30 },
  { name: 'compressed.ply', ext: 'compressed.ply', minPsnr: 40 },
  { name: 'spz', ext: 'spz', minPsnr: 40 },
  { name: 'sog', ext: 'sog', minPsnr: 40 },
  { name: 'splat', ext: 'splat', minPsnr: 33 },
];

// PSNR (dB) over the RGB of two RGBA8 images of one size.
export function psnr(a, b) {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size mismatch: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let sum = 0;
  const n = a.width * a.height;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const d = a.data[p * 4 + c] - b.data[p * 4 + c];
      sum += d * d;
    }
  }
  const mse = sum / (n * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

// The fraction of pixels brighter than near-black (the background is black).
export function litFraction(image) {
  let lit = 0;
  const n = image.width * image.height;
  for (let p = 0; p < n; p++) if (image.data[p * 4] + image.data[p * 4 + 1] + image.data[p * 4 + 2] > 12) lit++;
  return lit / n;
}

// |a - b| x 8 per channel, opaque.
export function diffImage(a, b) {
  const data = new Uint8Array(a.width * a.height * 4);
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) data[i + c] = Math.min(255, Math.abs(a.data[i + c] - b.data[i + c]) * 8);
    data[i + 3] = 255;
  }
  return { width: a.width, height: a.height, data };
}
