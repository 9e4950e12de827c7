/**
 * Hostile config submissions and query arguments against a real server: each gets a clean error
 * naming the field or argument, leaks no stack or SQL, stores nothing, and leaves the server answering.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/cli.js";
import { collect, sampleConfig, startTestServer, type GraphQLResponse, type TestServer } from "./support/test-server.js";

const CREATE = `mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`;
const ID = "00000000-0000-4000-8000-000000000000";

let t: TestServer;
let root: string;

/** What no error response may contain: stack frames, SQL, driver or module internals. */
const LEAKS = /\n\s+at |\bat \S+ \(|SELECT |INSERT |QueryFailedError|node_modules|stacktrace|pg_|relation "|ENOENT|EACCES|no such file/i;

async function experimentCount(): Promise<number> {
  const rows = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`);
  return rows[0].n;
}

/** POSTs a raw body, for JSON that JSON.stringify cannot write (1e999). */
async function postRaw(body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(t.server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` }, body });
  return { status: response.status, text: await response.text() };
}

/**
 * Sends a request and asserts it is refused: an error matching each of `expected`, no leak, no
 * row stored by it, and a server still answering.
 */
async function assertRefused(send: () => Promise<{ status: number; text: string }>, ...expected: RegExp[]): Promise<{ status: number; text: string }> {
  const stored = await experimentCount();
  const response = await send();
  const body = JSON.parse(response.text) as GraphQLResponse;
  assert.ok(body.errors && body.errors.length > 0, `expected an error, got ${response.text.slice(0, 300)}`);
  for (const pattern of expected) {
    assert.ok(
      body.errors.some((error) => pattern.test(error.message)),
      `expected an error matching ${pattern}, got ${body.errors.map((e) => e.message).join(" | ").slice(0, 500)}`,
    );
  }
  assert.doesNotMatch(response.text, LEAKS);
  assert.ok(!body.errors.some((error) => error.extensions?.code === "INTERNAL_SERVER_ERROR"), response.text.slice(0, 300));
  assert.equal(await experimentCount(), stored, "nothing stored");
  const alive = await t.gql(`{ experiments(first: 1) { totalCount } }`);
  assert.equal(alive.errors, undefined, JSON.stringify(alive.errors));
  return response;
}

async function query(text: string, variables: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  return postRaw(JSON.stringify({ query: text, variables }));
}

const createWith = (config: Record<string, unknown>) => query(CREATE, { config });
const fmnist = (dir: string) => sampleConfig({ data: { name: "fashion-mnist", dir } });

before(async () => {
  root = tempDir("data-root");
  mkdirSync(join(root, "fashion-mnist"));
  symlinkSync("/etc", join(root, "escape"));
  t = await startTestServer({ dataRoots: [root] }, "adversarial_config");
});
after(async () => {
  await t.close();
});

describe("non-finite and out-of-range config numbers", () => {
  it("refuses the GraphQL literal 1e999 (Infinity) at training.lr", async () => {
    await assertRefused(() => query(`mutation { createExperiment(config: { name: "inf", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, training: { lr: 1e999 } }) { id } }`), /training\.lr: must be a finite number/);
  });

  it("refuses the GraphQL literal -1e999 at training.weightDecay", async () => {
    await assertRefused(() => query(`mutation { createExperiment(config: { name: "neginf", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, training: { weightDecay: -1e999 } }) { id } }`), /training\.weightDecay: must be a finite number/);
  });

  it("refuses 1e999 in JSON variables (JSON.parse gives Infinity) at swa.lr", async () => {
    const body = JSON.stringify({ query: CREATE, variables: { config: sampleConfig({ swa: { lr: 0.5 } }) } }).replace('"lr":0.5', '"lr":1e999');
    await assertRefused(() => postRaw(body), /swa\.lr: must be a finite number/);
  });

  it("refuses an Int literal too large for any protocol at training.epochs", async () => {
    await assertRefused(() => query(`mutation { createExperiment(config: { name: "huge", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, training: { epochs: 99999999999999999999 } }) { id } }`), /training\.epochs: Number must be less than or equal to 1000/);
  });

  it("refuses a huge rewindEpochs, particle count and cycle count, each at its field", async () => {
    const config = sampleConfig({ training: { rewindEpochs: 1e15 }, method: { name: "swamp", particles: 1e6 }, pruning: { cycles: 2 ** 40 } });
    await assertRefused(() => createWith(config), /training\.rewindEpochs/, /method\.particles/, /pruning\.cycles/);
  });

  it("refuses negative and fractional subset sizes", async () => {
    const config = sampleConfig({ data: { name: "synthetic", trainSubset: -5, testSubset: 2.5 } });
    await assertRefused(() => createWith(config), /data\.trainSubset: Number must be greater than 0/, /data\.testSubset: Expected integer/);
  });

  it("refuses the string \"NaN\" and a seed of -1e999", async () => {
    await assertRefused(() => createWith(sampleConfig({ training: { lr: "NaN" } })), /training\.lr: Expected number, received string/);
    await assertRefused(() => query(`mutation { createExperiment(config: { name: "seed", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, seed: -1e999 }) { id } }`), /seed: must be a finite number/);
  });

  it("refuses a schedule that empties the network, at pruning.cycles", async () => {
    await assertRefused(() => createWith(sampleConfig({ method: { name: "imp" }, pruning: { rate: 0.9, cycles: 10 } })), /pruning\.cycles: global pruning at rate 0\.9 leaves every pruned layer with no weights at cycle 6/);
  });
});

describe("data.dir outside the data roots", () => {
  for (const [label, dir] of [
    ["/etc", "/etc"],
    ["a relative ../../etc", "../../etc"],
    ["an absolute path climbing out with ..", "ROOT/../../etc"],
    ["a symlink inside the root pointing out", "ROOT/escape"],
    ["a path under such a symlink that does not exist", "ROOT/escape/nothing-here"],
  ] as const) {
    it(`refuses ${label}, naming data.dir and saying nothing of the file system`, async () => {
      const response = await assertRefused(() => createWith(fmnist(dir.replace("ROOT", root))), /^invalid experiment config \(1 problem\): data\.dir: (is outside|must be an absolute path inside) the allowed data roots/);
      assert.doesNotMatch(response.text, /passwd|exist|symlink|directory/i);
    });
  }
});

describe("path-like and oversized strings and objects", () => {
  it("refuses path-like names", async () => {
    for (const name of ["../../etc/passwd", "/etc/passwd", "C:\\Windows", "a/b"]) {
      await assertRefused(() => createWith(sampleConfig({ name })), /name: use only letters, digits/);
    }
  });

  it("refuses path-like and oversized strings in pruning.exclude and tags", async () => {
    await assertRefused(() => createWith(sampleConfig({ pruning: { exclude: ["../../etc"] } })), /pruning\.exclude\.0: lenet-300-100 has no prunable layer named/);
    await assertRefused(() => createWith(sampleConfig({ tags: ["x".repeat(5000)] })), /tags\.0: String must contain at most 100 character/);
  });

  it("refuses a deeply nested config object without overflowing", async () => {
    let nested: Record<string, unknown> = { leaf: 1 };
    for (let depth = 0; depth < 2000; depth++) nested = { a: nested };
    await assertRefused(() => createWith({ ...sampleConfig(), extra: nested }), /\(root\): Unrecognized key\(s\) in object: 'extra'/);
  });

  it("refuses an object literal nested 50 deep in the query text by its field", async () => {
    const literal = `${"{ a: ".repeat(50)}1${" }".repeat(50)}`;
    await assertRefused(
      () => query(`mutation { createExperiment(config: { name: "deep", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, extra: ${literal} }) { id } }`),
      /\(root\): Unrecognized key\(s\) in object: 'extra'/,
    );
  });

  it("refuses object and list literals nested thousands deep before parsing (graphql-js would overflow its stack), over HTTP and WebSocket", async () => {
    for (const literal of [`${"{ a: ".repeat(5000)}1${" }".repeat(5000)}`, `${"[".repeat(100_000)}${"]".repeat(100_000)}`]) {
      const text = `mutation { createExperiment(config: { name: "deep", extra: ${literal} }) { id } }`;
      const response = await assertRefused(() => query(text), /^the document is nested more than 128 levels deep$/);
      assert.equal(response.status, 400);
      const { results } = collect(t.wsClient(), text, {}, 1, 5_000);
      await assert.rejects(results, /the document is nested more than 128 levels deep/);
    }
  });

  it("refuses a config nested 100 000 deep in JSON variables by its field", async () => {
    const body = `{"query":${JSON.stringify(CREATE)},"variables":{"config":{"name":"deep","data":{"name":"synthetic"},"model":{"name":"lenet-300-100"},"method":{"name":"imp"},"extra":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}}}`;
    await assertRefused(() => postRaw(body), /\(root\): Unrecognized key\(s\) in object: 'extra'/);
  });

  it("refuses an oversized config (100 000 tags) by its field", async () => {
    const tags = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    await assertRefused(() => createWith(sampleConfig({ tags })), /tags: Array must contain at most 50 element/);
  });
});

describe("pagination, limit and samples arguments", () => {
  for (const [label, text, argument] of [
    ["experiments(first: -1)", `{ experiments(first: -1) { totalCount } }`, "first"],
    ["experiments(first: 0)", `{ experiments(first: 0) { totalCount } }`, "first"],
    ["experiments(first: 2147483647)", `{ experiments(first: 2147483647) { totalCount } }`, "first"],
    ["metricPoints(first: -100000000)", `{ metricPoints(experimentId: "${ID}", cycle: 0, key: "train/loss", first: -100000000) { hasNextPage } }`, "first"],
    ["metrics(samples: -2147483648)", `{ metrics(experimentId: "${ID}", cycle: 0, keys: ["train/loss"], samples: -2147483648) { key } }`, "samples"],
    ["metrics(samples: 1)", `{ metrics(experimentId: "${ID}", cycle: 0, keys: ["train/loss"], samples: 1) { key } }`, "samples"],
    ["frontier(limit: -1000000)", `{ frontier(limit: -1000000) { experimentId } }`, "limit"],
    ["frontier(limit: 0)", `{ frontier(limit: 0) { experimentId } }`, "limit"],
  ] as const) {
    it(`refuses ${label} before running anything, naming ${argument}`, async () => {
      const response = await assertRefused(() => query(text), new RegExp(`^${argument}: must be an integer from \\d+ to \\d+, got -?\\d+$`));
      assert.equal(response.status, 400, "refused while the cost is estimated, not by a resolver");
    });
  }

  it("refuses an argument given as a variable just the same", async () => {
    const response = await assertRefused(() => query(`query($n: Int) { experiments(first: $n) { totalCount } }`, { n: -50 }), /^first: must be an integer from 1 to 500, got -50$/);
    assert.equal(response.status, 400);
  });

  it("a negative page size elsewhere in the operation cannot pay for an expensive field", async () => {
    const text = `{ experiments(first: 500) { nodes { cycles { particles { accuracy loss } } } } frontier(limit: -2000000000) { experimentId } }`;
    const response = await assertRefused(() => query(text), /^limit: must be an integer/);
    assert.equal(response.status, 400);
    assert.equal((JSON.parse(response.text) as GraphQLResponse).data, undefined, "the expensive field never ran");
  });

  it("prices cycles and particles at the most a config allows (201 × 64), not a typical run", async () => {
    // 20 experiments × 201 cycles × 64 particles × 2 fields is far over the limit; at 26 × 8 it was 9 000.
    await assertRefused(() => query(`{ experiments(first: 20) { nodes { cycles { particles { accuracy loss } } } } }`), /^query cost \d+ exceeds the limit of 250000/);
    const one = await t.gql(`{ experiments(first: 1) { nodes { cycles { particles { accuracy loss } } } } }`);
    assert.equal(one.errors, undefined, JSON.stringify(one.errors));
  });
});

describe("a data.dir inside the roots", () => {
  it("is accepted and stored (the control for the refusals above)", async () => {
    const stored = await experimentCount();
    const response = await t.gql(CREATE, { config: fmnist(join(root, "fashion-mnist")) });
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    assert.equal(await experimentCount(), stored + 1);
  });
});
