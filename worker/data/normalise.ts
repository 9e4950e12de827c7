/**
 * Per-channel normalisation of 8-bit images. Statistics come from a 256-bin histogram per channel,
 * so they are exact (independent of summation order) and one pass over the bytes; normalising is
 * then a table lookup per pixel. This keeps the 60,000-image Fashion-MNIST set well under a second.
 */
import { sharedFloat32Array } from "./shared-arrays.js";

/** Mean and standard deviation per channel, in units of pixel/255 (the usual [0, 1] scale). */
export interface ChannelStatistics {
  mean: number[];
  std: number[];
}

/** Statistics of NHWC bytes with `channels` channels (population std, as torchvision's are quoted). */
export function channelStatistics(pixels: Uint8Array, channels: number): ChannelStatistics {
  const histogram = new Float64Array(channels * 256);
  if (channels === 1) {
    // Four interleaved histograms break the dependency between consecutive increments of one bin.
    const parts = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const;
    const [h0, h1, h2, h3] = parts;
    const whole = pixels.length & ~3;
    let i = 0;
    for (; i < whole; i += 4) {
      h0[pixels[i]!]!++;
      h1[pixels[i + 1]!]!++;
      h2[pixels[i + 2]!]!++;
      h3[pixels[i + 3]!]!++;
    }
    for (; i < pixels.length; i++) h0[pixels[i]!]!++;
    for (let v = 0; v < 256; v++) histogram[v] = h0[v]! + h1[v]! + h2[v]! + h3[v]!;
  } else {
    for (let i = 0; i < pixels.length; i += channels) {
      for (let c = 0; c < channels; c++) histogram[c * 256 + pixels[i + c]!]!++;
    }
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let count = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      const n = histogram[c * 256 + v]!;
      count += n;
      sum += n * v;
    }
    const channelMean = count > 0 ? sum / count : 0;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += histogram[c * 256 + v]! * (v - channelMean) ** 2;
    const channelStd = count > 0 ? Math.sqrt(squares / count) : 0;
    mean.push(channelMean / 255);
    std.push(channelStd / 255);
  }
  return { mean, std };
}

/**
 * (pixel/255 − mean) / std per channel, into a new shared Float32Array. A channel with zero
 * spread (a constant image set) is divided by 1 instead, so it maps to 0 rather than to NaN.
 */
export function normaliseBytes(pixels: Uint8Array, statistics: ChannelStatistics): Float32Array {
  const channels = statistics.mean.length;
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const std = statistics.std[c]! > 0 ? statistics.std[c]! : 1;
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - statistics.mean[c]!) / std;
  }
  const out = sharedFloat32Array(pixels.length);
  if (channels === 1) {
    for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]!]!;
  } else {
    for (let i = 0; i < pixels.length; i += channels) {
      for (let c = 0; c < channels; c++) out[i + c] = table[c * 256 + pixels[i + c]!]!;
    }
  }
  return out;
}
