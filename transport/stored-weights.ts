/**
 * Reading a model from an artifact store: dense files stand alone, masked ones
 * (schema/weights-file.ts) name the mask artifact they were written under by its sha256, which
 * the same store holds (the cycle's mask, stored once for all its models). Workers and the server
 * both load weights through here.
 */
import type { ArtifactRef } from "../schema/fleet-messages.js";
import { decodeStoredWeights, storedWeightsMask, type WeightsFileValues, type WeightsHeaderEntry } from "../schema/weights-file.js";
import type { ArtifactStore } from "./artifact-store.js";

/** A stored weights file, its mask (when it names one) fetched by reference from wherever artifacts come from. */
export async function decodeStoredFile(
  file: Uint8Array,
  source: string,
  fetchMask: (ref: ArtifactRef) => Promise<Uint8Array>,
): Promise<{ values: WeightsFileValues; entries: WeightsHeaderEntry[] }> {
  const needs = storedWeightsMask(file, source);
  const maskBits = needs ? await fetchMask({ sha256: needs.sha256, size: needs.bytes }) : null;
  return decodeStoredWeights(file, source, maskBits);
}

export async function decodeStoredArtifact(store: ArtifactStore, file: Uint8Array, source: string): Promise<{ values: WeightsFileValues; entries: WeightsHeaderEntry[] }> {
  return decodeStoredFile(file, source, (ref) => store.get(ref));
}

export async function loadStoredWeights(store: ArtifactStore, ref: ArtifactRef): Promise<{ values: WeightsFileValues; entries: WeightsHeaderEntry[] }> {
  return decodeStoredArtifact(store, await store.get(ref), `artifact sha256:${ref.sha256}`);
}
