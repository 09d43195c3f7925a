// Cross-check of our exported files against another renderer: Spark (@sparkjsdev/spark, THREE.js,
// WebGL2) in headless Chromium renders each file from a fixed camera, and its picture is compared
// with our native render of the same camera (PSNR over RGB).
//
//   node web/tests/spark.test.mjs <base url> <path to wgsplat> <scratch dir>
//
// <base url> serves the repository root (`cargo xtask serve`); the page is web/tests/spark.html,
// which imports three and Spark from web/node_modules. In <scratch dir>/spark the CLI writes the
// demo scene as .ply, converts it to .compressed.ply, .spz, .sog and .splat, and renders the
// camera (cams.json) of the .ply and of each conversion; Spark's pictures and diff images land
// beside them (spark-<format>.png, spark-<format>-diff.png, |diff| x 8).
//
// Each format prints `spark <format>: PSNR xx.xx dB (n splats, f non-background)` against our
// render of the standard .ply, so the quantized formats' PSNR includes their quantization error;
// the PSNR against our render of the same file (renderers only) is printed after it. The native
// CLI needs a GPU: XDG_RUNTIME_DIR and WGPU_BACKEND as the test command sets them.
// WGSPLAT_PAGE_TEST=<text> runs only the formats whose case name contains it.

import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { launch, withPage, runner } from './harness.mjs';
import { decodePng, encodePng } from './png.mjs';
import { FORMATS, SPARK_OPTIONS, camera, transformsJson, psnr, litFraction, diffImage } from './spark-compare.mjs';

const [base, exeArg, scratch] = process.argv.slice(2);
if (!base || !exeArg || !scratch) {
  console.error('usage: node web/tests/spark.test.mjs <base url> <path to wgsplat> <scratch dir>');
  process.exit(2);
}
const pageUrl = new URL('web/tests/spark.html', base).href;
// The page fetches the files from here; the test answers (Playwright routing), so the files
// need not lie under the served root.
const filesUrl = new URL('__spark_files__/', base).href;
const dir = resolve(scratch, 'spark');
const exe = resolve(exeArg);
const run = promisify(execFile);
// For looking into a difference: WGSPLAT_SPARK_OPTIONS='{"sortRadial":true,...}' overrides
// SparkRenderer options, and WGSPLAT_SPARK_DEFAULTS=1 starts from Spark's defaults, not ours.
const sparkOptions = { ...(process.env.WGSPLAT_SPARK_DEFAULTS ? {} : SPARK_OPTIONS), ...JSON.parse(process.env.WGSPLAT_SPARK_OPTIONS ?? '{}') };

async function wgsplat(...args) {
  try {
    return await run(exe, args, { cwd: dir, maxBuffer: 64 << 20 });
  } catch (e) {
    throw new Error(`wgsplat ${args.join(' ')} failed: ${(e.stderr || e.message).trim().split('\n').slice(0, 6).join(' | ')}`);
  }
}

// Our render of `file` from the test camera (a PNG under `out`).
async function nativeRender(file, out) {
  await wgsplat('render', file, '--cameras', 'cams.json', '--out', out, '--background', '0,0,0');
  return decodePng(await readFile(join(dir, out, 'view.png')));
}

const started = Date.now();
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'cams.json'), JSON.stringify(transformsJson(camera), null, 1));
await wgsplat('convert', '--demo', 'demo.ply');
// The splat count, from the PLY header, which Spark must load from every format.
const header = (await readFile(join(dir, 'demo.ply'))).subarray(0, 4096).toString('latin1');
const splatCount = Number(/element vertex (\d+)/.exec(header)?.[1]);
if (!(splatCount > 0)) throw new Error('demo.ply has no vertex count in its header');
const reference = await nativeRender('demo.ply', 'native-ply');
const referenceLit = litFraction(reference);
console.log(`our render of demo.ply (${camera.width}x${camera.height}): ${(referenceLit * 100).toFixed(1)}% non-background`);

const browser = await launch();
const { test, run: runCases } = runner();
const results = [];
let webglShown = false;

for (const format of FORMATS) {
  test(`spark renders the ${format.name} export like our renderer`, async () => {
    const file = `demo.${format.ext}`;
    let converted = '';
    if (format.ext !== 'ply') {
      const start = Date.now();
      await wgsplat('convert', 'demo.ply', file);
      converted = `converted in ${((Date.now() - start) / 1000).toFixed(1)} s; `;
    }
    const bytes = await readFile(join(dir, file));
    const own = format.ext === 'ply' ? reference : await nativeRender(file, `native-${format.name}`);
    const image = await withPage(browser, pageUrl, async (page) => {
      await page.route(`${filesUrl}**`, (route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: bytes }));
      await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
      const state = await page.evaluate(() => document.body.dataset);
      if (state.state !== 'ready') throw new Error(`the page did not start: ${state.error}`);
      const webgl = await page.evaluate(() => window.sparkPage.webgl2);
      if (!webgl) throw new Error('the page has no WebGL2 context');
      if (!webglShown) console.log(`  WebGL2: ${webgl}`);
      webglShown = true;
      const out = await page.evaluate((args) => window.sparkPage.render(args), {
        url: `${filesUrl}${file}`,
        fileName: file,
        camera,
        spark: sparkOptions,
      });
      return { width: out.width, height: out.height, data: new Uint8Array(Buffer.from(out.base64, 'base64')), splats: out.splats, frames: out.frames };
    });
    await writeFile(join(dir, `spark-${format.name}.png`), encodePng(image));
    await writeFile(join(dir, `spark-${format.name}-diff.png`), encodePng(diffImage(image, reference)));
    const db = psnr(image, reference);
    const sameFile = psnr(image, own);
    const lit = litFraction(image);
    results.push({ format: format.name, db });
    console.log(`spark ${format.name}: PSNR ${db.toFixed(2)} dB (${image.splats} splats, ${lit.toFixed(3)} non-background)`);
    console.log(`  ${converted}Spark settled after ${image.frames} frames; against our render of ${file} itself: PSNR ${sameFile.toFixed(2)} dB; our ${file} against our .ply: ${format.ext === 'ply' ? 'same file' : `${psnr(own, reference).toFixed(2)} dB`}`);
    if (referenceLit < 0.05) throw new Error(`our render is ${(referenceLit * 100).toFixed(1)}% non-background: the camera misses the scene`);
    if (!(lit >= 0.8 * referenceLit && lit <= 1.25 * referenceLit)) throw new Error(`Spark's picture is ${(lit * 100).toFixed(1)}% non-background against our ${(referenceLit * 100).toFixed(1)}%`);
    if (image.splats !== splatCount) throw new Error(`Spark loaded ${image.splats} splats of ${splatCount}`);
    if (!(db >= format.minPsnr)) throw new Error(`PSNR ${db.toFixed(2)} dB is below ${format.minPsnr} dB (images in ${dir})`);
  });
}

const failed = await runCases(browser);
console.log(`spark PSNR against our .ply render: ${results.map((r) => `${r.format} ${r.db.toFixed(2)} dB`).join(', ')}`);
console.log(`spark test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed === 0 ? 0 : 1);
