/**
 * The artifact store, the same for the JetStream Object Store and the filesystem: content
 * addressing, idempotent puts, verification on read, and repair by putting the right bytes again.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { ArtifactNotFoundError, CorruptArtifactError } from "../../transport/artifact-store.js";
import { implementations } from "./support/implementations.js";

function bytesOf(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

for (const implementation of implementations) {
  describe(`artifact store (${implementation.name})`, { concurrency: true }, () => {
    test("put returns the sha256 reference; get, has, size and delete use it", async () => {
      const deployment = await implementation.deploy();
      try {
        const { artifacts } = await deployment.connect();
        const bytes = bytesOf(1000, 1);
        const ref = await artifacts.put(bytes, { format: "swamp-mask" });
        assert.deepEqual(ref, { sha256: createHash("sha256").update(bytes).digest("hex"), size: 1000, format: "swamp-mask" });
        assert.deepEqual(await artifacts.put(bytes, { format: "swamp-mask" }), ref, "equal bytes, equal reference");
        assert.equal(await artifacts.has(ref), true);
        assert.equal(await artifacts.size(ref), 1000);
        assert.deepEqual(await artifacts.get(ref), bytes);
        assert.match(artifacts.location(ref), implementation.name === "nats" ? new RegExp(`^nats-object://swamp-artifacts-\\w+/${ref.sha256}$`) : new RegExp(`^file:///.*/artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}$`));

        await artifacts.delete(ref);
        await artifacts.delete(ref);
        assert.equal(await artifacts.has(ref), false);
        assert.equal(await artifacts.size(ref), undefined);
        await assert.rejects(artifacts.get(ref), (error: unknown) => {
          assert.ok(error instanceof ArtifactNotFoundError);
          assert.match(error.message, new RegExp(`artifact sha256:${ref.sha256} \\(swamp-mask\\) is not in`));
          return true;
        });
      } finally {
        await deployment.dispose();
      }
    });

    test("list names every stored object with its size and write time, and nothing deleted", async () => {
      const deployment = await implementation.deploy();
      try {
        const { artifacts } = await deployment.connect();
        const before = Date.now() - 1000;
        const [a, b, c] = await Promise.all([artifacts.put(bytesOf(100, 7)), artifacts.put(bytesOf(200, 8)), artifacts.put(bytesOf(300, 9))]);
        await artifacts.delete(b);
        const listed = (await artifacts.list()).sort((x, y) => x.size - y.size);
        assert.deepEqual(listed.map((o) => [o.sha256, o.size]), [[a.sha256, 100], [c.sha256, 300]]);
        for (const object of listed) assert.ok(object.modifiedAt >= before && object.modifiedAt <= Date.now() + 1000, `modifiedAt ${object.modifiedAt}`);
      } finally {
        await deployment.dispose();
      }
    });

    test("a multi-megabyte artifact round-trips intact", async () => {
      const deployment = await implementation.deploy();
      try {
        const { artifacts } = await deployment.connect();
        const bytes = bytesOf(3 * 1024 * 1024 + 17, 2);
        const ref = await artifacts.put(bytes);
        assert.deepEqual(await artifacts.get(ref), bytes);
      } finally {
        await deployment.dispose();
      }
    });

    test("tampered bytes are detected with CorruptArtifactError naming the reference, and a put repairs them", async () => {
      const deployment = await implementation.deploy();
      try {
        const { artifacts } = await deployment.connect();
        const bytes = bytesOf(5000, 3);
        const ref = await artifacts.put(bytes, { format: "swamp-weights" });
        const tampered = bytes.slice();
        tampered[4321] = tampered[4321]! ^ 0xff;
        await deployment.tamper(ref, tampered);

        await assert.rejects(artifacts.get(ref), (error: unknown) => {
          assert.ok(error instanceof CorruptArtifactError);
          assert.equal(error.ref.sha256, ref.sha256);
          assert.match(error.message, new RegExp(`^corrupt artifact sha256:${ref.sha256} \\(swamp-weights\\): stored bytes hash to sha256:[0-9a-f]{64}$`));
          return true;
        });
        await artifacts.put(bytes);
        assert.deepEqual(await artifacts.get(ref), bytes, "putting the right bytes again replaced the damaged ones");
      } finally {
        await deployment.dispose();
      }
    });
  });
}
