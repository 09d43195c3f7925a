// An encode worker: re-encodes the trained splats (a standard .ply from the trainer) in another
// splat format off the main thread, with its own instance of the wasm module: SOG's codebooks
// and WebP images take seconds on a large scene.
//
// In:  {id, ply: ArrayBuffer, format} ('compressed.ply', 'spz', 'sog' or 'splat').
// Out: {id, bytes: ArrayBuffer} (transferred), or {id, error}.

import init, { convert_splats } from '../pkg/wgsplat.js';

const ready = init();

self.onmessage = async ({ data }) => {
  const { id, ply, format } = data;
  try {
    await ready;
    const bytes = convert_splats(new Uint8Array(ply), 'splats.ply', format);
    self.postMessage({ id, bytes: bytes.buffer }, [bytes.buffer]);
  } catch (error) {
    self.postMessage({ id, error: error?.message ?? String(error) });
  }
};
