import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { FilesystemArtifacts } from "../../transport/embedded/filesystem-artifacts.js";
import { parseRangeHeader } from "../../server/http/byte-range.js";
import { registerArtifact } from "../../server/services/artifacts.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";
import { writeArtifact } from "../../transport/artifact-store.js";

let t: TestServer;
let artifactId: string;
let downloadUrl: string;
const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));

before(async () => {
  t = await startTestServer({}, "artifacts");
  const store = t.server.artifactStore as FilesystemArtifacts;
  const stored = await writeArtifact(store, bytes);
  assert.equal(stored.sha256, createHash("sha256").update(bytes).digest("hex"));
  const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig() }));
  const artifact = await inTransaction(t.server.services, (tx) =>
    registerArtifact(tx, { experimentId: experiment.id, cycleIndex: 0, kind: "weights", format: "tfjs-layers-weights", sizeBytes: stored.sizeBytes, sha256: stored.sha256, location: stored.location }),
  );
  artifactId = artifact.id;
  const response = await t.gql(`query($id: ID!) { artifact(id: $id) { id kind format sizeBytes sha256 contentType cycleIndex downloadUrl } }`, { id: artifactId });
  assert.equal(response.errors, undefined);
  assert.equal(response.data!.artifact.sizeBytes, 10_000);
  assert.equal(response.data!.artifact.cycleIndex, 0);
  downloadUrl = response.data!.artifact.downloadUrl;
});
after(async () => {
  await t.close();
});

const get = (headers: Record<string, string> = {}, token: string | null = t.adminToken, method = "GET") =>
  fetch(downloadUrl, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

describe("artifact downloads", () => {
  it("serve the whole artifact with its sha256 as ETag", async () => {
    const response = await get();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.equal(response.headers.get("etag"), `"${createHash("sha256").update(bytes).digest("hex")}"`);
    assert.equal(response.headers.get("content-length"), "10000");
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  });

  it("serve byte ranges: closed, open-ended and suffix", async () => {
    for (const [range, start, end] of [["bytes=100-199", 100, 199], ["bytes=9990-", 9990, 9999], ["bytes=-10", 9990, 9999], ["bytes=9000-20000", 9000, 9999]] as const) {
      const response = await get({ range });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/10000`);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range);
    }
  });

  it("answer 416 for a range past the end, and the whole body for a stale If-Range", async () => {
    const past = await get({ range: "bytes=10000-" });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get("content-range"), "bytes */10000");
    const stale = await get({ range: "bytes=0-9", "if-range": '"something-else"' });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, 10_000);
  });

  it("answer HEAD and If-None-Match without a body", async () => {
    const head = await get({}, t.adminToken, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "10000");
    const cached = await get({ "if-none-match": head.headers.get("etag")! });
    assert.equal(cached.status, 304);
  });

  it("need a read token like queries do, and name the problem", async () => {
    const anonymous = await get({}, null);
    assert.equal(anonymous.status, 401);
    assert.match(await anonymous.text(), /needs a bearer token/);
    const unknown = await get({}, "swamp_unknown");
    assert.equal(unknown.status, 401);
    const reader = await get({}, await t.token(["read"]));
    assert.equal(reader.status, 200);
  });

  it("answer 404 for an unknown artifact, 400 for a malformed id, and 404 when the bytes are gone", async () => {
    const unknown = await fetch(`${t.server.baseUrl}/artifacts/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    assert.equal(unknown.status, 404);
    const malformed = await fetch(`${t.server.baseUrl}/artifacts/..%2F..%2Fetc%2Fpasswd`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    assert.equal(malformed.status, 400);
    const outside = await inTransaction(t.server.services, (tx) =>
      registerArtifact(tx, { kind: "other", format: "raw", sizeBytes: 5, sha256: "b".repeat(64), location: "file:///etc/hostname" }),
    );
    const refused = await fetch(`${t.server.baseUrl}/artifacts/${outside.id}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    assert.equal(refused.status, 404, "a location outside the artifact root is never read");
  });
});

describe("parseRangeHeader", () => {
  it("reads single ranges and ignores what it does not serve", () => {
    assert.deepEqual(parseRangeHeader(undefined, 10), { kind: "whole" });
    assert.deepEqual(parseRangeHeader("bytes=0-0", 10), { kind: "partial", range: { start: 0, end: 0 } });
    assert.deepEqual(parseRangeHeader("bytes=0-1,5-6", 10), { kind: "whole" });
    assert.deepEqual(parseRangeHeader("items=0-1", 10), { kind: "whole" });
    assert.deepEqual(parseRangeHeader("bytes=5-2", 10), { kind: "unsatisfiable" });
    assert.deepEqual(parseRangeHeader("bytes=-0", 10), { kind: "unsatisfiable" });
    assert.deepEqual(parseRangeHeader("bytes=-20", 10), { kind: "partial", range: { start: 0, end: 9 } });
  });
});
