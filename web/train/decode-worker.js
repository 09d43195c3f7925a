// A decode worker: turns an encoded image (PNG, JPEG: whatever the browser decodes) into RGBA8
// pixels off the main thread.
//
// In:  {id, blob, imageWidth, imageHeight, width, height}: the file, the size its camera says
//      the file has, and the size to deliver (after the resolution scale).
// Out: {id, width, height, rgba: ArrayBuffer} (transferred), or {id, error}.

self.onmessage = async ({ data }) => {
  const { id, blob, imageWidth, imageHeight, width, height } = data;
  try {
    // Raw pixels: no colour management (native decoding ignores ICC profiles too) and straight
    // alpha (the loss composites over the background itself).
    let bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    if (bitmap.width !== imageWidth || bitmap.height !== imageHeight) {
      throw new Error(`the image is ${bitmap.width}x${bitmap.height} but its camera expects ${imageWidth}x${imageHeight}`);
    }
    if (bitmap.width !== width || bitmap.height !== height) {
      const resized = await createImageBitmap(bitmap, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      bitmap.close();
      bitmap = resized;
    }
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const pixels = context.getImageData(0, 0, width, height).data;
    self.postMessage({ id, width, height, rgba: pixels.buffer }, [pixels.buffer]);
  } catch (error) {
    const text = error?.message ?? String(error);
    self.postMessage({ id, error: /decod/i.test(text) ? `cannot decode the image: ${text}` : text });
  }
};
