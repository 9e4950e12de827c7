/**
 * The standard CIFAR training augmentation (He et al. 2016): pad 4 pixels on each side, take a
 * random crop of the original size, flip it horizontally with probability 1/2.
 *
 * Works in place on normalised NHWC images. Padding is 0 by default, i.e. the training mean after
 * normalisation; torchvision pads raw pixels with black before normalising, which corresponds to
 * passing padValues = −mean/std per channel.
 *
 * Each image consumes exactly three draws of `rng`, in order: vertical offset, horizontal offset,
 * flip. So a seed fixes the result whatever the batch size.
 */

export const AUGMENT_PADDING = 4;

export function augmentBatch(
  images: Float32Array,
  count: number,
  shape: [number, number, number],
  rng: () => number,
  padValues?: ArrayLike<number>,
): void {
  const [height, width, channels] = shape;
  const imageSize = height * width * channels;
  if (!Number.isInteger(count) || count < 0 || count * imageSize > images.length) {
    throw new RangeError(`augmentBatch: ${count} images of ${height}×${width}×${channels} do not fit in ${images.length} values`);
  }
  if (padValues !== undefined && padValues.length !== channels) {
    throw new RangeError(`augmentBatch: padValues has ${padValues.length} entries for ${channels} channels`);
  }
  const span = 2 * AUGMENT_PADDING + 1;
  const source = new Float32Array(imageSize);
  for (let n = 0; n < count; n++) {
    const offsetY = Math.floor(rng() * span) - AUGMENT_PADDING;
    const offsetX = Math.floor(rng() * span) - AUGMENT_PADDING;
    const flip = rng() < 0.5;
    const base = n * imageSize;
    source.set(images.subarray(base, base + imageSize));
    for (let y = 0; y < height; y++) {
      const sy = y + offsetY;
      const rowInside = sy >= 0 && sy < height;
      for (let x = 0; x < width; x++) {
        const sx = (flip ? width - 1 - x : x) + offsetX;
        const out = base + (y * width + x) * channels;
        if (rowInside && sx >= 0 && sx < width) {
          const from = (sy * width + sx) * channels;
          for (let c = 0; c < channels; c++) images[out + c] = source[from + c]!;
        } else {
          for (let c = 0; c < channels; c++) images[out + c] = padValues === undefined ? 0 : padValues[c]!;
        }
      }
    }
  }
}
