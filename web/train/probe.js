// What this browser's WebGPU charges for the pieces a training step is made of (`?bench=probe`,
// `cargo xtask bench-web --probe`): a submission, a compute pass, a dispatch (direct, indirect,
// with a bind group change), a pass with timestamps, a small writeBuffer, and the wait for a
// submission's "done" notice or a buffer map. Each item is repeated many times on trivial work
// (one workgroup touching 256 bytes), so the wall clock measures the browser, not the GPU; one
// case does real work (16 MiB read and written per dispatch) to show what a dispatch costs when
// the GPU has something to do. Figures are microseconds per item, the median of ROUNDS rounds;
// the wait at the end of a round is spread over its items (a fraction of a microsecond).

const ROUNDS = 5;
const ITEMS = 400;

// The kernel is the native probe's (`wgsplat bench dispatch`): one file for both.
const SHADER_URL = new URL('../../crates/kernel/shaders/bench_probe.wgsl', import.meta.url);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

export async function runProbe() {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({ requiredFeatures: timestamps ? ['timestamp-query'] : [] });
  const response = await fetch(SHADER_URL);
  if (!response.ok) throw new Error(`${SHADER_URL}: HTTP ${response.status}`);
  const module = device.createShaderModule({ code: await response.text() });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const storage = (bytes) => device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const small = storage(256);
  const big = storage(16 << 20);
  const uniform = device.createBuffer({ size: 256 * 2, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, new Uint32Array([1, 0, 0, 0]));
  device.queue.writeBuffer(uniform, 256, new Uint32Array([2, 0, 0, 0]));
  const group = (buffer, offset) =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer } },
        { binding: 1, resource: { buffer: uniform, offset, size: 16 } },
      ],
    });
  const groups = [group(small, 0), group(small, 256)];
  const bigGroup = group(big, 0);
  const indirect = device.createBuffer({ size: 16, usage: GPUBufferUsage.INDIRECT | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(indirect, 0, new Uint32Array([1, 1, 1, 0]));
  const querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 * ITEMS }) : null;
  const readback = device.createBuffer({ size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const payload = new Uint32Array(64);

  // One submission: `record(encoder)` adds what is measured.
  const submitted = async (record) => {
    const encoder = device.createCommandEncoder();
    record(encoder);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  const onePass = (encoder, body) => {
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, groups[0]);
    body(pass);
    pass.end();
  };
  const single = (encoder) => onePass(encoder, (pass) => pass.dispatchWorkgroups(1));

  // Each case: its name, what one item is, a run of `count` items (ITEMS unless given) and
  // whether this adapter can run it.
  const item = (name, what, run, { count = ITEMS, enabled = true } = {}) => ({ name, what, run, count, enabled });
  const cases = [
    item('round trip', 'one submission of one dispatch, then its done notice', async () => {
      for (let i = 0; i < ITEMS / 10; i++) await submitted(single);
    }, { count: ITEMS / 10 }),
    item('map round trip', 'one dispatch, a copy into a mappable buffer and mapAsync', async () => {
      for (let i = 0; i < ITEMS / 10; i++) {
        const encoder = device.createCommandEncoder();
        single(encoder);
        encoder.copyBufferToBuffer(small, 0, readback, 0, 256);
        device.queue.submit([encoder.finish()]);
        await readback.mapAsync(GPUMapMode.READ);
        readback.unmap();
      }
    }, { count: ITEMS / 10 }),
    item('submission', 'a submission of one pass with one dispatch (not waited for)', async () => {
      for (let i = 0; i < ITEMS; i++) {
        const encoder = device.createCommandEncoder();
        single(encoder);
        device.queue.submit([encoder.finish()]);
      }
      await device.queue.onSubmittedWorkDone();
    }),
    item('dispatch', 'a dispatch in a pass of many, same pipeline and bind group', () =>
      submitted((e) => onePass(e, (pass) => { for (let i = 0; i < ITEMS; i++) pass.dispatchWorkgroups(1); }))),
    item('dispatch + bind group', 'a dispatch after setPipeline and setBindGroup (alternating groups)', () =>
      submitted((e) => onePass(e, (pass) => {
        for (let i = 0; i < ITEMS; i++) {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, groups[i % 2]);
          pass.dispatchWorkgroups(1);
        }
      }))),
    item('indirect dispatch', 'dispatchWorkgroupsIndirect in a pass of many', () =>
      submitted((e) => onePass(e, (pass) => { for (let i = 0; i < ITEMS; i++) pass.dispatchWorkgroupsIndirect(indirect, 0); }))),
    item('pass', 'a compute pass of one dispatch', () =>
      submitted((e) => { for (let i = 0; i < ITEMS; i++) single(e); })),
    item('timed pass', 'a compute pass of one dispatch with timestamps at both ends', () =>
      submitted((e) => {
        for (let i = 0; i < ITEMS; i++) {
          const pass = e.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, groups[0]);
          pass.dispatchWorkgroups(1);
          pass.end();
        }
      }), { enabled: timestamps }),
    item('clear', 'a clearBuffer of 256 bytes between dispatches', () =>
      submitted((e) => { for (let i = 0; i < ITEMS; i++) { e.clearBuffer(small); single(e); } })),
    item('writeBuffer', 'a 256-byte queue.writeBuffer', async () => {
      for (let i = 0; i < ITEMS; i++) device.queue.writeBuffer(small, 0, payload);
      await submitted(single);
    }),
    item('16 MiB dispatch', 'a dispatch reading and writing 16 MiB (real work), in a pass of many', () =>
      submitted((e) => {
        const pass = e.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bigGroup);
        for (let i = 0; i < ITEMS / 4; i++) pass.dispatchWorkgroups(256, 256);
        pass.end();
      }), { count: ITEMS / 4 }),
  ];

  const timeOf = async (run) => {
    const started = performance.now();
    await run();
    return (performance.now() - started) * 1000;
  };
  const results = [];
  await submitted(single);
  for (const { name, what, run, count, enabled } of cases) {
    if (!enabled) {
      results.push({ name, what, us: null, note: 'not offered here' });
      continue;
    }
    await run(); // warm-up: pipelines, lazy clears, the wire's buffers
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push((await timeOf(run)) / count);
    results.push({ name, what, us: median(rounds), rounds });
  }
  device.destroy();
  return { adapter: [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' '), items: ITEMS, rounds: ROUNDS, results };
}
