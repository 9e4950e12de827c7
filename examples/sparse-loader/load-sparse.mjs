#!/usr/bin/env node
/**
 * A standalone loader for a model exported with `swamp export RUN_DIR --cycle N --format swsp`:
 * reads model.swsp (bit masks + surviving float32 values, sha256-checked) and deploy.json, keeps
 * each pruned kernel as compressed rows (only the surviving weights), and classifies Fashion-MNIST
 * (or MNIST) test images with it. Depends on nothing but Node (>= 18).
 *
 *   node load-sparse.mjs EXPORT_DIR [--data DIR] [--limit N]
 *
 * Prints {"examples", "correct", "accuracy", "expectedAccuracy"} as JSON: `expectedAccuracy` is the
 * accuracy swamp measured for this model on the same images (deploy.json), which this reproduces.
 * Handles the layer kinds of multilayer perceptrons (flatten, dense with relu or linear), such
 * as LeNet-300-100; a model with other layers is refused with their names.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

function fail(message) {
  process.stderr.write(`load-sparse: ${message}\n`);
  process.exit(2);
}

/** { header, tensors: Map name → { shape, prunable, values (dense) | rows (compressed) } } */
export function readSparseModel(path) {
  const file = readFileSync(path);
  if (file.length < 40 || file.toString("ascii", 0, 4) !== "SWSP") fail(`${path}: not a swamp sparse file`);
  const body = file.subarray(0, file.length - 32);
  if (!createHash("sha256").update(body).digest().equals(file.subarray(file.length - 32))) fail(`${path}: checksum mismatch`);
  const headerLength = body.readUInt32LE(4);
  const header = JSON.parse(body.toString("utf8", 8, 8 + headerLength));
  let offset = 8 + headerLength;
  const floats = (count) => {
    const out = new Float32Array(count);
    Buffer.from(out.buffer).set(body.subarray(offset, offset + 4 * count));
    offset += 4 * count;
    return out;
  };
  const tensors = new Map();
  for (const tensor of header.tensors) {
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    if (!tensor.prunable) {
      tensors.set(tensor.name, { shape: tensor.shape, values: floats(size) });
      continue;
    }
    // Row-major [in, out] kernel: bit j is weight (j / out, j % out); bits are LSB first.
    const bits = body.subarray(offset, offset + Math.ceil(size / 8));
    offset += bits.length;
    const survivors = floats(tensor.alive);
    const outputs = tensor.shape.at(-1);
    const rows = tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const rowStart = new Int32Array(rows + 1);
    const columns = new Int32Array(tensor.alive);
    for (let j = 0, k = 0; j < size; j++) {
      if ((bits[j >> 3] >> (j & 7)) & 1) {
        columns[k++] = j % outputs;
        rowStart[Math.floor(j / outputs) + 1]++;
      }
    }
    for (let r = 0; r < rows; r++) rowStart[r + 1] += rowStart[r];
    tensors.set(tensor.name, { shape: tensor.shape, rows: { rowStart, columns, values: survivors, outputs } });
  }
  return { header, tensors };
}

/** y = activation(x · W + b) over W's surviving weights only: work proportional to them. */
function denseForward(x, kernel, bias, activation) {
  const { rowStart, columns, values, outputs } = kernel.rows ?? toRows(kernel);
  const y = bias ? Float32Array.from(bias.values) : new Float32Array(outputs);
  for (let i = 0; i < rowStart.length - 1; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    for (let k = rowStart[i]; k < rowStart[i + 1]; k++) y[columns[k]] += xi * values[k];
  }
  if (activation === "relu") for (let o = 0; o < outputs; o++) if (y[o] < 0) y[o] = 0;
  return y;
}

/** An unpruned kernel as rows of all its weights. */
function toRows(kernel) {
  const outputs = kernel.shape.at(-1);
  const rows = kernel.values.length / outputs;
  kernel.rows = {
    rowStart: Int32Array.from({ length: rows + 1 }, (_, r) => r * outputs),
    columns: Int32Array.from({ length: kernel.values.length }, (_, j) => j % outputs),
    values: kernel.values,
    outputs,
  };
  return kernel.rows;
}

function readIdx(dir, stem) {
  const gz = join(dir, `${stem}.gz`);
  const bytes = existsSync(gz) ? gunzipSync(readFileSync(gz)) : existsSync(join(dir, stem)) ? readFileSync(join(dir, stem)) : fail(`${join(dir, stem)}(.gz): not found`);
  const dims = bytes[3];
  const shape = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  return { shape, data: bytes.subarray(4 + 4 * dims) };
}

function main(argv) {
  const [exportDir, ...rest] = argv;
  if (!exportDir) fail("usage: node load-sparse.mjs EXPORT_DIR [--data DIR] [--limit N]");
  const option = (name, fallback) => {
    const at = rest.indexOf(`--${name}`);
    return at >= 0 && rest[at + 1] !== undefined ? rest[at + 1] : fallback;
  };
  const manifest = JSON.parse(readFileSync(join(exportDir, "deploy.json"), "utf8"));
  if (manifest.format !== "swamp-deploy" || manifest.version !== 1) fail(`${exportDir}/deploy.json: not a swamp deployment manifest v1`);
  const unsupported = manifest.layers.filter((layer) => layer.type === "other" || (layer.type === "dense" && !["relu", "linear"].includes(layer.activation)));
  if (unsupported.length > 0) fail(`this loader runs flatten and dense (relu, linear) layers only; the model has ${unsupported.map((l) => l.name ?? `${l.type} ${l.activation}`).join(", ")}`);
  const { tensors } = readSparseModel(join(exportDir, manifest.weights));
  const dataDir = option("data", "/usr/share/datasets/fashion-mnist");
  const images = readIdx(dataDir, "t10k-images-idx3-ubyte");
  const labels = readIdx(dataDir, "t10k-labels-idx1-ubyte");
  const limit = Math.min(Number(option("limit", String(manifest.test.examples))), images.shape[0]);
  const exampleSize = manifest.inputShape.reduce((a, b) => a * b, 1);
  const channels = manifest.inputShape[2];
  const { mean, std } = manifest.normalisation;
  const table = Float32Array.from({ length: channels * 256 }, (_, i) => {
    const c = Math.floor(i / 256);
    return (((i % 256) / 255 - mean[c]) / (std[c] > 0 ? std[c] : 1));
  });
  let correct = 0;
  const started = performance.now();
  for (let n = 0; n < limit; n++) {
    let x = new Float32Array(exampleSize);
    for (let i = 0; i < exampleSize; i++) x[i] = table[(i % channels) * 256 + images.data[n * exampleSize + i]];
    for (const layer of manifest.layers) {
      if (layer.type === "dense") x = denseForward(x, tensors.get(layer.kernel), layer.bias ? tensors.get(layer.bias) : null, layer.activation);
    }
    let best = 0;
    for (let c = 1; c < x.length; c++) if (x[c] > x[best]) best = c;
    if (best === labels.data[n]) correct++;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ examples: limit, correct, accuracy: correct / limit, expectedAccuracy: manifest.test.accuracy, examplesPerSecond: limit / seconds })}\n`);
}

main(process.argv.slice(2));
