// Turning what the user picked (a folder, a dropped folder, a zip, loose files) into a dataset
// the trainer can read: the small files (JSON, COLMAP models) in full, the images' first bytes
// (for the one header the reader probes) and, later, each image's file for the decode workers.

const IMAGE = /\.(png|jpe?g)$/i;
const MODEL = /\.(json|bin|txt)$/i;
// Enough for any PNG or JPEG header (JPEG's EXIF segment is at most 64 KiB).
const HEADER_BYTES = 256 * 1024;

// [{path, file}] from an <input type=file> (with webkitdirectory, paths are relative to the
// picked folder's parent, e.g. `lego/train/r_0.png`).
export function fromFileList(fileList) {
  return Array.from(fileList, (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

// [{path, file}] from a drop: files, and folders walked recursively.
export async function fromDrop(dataTransfer) {
  const entries = Array.from(dataTransfer.items ?? [])
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  if (entries.length === 0) return fromFileList(dataTransfer.files ?? []);
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries returns the folder in batches until an empty one.
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, '');
  return out;
}

export function isZip(picked) {
  return picked.length === 1 && /\.zip$/i.test(picked[0].path);
}

// One file in a splat format (a .sog is a zip, but of a scene, not of a dataset).
export const SCENE_FILE = /\.(ply|spz|sog|splat)$/i;

export function isSceneFile(picked) {
  return picked.length === 1 && SCENE_FILE.test(picked[0].path);
}

// A name for the dataset: the top folder of the picked files, or the zip's name.
export function datasetName(picked) {
  if (picked.length === 0) return 'dataset';
  const tops = new Set(picked.map(({ path }) => (path.includes('/') ? path.split('/')[0] : '')));
  if (tops.size === 1 && !tops.has('')) return [...tops][0];
  return picked.length === 1 ? picked[0].path : 'files';
}

// What `Trainer.open_files` takes: every path, with full bytes for model files, the header of
// each image, and nothing for the rest (listed, never read).
export async function readForIndex(picked) {
  const paths = [];
  const contents = [];
  for (const { path, file } of picked) {
    let bytes = new Uint8Array(0);
    if (MODEL.test(path)) bytes = new Uint8Array(await file.arrayBuffer());
    else if (IMAGE.test(path)) bytes = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
    paths.push(path);
    contents.push(bytes);
  }
  return { paths, contents };
}

// path -> File, for handing images to the decode workers (paths as the dataset summary gives them).
export function fileMap(picked) {
  const map = new Map();
  for (const { path, file } of picked) map.set(normalize(path), file);
  return map;
}

// As the Rust side normalizes paths: `a/./b//c\d` -> `a/b/c/d`, `a/../b` -> `b`.
export function normalize(path) {
  const parts = [];
  for (const part of path.split(/[\\/]/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}
