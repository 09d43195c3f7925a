// Per-pixel comparison of two RGBA8 images (alpha ignored): the statistics the page test prints
// and its pass criteria, plus a diff image (|a - b| x 8, for looking at failures).

export const LIMITS = { meanAbs: 2 / 255, withinFraction: 0.99, within: 3 };

export function compareImages(actual, expected) {
  if (actual.width !== expected.width || actual.height !== expected.height) {
    throw new Error(`size mismatch: ${actual.width}x${actual.height} vs ${expected.width}x${expected.height}`);
  }
  const pixels = actual.width * actual.height;
  const diff = new Uint8Array(pixels * 4);
  let sum = 0;
  let max = 0;
  let within = 0;
  let litActual = 0;
  let litExpected = 0;
  for (let p = 0; p < pixels; p++) {
    let worst = 0;
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(actual.data[p * 4 + c] - expected.data[p * 4 + c]);
      sum += d;
      worst = Math.max(worst, d);
      diff[p * 4 + c] = Math.min(255, d * 8);
    }
    diff[p * 4 + 3] = 255;
    max = Math.max(max, worst);
    if (worst <= LIMITS.within) within++;
    if (lit(actual.data, p)) litActual++;
    if (lit(expected.data, p)) litExpected++;
  }
  const stats = {
    pixels,
    meanAbs: sum / (pixels * 3) / 255,
    maxAbs: max,
    withinFraction: within / pixels,
    litActual: litActual / pixels,
    litExpected: litExpected / pixels,
  };
  return { stats, diff: { width: actual.width, height: actual.height, data: diff } };
}

// Anything brighter than near-black counts as scene content (the background is black).
function lit(data, p) {
  return data[p * 4] + data[p * 4 + 1] + data[p * 4 + 2] > 12;
}

export function describe(stats) {
  return (
    `mean |diff| ${(stats.meanAbs * 255).toFixed(3)}/255, max ${stats.maxAbs}/255, ` +
    `${(stats.withinFraction * 100).toFixed(2)}% of pixels within ${LIMITS.within}/255, ` +
    `non-black: ${(stats.litActual * 100).toFixed(1)}% page vs ${(stats.litExpected * 100).toFixed(1)}% native`
  );
}

export function failures(stats) {
  const out = [];
  if (stats.litExpected < 0.05) out.push('the native reference is almost all black: nothing to compare');
  if (stats.meanAbs >= LIMITS.meanAbs) out.push(`mean |diff| ${(stats.meanAbs * 255).toFixed(3)}/255 >= ${LIMITS.meanAbs * 255}/255`);
  if (stats.withinFraction < LIMITS.withinFraction) {
    out.push(`only ${(stats.withinFraction * 100).toFixed(2)}% of pixels within ${LIMITS.within}/255 (need ${LIMITS.withinFraction * 100}%)`);
  }
  return out;
}
