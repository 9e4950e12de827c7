import assert from "node:assert/strict";
import { test } from "node:test";
import { requireAnalysisInput, parseAnalysisInput, requireAnalysisResult } from "../../schema/analyses.js";
import { packMask } from "../../schema/mask-bits.js";
import { maskLayersOf, maskOverlap } from "../../schema/mask-overlap.js";
import { ModelSession } from "../../worker/engine/model-session.js";
import { Random } from "../../worker/engine/rng.js";
import { smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

test("maskOverlap counts Jaccard and Hamming per layer and overall as a bit-by-bit count does", () => {
  const random = Random.derive(5, ["mask-overlap"]);
  // Sizes that are not multiples of 8, so layers start and end inside bytes.
  const layers = [{ name: "a", size: 13 }, { name: "b", size: 64 }, { name: "c", size: 5 }, { name: "d", size: 101 }];
  const a = layers.map((l) => Uint8Array.from({ length: l.size }, () => (random.next() < 0.6 ? 1 : 0)));
  const b = layers.map((l) => Uint8Array.from({ length: l.size }, () => (random.next() < 0.3 ? 1 : 0)));
  const overlap = maskOverlap(packMask(a), packMask(b), layers);
  let all = { both: 0, either: 0, a: 0, b: 0 };
  layers.forEach((layer, i) => {
    let both = 0;
    let either = 0;
    let aliveA = 0;
    let aliveB = 0;
    for (let j = 0; j < layer.size; j++) {
      both += a[i]![j]! & b[i]![j]!;
      either += a[i]![j]! | b[i]![j]!;
      aliveA += a[i]![j]!;
      aliveB += b[i]![j]!;
    }
    const got = overlap.layers[i]!;
    assert.deepEqual(got, { layer: layer.name, jaccard: both / either, hamming: either - both, aliveA, aliveB, intersection: both, union: either, total: layer.size });
    all = { both: all.both + both, either: all.either + either, a: all.a + aliveA, b: all.b + aliveB };
  });
  assert.equal(overlap.jaccard, all.both / all.either);
  assert.equal(overlap.hamming, all.either - all.both);
  assert.equal(overlap.total, 183);
  assert.equal(maskOverlap(packMask(a), packMask(a), layers).jaccard, 1);
  const empty = layers.map((l) => new Uint8Array(l.size));
  assert.equal(maskOverlap(packMask(empty), packMask(empty), layers).jaccard, 1, "two empty masks agree");
  assert.throws(() => maskOverlap(new Uint8Array(3), packMask(b), layers), /first mask has 3 bytes, expected 23/);
});

test("maskLayersOf gives the built model's prunable layers in mask order", async () => {
  await useDefaultBackend();
  for (const model of ["lenet-300-100", "lenet-5", "conv-2"] as const) {
    const config = smallConfig({ model: { name: model } });
    const session = ModelSession.build(config, [28, 28, 1], 10);
    try {
      const fromLayout = session.layout.prunable.map((p) => ({ name: session.layout.entries[p]!.layer, size: session.layout.entries[p]!.size }));
      assert.deepEqual(maskLayersOf(config), fromLayout, model);
    } finally {
      session.dispose();
    }
  }
});

test("analysis inputs: defaults are filled and a bad field is named", () => {
  assert.deepEqual(requireAnalysisInput("interpolate", { cycle: 2 }), { cycle: 2, pairs: "particles", points: 21, mask: "same", seed: 0 });
  assert.deepEqual(requireAnalysisInput("plane", { cycle: 1 }).models, ["particle:0", "particle:1", "average"]);
  assert.equal(requireAnalysisInput("plane", { cycle: 1 }).grid, 25);
  assert.equal(requireAnalysisInput("plane", { cycle: 1 }).margin, 0.2);
  const problems = (kind: Parameters<typeof parseAnalysisInput>[0], input: unknown) => {
    const parsed = parseAnalysisInput(kind, input);
    assert.ok(!parsed.ok);
    return parsed.problems.map((p) => `${p.path}: ${p.message}`).join("\n");
  };
  assert.match(problems("interpolate", { cycle: 1, points: 1 }), /^points: /);
  assert.match(problems("interpolate", { cycle: 1, points: 1e6 }), /^points: /);
  assert.match(problems("interpolate", { cycle: 0, pairs: "cycles" }), /^cycle: .*at least 1/);
  assert.match(problems("interpolate", { cycle: 1, pairs: "neighbours" }), /^pairs: must be one of "particles", "average", "cycles", "swamp-vs-imp"/);
  assert.match(problems("flatness", { cycle: 1, model: "particle:x" }), /^model: must be "average" or "particle:P"/);
  assert.match(problems("flatness", { cycle: 1, rho: 0 }), /^rho: /);
  assert.match(problems("flatness", { cycle: 1, probes: Number.POSITIVE_INFINITY }), /^probes: must be a finite number/);
  assert.match(problems("plane", { cycle: 1, models: ["average", "average", "particle:0"] }), /^models: must name three different models/);
  assert.match(problems("plane", { cycle: 1, grid: 500 }), /^grid: /);
  assert.match(problems("mask-overlap", { cycles: [1] }), /^cycles/);
  assert.match(problems("ensemble", { cycle: 1, colour: "red" }), /unknown field\(s\) "colour"/);
  assert.match(problems("flatness", {}), /^cycle: is required/);
  assert.throws(() => requireAnalysisResult("flatness", { trace: 1 }), /flatness analysis result does not match its schema/);
});
