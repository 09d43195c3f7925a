// Checkpoints in the browser's storage: the origin-private file system (OPFS) where there is
// one, IndexedDB otherwise. Two slots written in turn, each with its meta record last, so a
// save cut short (tab closed) leaves the previous checkpoint intact; loading takes the newest
// complete slot.

const DIR = 'wgsplat-checkpoints';
const FILES = ['splats_ply', 'optimizer_bin', 'state_json'];

async function opfsRoot() {
  try {
    // Writing needs createWritable (missing in some browsers that have OPFS): else IndexedDB.
    if (!globalThis.FileSystemFileHandle?.prototype?.createWritable) return null;
    const root = await navigator.storage?.getDirectory?.();
    if (!root) return null;
    return await root.getDirectoryHandle(DIR, { create: true });
  } catch {
    return null;
  }
}

// --- IndexedDB fallback -----------------------------------------------------------------------

function idb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DIR, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('files');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function idbDo(mode, fn) {
  const db = await idb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('files', mode);
      const result = fn(tx.objectStore('files'));
      tx.oncomplete = () => resolve(result.result ?? result);
      tx.onerror = () => reject(tx.error);
      // A full quota aborts the transaction instead of failing it.
      tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
    });
  } finally {
    db.close();
  }
}

// --- one interface over both ------------------------------------------------------------------

class Store {
  constructor(dir) {
    this.dir = dir;
    this.kind = dir ? 'OPFS' : 'IndexedDB';
  }

  async write(name, bytes) {
    if (this.dir) {
      const handle = await this.dir.getFileHandle(name, { create: true });
      const writable = await handle.createWritable();
      await writable.write(bytes);
      await writable.close();
    } else {
      await idbDo('readwrite', (store) => store.put(bytes, name));
    }
  }

  async read(name) {
    if (this.dir) {
      try {
        const handle = await this.dir.getFileHandle(name);
        return new Uint8Array(await (await handle.getFile()).arrayBuffer());
      } catch {
        return null;
      }
    }
    const value = await idbDo('readonly', (store) => store.get(name));
    return value instanceof Uint8Array ? value : null;
  }

  async remove(name) {
    if (this.dir) {
      try {
        await this.dir.removeEntry(name);
      } catch {
        // Already gone.
      }
    } else {
      await idbDo('readwrite', (store) => store.delete(name));
    }
  }
}

let storePromise = null;
function store() {
  storePromise ??= opfsRoot().then((dir) => new Store(dir));
  return storePromise;
}

async function readMeta(s, slot) {
  const bytes = await s.read(`${slot}.meta.json`);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

// Saves `checkpoint` ({splats_ply, optimizer_bin, state_json, step, fingerprint}) with
// `info` (dataset name, settings) into the older slot. Saves run one at a time (two at once
// would pick the same slot and mix their files).
let saving = Promise.resolve();
export function saveCheckpoint(checkpoint, info) {
  const result = saving.then(() => save(checkpoint, info));
  saving = result.catch(() => {});
  return result;
}

async function save(checkpoint, info) {
  const s = await store();
  const metas = await Promise.all([readMeta(s, 'a'), readMeta(s, 'b')]);
  const slot = !metas[0] ? 'a' : !metas[1] ? 'b' : metas[0].sequence <= metas[1].sequence ? 'a' : 'b';
  const sequence = Math.max(metas[0]?.sequence ?? 0, metas[1]?.sequence ?? 0) + 1;
  await s.remove(`${slot}.meta.json`);
  const sizes = {};
  for (const name of FILES) {
    await s.write(`${slot}.${name}`, checkpoint[name]);
    sizes[name] = checkpoint[name].length;
  }
  const meta = { ...info, step: checkpoint.step, fingerprint: checkpoint.fingerprint, sizes, sequence, savedAt: Date.now() };
  await s.write(`${slot}.meta.json`, new TextEncoder().encode(JSON.stringify(meta)));
  return { ...meta, slot, storage: s.kind };
}

// The newest complete checkpoint's meta (with `slot` and `storage`), or null.
export async function latestCheckpoint() {
  const s = await store();
  const found = [];
  for (const slot of ['a', 'b']) {
    const meta = await readMeta(s, slot);
    if (meta) found.push({ ...meta, slot, storage: s.kind });
  }
  found.sort((x, y) => (y.sequence ?? 0) - (x.sequence ?? 0));
  return found[0] ?? null;
}

// The files of the checkpoint `meta` names; null when any is missing or not the size saved.
export async function loadCheckpoint(meta) {
  const s = await store();
  const out = {};
  for (const name of FILES) {
    const bytes = await s.read(`${meta.slot}.${name}`);
    if (!bytes || bytes.length !== meta.sizes?.[name]) return null;
    out[name] = bytes;
  }
  return out;
}

export async function clearCheckpoints() {
  const s = await store();
  for (const slot of ['a', 'b']) {
    await s.remove(`${slot}.meta.json`);
    for (const name of FILES) await s.remove(`${slot}.${name}`);
  }
}
