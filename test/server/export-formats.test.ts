/** The npz and safetensors writers, read back by numpy (Debian python3-numpy). */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { boolTensor, float32Tensor, int32Tensor, type NamedTensor } from "../../server/exports/named-tensor.js";
import { encodeNpz } from "../../server/exports/npz-file.js";
import { encodeSafetensors } from "../../server/exports/safetensors-file.js";
import { tempDir } from "../helpers/cli.js";
import { readTensorsWithNumpy } from "../helpers/python.js";

const kernel = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : (i - 5.5) / 7));
const keep = Uint8Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : 1));
const tensors: NamedTensor[] = [
  float32Tensor("conv1/kernel", [2, 1, 2, 3], kernel),
  boolTensor("conv1/kernel.mask", [2, 1, 2, 3], keep),
  float32Tensor("conv1/bias", [3], Float32Array.of(0.1, -2.5e-8, 3.4e38)),
  int32Tensor("counts", [2, 2], Int32Array.of(-1, 0, 2 ** 31 - 1, 7)),
  // A name long enough to push the npy header past one 64-byte block.
  float32Tensor(`deep/${"x".repeat(80)}/kernel`, [1, 5], Float32Array.of(1, 2, 3, 4, 5)),
];

function expected(tensor: NamedTensor): { dtype: string; shape: number[]; values: Array<number | boolean> } {
  const view =
    tensor.dtype === "float32"
      ? Array.from(new Float32Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength / 4))
      : tensor.dtype === "int32"
        ? Array.from(new Int32Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength / 4))
        : Array.from(tensor.data, (b) => b === 1);
  return { dtype: tensor.dtype, shape: tensor.shape, values: view };
}

describe("tensor exports", () => {
  it("npz: numpy.load finds every array by name, with its dtype, shape and exact values", async () => {
    const path = join(tempDir("npz"), "t.npz");
    writeFileSync(path, encodeNpz(tensors));
    const read = await readTensorsWithNumpy(path, "npz");
    assert.deepEqual(Object.keys(read).sort(), tensors.map((t) => t.name).sort());
    for (const tensor of tensors) assert.deepEqual(read[tensor.name], expected(tensor), tensor.name);
  });

  it("safetensors: the header names each tensor's dtype, shape and offsets, and numpy reads the data exactly", async () => {
    const path = join(tempDir("safetensors"), "t.safetensors");
    const file = encodeSafetensors(tensors, { cycle: "3" });
    writeFileSync(path, file);
    assert.equal(Number(file.readBigUInt64LE(0)) % 8, 0, "the header keeps the data 8-byte aligned");
    const { __metadata__, ...read } = await readTensorsWithNumpy(path, "safetensors");
    assert.deepEqual(__metadata__, { cycle: "3" });
    for (const tensor of tensors) assert.deepEqual(read[tensor.name], expected(tensor), tensor.name);
  });

  it("refuse tensors whose bytes do not fit their shape, and repeated names", () => {
    const wrong: NamedTensor = { name: "w", dtype: "float32", shape: [2, 2], data: new Uint8Array(12) };
    assert.throws(() => encodeNpz([wrong]), /tensor w: 12 bytes for shape \[2, 2\] of float32/);
    assert.throws(() => encodeSafetensors([wrong]), /tensor w: 12 bytes/);
    assert.throws(() => encodeNpz([tensors[2]!, tensors[2]!]), /two tensors named conv1\/bias/);
    assert.throws(() => encodeSafetensors([tensors[2]!, tensors[2]!]), /conv1\/bias is taken/);
  });
});
