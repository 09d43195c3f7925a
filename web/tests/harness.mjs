// Shared by the page tests: headless Chromium with WebGPU on SwiftShader, pages with a log of
// their console, and a tiny runner that prints each case and exits non-zero on any failure.

import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const TIMEOUT = 180_000;
// The flags of headless Chromium with WebGPU on SwiftShader, kept in one place: webdriver.json,
// which wasm-bindgen-test reads, and which `cargo xtask bench-web` reads too. Without its last
// three (`--enable-features=Vulkan --use-vulkan=swiftshader --use-angle=swiftshader`) headless
// Chromium cannot present a WebGPU canvas: the GPU process finds no shared-image backing for the
// swap chain and the device is lost on the first frame.
const CHROMIUM_ARGS = JSON.parse(readFileSync(new URL('../../webdriver.json', import.meta.url), 'utf8'))['goog:chromeOptions'].args;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // `--headless=new` is in the arguments
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

// Opens `url` in a new page (of `context`, or a fresh one) with a log of its console and
// errors, printed when a case fails.
export async function openPage(browser, url, { initScript, context } = {}) {
  const page = await (context ?? browser).newPage();
  page.setDefaultTimeout(TIMEOUT);
  const log = [];
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  if (initScript) await page.addInitScript(initScript);
  await page.goto(url);
  return { page, log };
}

// Opens a page, runs `body(page)` and closes the page; a failure carries the page's log.
export async function withPage(browser, url, body, options) {
  const { page, log } = await openPage(browser, url, options);
  try {
    return await body(page);
  } catch (e) {
    e.log = log;
    throw e;
  } finally {
    await page.close();
  }
}

// Waits until the viewer is up (or the page reports why not).
export async function waitReady(page) {
  await page.waitForFunction(() => ['ready', 'error', 'no-webgpu'].includes(document.body.dataset.state));
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== 'ready') {
    throw new Error(`page state "${state}": ${await page.locator('#error').textContent()}`);
  }
}

// Fails when the page shows an error (GPU errors included, which the viewer reports there).
export async function expectNoError(page) {
  const error = await page.evaluate(() => window.wgsplatPage.lastError);
  if (error) throw new Error(`the page shows an error: ${error}`);
}

export function runner() {
  const cases = [];
  return {
    // WGSPLAT_PAGE_TEST=<text> runs only the cases whose name contains it.
    test: (name, body) => {
      if (!process.env.WGSPLAT_PAGE_TEST || name.includes(process.env.WGSPLAT_PAGE_TEST)) cases.push({ name, body });
    },
    async run(browser) {
      let failed = 0;
      for (const { name, body } of cases) {
        const start = Date.now();
        console.log(`page test: ${name}`);
        try {
          await body();
          console.log(`  ok (${((Date.now() - start) / 1000).toFixed(1)} s)`);
        } catch (e) {
          failed++;
          console.log(`  FAILED (${((Date.now() - start) / 1000).toFixed(1)} s): ${e.message}`);
          for (const line of e.log ?? []) console.log(`    ${line}`);
        }
      }
      await browser.close();
      console.log(failed === 0 ? `page tests: all ${cases.length} passed` : `page tests: ${failed} of ${cases.length} FAILED`);
      return failed;
    },
  };
}
