/** The artifact bucket's size limit (SWAMP_ARTIFACTS_MAX_BYTES): a write past it is refused with an error that says what to do. */
import { jetstreamManager } from "@nats-io/jetstream";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { ArtifactStoreFullError } from "../../transport/artifact-store.js";
import { deleteFleetResources } from "../../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../../transport/nats/nats-transport.js";
import type { NatsTransport } from "../../transport/nats/nats-transport.js";
import { CaptureLogger } from "./support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "./support/implementations.js";

const LIMIT = 1_048_576;
let transport: NatsTransport | undefined;

after(async () => {
  if (!transport) return;
  await deleteFleetResources(transport.connection, await jetstreamManager(transport.connection), transport.names);
  await transport.close();
});

test("artifacts fit until the bucket's limit; the write past it fails with ArtifactStoreFullError naming the bucket and the setting", async () => {
  transport = await createNatsTransport({ url: NATS_TEST_URL, namespace: uniqueNamespace(), artifactsMaxBytes: LIMIT, logger: new CaptureLogger() });
  const small = await transport.artifacts.put(randomBytes(LIMIT / 4));
  assert.equal(await transport.artifacts.has(small), true);
  await assert.rejects(transport.artifacts.put(randomBytes(LIMIT)), (error: Error) => {
    assert.ok(error instanceof ArtifactStoreFullError, `${error.name}: ${error.message}`);
    assert.match(error.message, /object store bucket swamp-artifacts\S* is full \(its SWAMP_ARTIFACTS_MAX_BYTES limit\); delete experiments/);
    return true;
  });
  // What was stored before is intact.
  assert.equal((await transport.artifacts.get(small)).byteLength, LIMIT / 4);
});
