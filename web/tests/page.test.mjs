// Page test of the wgsplat viewer in headless Chromium (WebGPU on SwiftShader).
//
//   node web/tests/page.test.mjs <page url> [reference.png]
//
// The page url may carry `?size=WxH`; reference.png is the native CLI's render of the demo
// scene's default view at that size (`wgsplat render --demo --width W --height H`). Without a
// reference the comparison case is skipped. Images from a comparison land next to the reference
// (page-canvas.png, page-diff.png). Set CHROMIUM to use another browser binary.

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodePng, encodePng } from './png.mjs';
import { compareImages, describe, failures } from './compare.mjs';
import { spherePly } from './ply.mjs';
import { launch, withPage as withPageAt, waitReady, expectNoError, runner } from './harness.mjs';

const [url, referencePath] = process.argv.slice(2);
if (!url) {
  console.error('usage: node web/tests/page.test.mjs <page url> [reference.png]');
  process.exit(2);
}
const browser = await launch();
const { test, run } = runner();
const withPage = (body, options) => withPageAt(browser, url, body, options);

// Loads the demo scene, then waits for the page to stop rendering (it renders for a moment
// after every change, then only when the view changes).
async function loadDemo(page) {
  await page.getByRole('button', { name: 'Load demo scene' }).click();
  await page.waitForFunction(() => document.body.dataset.state !== 'loading' && window.wgsplatPage.viewer?.splat_count() > 0);
  let frames = -1;
  for (;;) {
    const now = await page.evaluate(() => window.wgsplatPage.frames);
    if (now === frames) return now;
    frames = now;
    await page.waitForTimeout(1500);
  }
}

// Renders one frame and copies the canvas in the same task, before it is presented (once
// presented, a WebGPU canvas reads back blank).
async function canvasPixels(page) {
  const { width, height, base64 } = await page.evaluate(() => {
    const canvas = document.getElementById('canvas');
    window.wgsplatPage.renderNow();
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(canvas, 0, 0);
    const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: copy.width, height: copy.height, base64: btoa(binary) };
  });
  return { width, height, data: new Uint8Array(Buffer.from(base64, 'base64')) };
}

// The renderer's own output read back through the viewer (no canvas, no presentation).
async function readbackPixels(page) {
  const { width, height, base64 } = await page.evaluate(async () => {
    const canvas = document.getElementById('canvas');
    const data = await window.wgsplatPage.readPixels();
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, base64: btoa(binary) };
  });
  return { width, height, data: new Uint8Array(Buffer.from(base64, 'base64')) };
}

test('page reports a WebGPU adapter', async () => {
  await withPage(async (page) => {
    await waitReady(page);
    const adapter = (await page.locator('#adapter').textContent()).trim();
    if (!adapter || adapter === '—') throw new Error('no adapter shown');
    console.log(`  adapter: ${adapter}`);
  });
});

test('demo scene on the canvas matches the native render', async () => {
  if (!referencePath) {
    console.log('  SKIPPED: no reference.png given');
    return;
  }
  const expected = decodePng(await readFile(referencePath));
  await withPage(async (page) => {
    await waitReady(page);
    const size = await page.evaluate(() => { const c = document.getElementById('canvas'); return [c.width, c.height]; });
    if (size[0] !== expected.width || size[1] !== expected.height) {
      throw new Error(`canvas is ${size.join('x')} but the reference is ${expected.width}x${expected.height}: open the page with ?size=WxH`);
    }
    const frames = await loadDemo(page);
    console.log(`  idle after ${frames} frames; splats: ${await page.locator('#splats').textContent()}, frame: ${await page.locator('#frame-time').textContent()}`);
    const actual = await canvasPixels(page);
    const { stats, diff } = compareImages(actual, expected);
    const outDir = dirname(referencePath);
    await writeFile(join(outDir, 'page-canvas.png'), encodePng(actual));
    await writeFile(join(outDir, 'page-diff.png'), encodePng(diff));
    console.log(`  canvas vs native: ${describe(stats)}`);
    const readback = compareImages(await readbackPixels(page), expected).stats;
    console.log(`  renderer read-back vs native (diagnostic): ${describe(readback)}`);
    await expectNoError(page);
    const problems = failures(stats);
    if (problems.length > 0) {
      throw new Error(`canvas differs from the native render (images in ${outDir}): ${problems.join('; ')}`);
    }
  });
});

test('a .ply from the file picker renders, and dragging orbits', async () => {
  await withPage(async (page) => {
    await waitReady(page);
    const count = 500;
    await page.locator('#file').setInputFiles({ name: 'sphere.ply', mimeType: 'application/octet-stream', buffer: spherePly(count) });
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.wgsplatPage.viewer.scene_name() === 'sphere.ply');
    const shown = await page.locator('#splats').textContent();
    if (shown !== String(count)) throw new Error(`splat count shows ${shown}, expected ${count}`);
    const lit = (image) => compareImages(image, { ...image, data: new Uint8Array(image.data.length) }).stats.litActual;
    const before = await canvasPixels(page);
    if (lit(before) < 0.01) throw new Error('the loaded scene rendered (almost) nothing');
    const [yaw0] = await page.evaluate(() => window.wgsplatPage.viewer.orbit());
    const box = await page.locator('#canvas').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 20, { steps: 4 });
    await page.mouse.up();
    const [yaw1] = await page.evaluate(() => window.wgsplatPage.viewer.orbit());
    if (Math.abs(yaw1 - yaw0) < 0.1) throw new Error(`dragging did not change the yaw (${yaw0} -> ${yaw1})`);
    const after = await canvasPixels(page);
    const moved = compareImages(after, before).stats;
    console.log(`  ${shown} splats, ${(lit(before) * 100).toFixed(1)}% of pixels lit; after the drag ${(100 - moved.withinFraction * 100).toFixed(1)}% of pixels changed`);
    if (moved.withinFraction > 0.999) throw new Error('the view did not change after dragging');
    await expectNoError(page);
  });
});

test('a malformed .ply shows an error naming the file', async () => {
  await withPage(async (page) => {
    await waitReady(page);
    const name = 'broken-scene.ply';
    const bytes = Buffer.from('ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\nend_header\n\x01\x02');
    await page.locator('#file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible' });
    const text = (await error.textContent()).trim();
    console.log(`  error box: ${text}`);
    if (!text.includes(name)) throw new Error(`the error does not name ${name}: ${text}`);
    if (await page.evaluate(() => document.body.dataset.state) !== 'ready') throw new Error('the page did not stay usable');
  });
});

test('a browser without WebGPU gets a plain message', async () => {
  await withPage(
    async (page) => {
      await page.waitForFunction(() => document.body.dataset.state === 'no-webgpu');
      const text = (await page.locator('#error').textContent()).trim();
      if (!text.startsWith('This browser has no WebGPU')) throw new Error(`unexpected message: ${text}`);
    },
    { initScript: () => delete Navigator.prototype.gpu },
  );
});

process.exit((await run(browser)) === 0 ? 0 : 1);
