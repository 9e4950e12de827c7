/**
 * Hostile, malformed and oversized requests against a real server: each must get a clean error
 * (a status and a code, never a stack trace or SQL), store nothing, and leave the server answering.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getIntrospectionQuery } from "graphql";
import WebSocket from "ws";
import { registerArtifact } from "../../server/services/artifacts.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { connectRaw, subscribeRaw, waitForMessage, type RawConnection } from "./support/raw-websocket.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";
import { writeArtifact } from "../../transport/artifact-store.js";

/** What must never reach a client: stack frames, SQL, driver errors, file paths. */
const LEAK = /\bat \S+ \(|\.[jt]s:\d+|QueryFailedError|\bSELECT\b|\bINSERT\b|\bUPDATE\b|DELETE FROM|relation "|syntax error at|invalid byte sequence|node_modules|\/work\/|\/home\//;

let t: TestServer;
let readToken: string;
let writeToken: string;
let revokedToken: string;
let experimentId: string;
let artifactUrl: string;

before(async () => {
  t = await startTestServer(
    { webSocketLimits: { maxConnectionsPerToken: 3, maxConnectionsPerAddress: 3, maxSubscriptionsPerConnection: 3, revocationCheckMs: 300 } },
    "adversarial",
  );
  readToken = await t.token(["read"], "adversarial reader");
  writeToken = await t.token(["write"], "adversarial writer");
  revokedToken = await t.token(["admin"], "adversarial revoked");
  await t.server.dataSource.query(`UPDATE api_tokens SET revoked_at = now() WHERE name = 'adversarial revoked'`);
  experimentId = (await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: "target" }) }))).id;
  const stored = await writeArtifact(t.server.artifactStore, Buffer.alloc(1000, 7));
  const artifact = await inTransaction(t.server.services, (tx) =>
    registerArtifact(tx, { experimentId, kind: "weights", format: "raw", sizeBytes: stored.sizeBytes, sha256: stored.sha256, location: stored.location }),
  );
  artifactUrl = `${t.server.baseUrl}/artifacts/${artifact.id}`;
});
after(async () => {
  await t.close();
});

async function rowCounts(): Promise<Record<string, number>> {
  const rows: Array<Record<string, number>> = await t.server.dataSource.query(
    `SELECT (SELECT count(*)::int FROM experiments) AS experiments, (SELECT count(*)::int FROM api_tokens) AS tokens,
            (SELECT count(*)::int FROM api_tokens WHERE revoked_at IS NOT NULL) AS revoked, (SELECT count(*)::int FROM artifacts) AS artifacts,
            (SELECT count(*)::int FROM metric_series) AS series, (SELECT string_agg(array_to_string(tags, ','), ';' ORDER BY id) FROM experiments) AS tags`,
  );
  return rows[0]!;
}

/** A simple query still gets its answer (the bound is generous: this is no timing assertion). */
async function assertStillAnswers(): Promise<void> {
  const response = await fetch(t.server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` },
    body: JSON.stringify({ query: `{ experiments(first: 1) { totalCount } }` }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as { data: { experiments: { totalCount: number } } }).data.experiments.totalCount, 1);
}

/** One hostile request: it runs, stores nothing, and the server answers afterwards. */
function hostile(name: string, attack: () => Promise<void>): void {
  it(name, { timeout: 60_000 }, async () => {
    const before = await rowCounts();
    await attack();
    assert.deepEqual(await rowCounts(), before, "nothing stored or changed");
    await assertStillAnswers();
  });
}

interface RawResponse {
  status: number;
  text: string;
  errors: Array<{ message: string; extensions?: Record<string, any> }>;
}

async function post(body: string | Uint8Array | ReadableStream, headers: Record<string, string> = {}, token: string | null = t.adminToken): Promise<RawResponse> {
  const response = await fetch(t.server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const text = await response.text();
  let errors: RawResponse["errors"] = [];
  try {
    errors = (JSON.parse(text) as { errors?: RawResponse["errors"] }).errors ?? [];
  } catch {
    // not JSON: the caller checks the text
  }
  return { status: response.status, text, errors };
}

const gql = (query: string, variables: Record<string, unknown> = {}, token: string | null = t.adminToken) => post(JSON.stringify({ query, variables }), {}, token);

/** Asserts a clean refusal: the status, the first error's code, optionally its message, and no leak. */
function assertRefused(response: RawResponse, status: number | number[], code: string | string[], message?: RegExp): void {
  assert.ok((Array.isArray(status) ? status : [status]).includes(response.status), `status ${response.status}: ${response.text.slice(0, 300)}`);
  assert.ok(response.errors.length > 0, `errors in ${response.text.slice(0, 300)}`);
  assert.ok((Array.isArray(code) ? code : [code]).includes(response.errors[0]!.extensions?.code), `code ${response.errors[0]!.extensions?.code}: ${response.errors[0]!.message}`);
  if (message) assert.match(response.errors[0]!.message, message);
  assert.doesNotMatch(response.text, LEAK);
}

describe("floods and oversized documents", () => {
  hostile("an unauthenticated flood of 50,000 repeated fields", async () => {
    assertRefused(await gql(`{ experiments { ${"totalCount ".repeat(50_000)} } }`, {}, null), [400, 401], ["GRAPHQL_VALIDATION_FAILED", "UNAUTHENTICATED", "BAD_USER_INPUT"]);
  });
  hostile("an unauthenticated flood of 5,000 aliases", async () => {
    const query = `{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: experiments(first: 500) { totalCount }`).join(" ")} }`;
    assertRefused(await gql(query, {}, null), [400, 401], ["UNAUTHENTICATED", "BAD_USER_INPUT", "QUERY_TOO_COMPLEX"]);
  });
  hostile("an authenticated flood of 5,000 expensive aliases", async () => {
    const query = `{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: experiments(first: 500) { nodes { id } }`).join(" ")} }`;
    assertRefused(await gql(query), 400, ["QUERY_TOO_COMPLEX", "BAD_USER_INPUT"]);
  });
  hostile("5,000 levels of nesting, over HTTP and WebSocket", async () => {
    for (const query of [`{ ${"experiments { ".repeat(5_000)} id ${"} ".repeat(5_000)} }`, `{ experiments(filter: ${"{ ids: [".repeat(3_000)}${"] }".repeat(3_000)}) { totalCount } }`]) {
      assertRefused(await gql(query, {}, null), 400, "QUERY_TOO_COMPLEX", /nested more than 128 levels deep/);
      const connection = (await connectRaw(t.server.wsUrl, { token: readToken })) as Extract<RawConnection, { kind: "open" }>;
      subscribeRaw(connection.socket, "deep", query);
      const refused = await waitForMessage(connection, (m) => m.id === "deep");
      assert.equal(refused.type, "error");
      assert.equal(refused.payload[0].extensions.code, "QUERY_TOO_COMPLEX");
      connection.socket.close();
      await connection.closed;
    }
    const commented = `{ experiments { totalCount } } # ${"{".repeat(5_000)}\n`;
    assert.equal((await gql(commented)).status, 200, "braces in comments do not count");
    const quoted = await gql(`{ experiments(filter: { nameContains: "${"{".repeat(150)}" }) { totalCount } }`);
    assert.equal(quoted.status, 200, "braces in strings do not count");
  });
  hostile("fragments that spread each other in a cycle", async () => {
    const query = `query { ...A } fragment A on Query { experiments { totalCount } ...B } fragment B on Query { workers { id } ...A }`;
    assertRefused(await gql(query, {}, null), 400, "GRAPHQL_VALIDATION_FAILED", /Cannot spread fragment/);
  });
  hostile("a 1.5 MiB document", async () => {
    assertRefused(await gql(`{ experiments { totalCount } } # ${"x".repeat(1_500_000)}`, {}, null), 413, "PAYLOAD_TOO_LARGE", /request body exceeds 1048576 bytes/);
  });
  hostile("an oversized body sent chunked, without a Content-Length", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode(`{"query":"{ experiments { totalCount } }","padding":"`));
        if (sent++ < 40) controller.enqueue(chunk);
        else {
          controller.enqueue(new TextEncoder().encode(`"}`));
          controller.close();
        }
      },
    });
    assertRefused(await post(stream), 413, "PAYLOAD_TOO_LARGE");
  });
  hostile("batched queries (an array body)", async () => {
    assertRefused(await post(JSON.stringify([{ query: "{ experiments { totalCount } }" }, { query: "{ workers { id } }" }])), 400, "BAD_REQUEST", /batching disabled/i);
  });
  hostile("introspection nested past the introspection limit, without a token", async () => {
    const query = `{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } }`;
    assertRefused(await gql(query, {}, null), 400, "GRAPHQL_VALIDATION_FAILED", /introspection depth/);
  });
  hostile("introspection with 30 levels of ofType and 5,000 __typename aliases, without a token", async () => {
    const ofType = await gql(`{ __type(name: "Query") { ${"ofType { ".repeat(30)} name ${"} ".repeat(30)} } }`, {}, null);
    assertRefused(ofType, 400, "QUERY_TOO_COMPLEX", /introspection is nested more than 20 levels deep/);
    const explorer = await gql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }), {}, null);
    assert.equal(explorer.status, 200, "the explorer's full introspection query still works");
    const aliases = await gql(`{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: __typename`).join(" ")} }`, {}, null);
    assert.ok([200, 400].includes(aliases.status));
    assert.doesNotMatch(aliases.text, LEAK);
  });
});

describe("pagination", () => {
  for (const first of [-1, 0, 501, 2_147_483_647]) {
    hostile(`experiments(first: ${first})`, async () => {
      assertRefused(await gql(`{ experiments(first: ${first}) { totalCount } }`), 400, "BAD_USER_INPUT", /^first: must be an integer from 1 to 500/);
    });
  }
  hostile("experiments(first: 2^31), past GraphQL's Int", async () => {
    assertRefused(await gql(`{ experiments(first: 2147483648) { totalCount } }`), 400, "GRAPHQL_VALIDATION_FAILED", /Int cannot represent/);
  });
  const forgedCursor = Buffer.from(JSON.stringify({ o: "createdAt:desc", v: "'; DROP TABLE experiments; --", id: "x" })).toString("base64url");
  for (const [label, cursor] of [
    ["garbage", "garbage"],
    ["path-like", "../../etc/passwd"],
    ["control characters", "\u0000\u0007\u001b[2J"],
    ["forged with SQL", forgedCursor],
    ["100,000 characters", "A".repeat(100_000)],
  ] as const) {
    hostile(`experiments(after:) with a ${label} cursor`, async () => {
      assertRefused(await gql(`query($after: String) { experiments(after: $after) { totalCount } }`, { after: cursor }), 200, "BAD_USER_INPUT", /^after: /);
    });
  }
  hostile("metricPoints with negative first, cycle and particle", async () => {
    const response = await gql(`query($id: ID!) { metricPoints(experimentId: $id, cycle: -5, particle: -1, key: "train/loss", first: -3) { hasNextPage } }`, { id: experimentId });
    // Argument ranges are checked while the cost is estimated, before anything runs: HTTP 400.
    assertRefused(response, 400, "BAD_USER_INPUT", /^(first|cycle|particle): must be an integer/);
  });
  hostile("metricPoints with a garbage cursor", async () => {
    assertRefused(await gql(`query($id: ID!) { metricPoints(experimentId: $id, cycle: 0, key: "k", after: "../../x") { hasNextPage } }`, { id: experimentId }), 200, "BAD_USER_INPUT", /^after:/);
  });
  hostile("metrics(samples:) negative and huge, frontier(limit:) negative and huge", async () => {
    for (const samples of [-1, 1_000_000]) {
      assertRefused(await gql(`query($id: ID!) { metrics(experimentId: $id, cycle: 0, keys: ["k"], samples: ${samples}) { key } }`, { id: experimentId }), [200, 400], ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"]);
    }
    for (const limit of [-1, 1_000_000_000]) {
      assertRefused(await gql(`{ frontier(limit: ${limit}) { experimentId } }`), [200, 400], ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"]);
    }
  });
});

describe("path-like and control-character strings", () => {
  const HOSTILE_STRINGS = ["../../etc/passwd", "a\u0000b", "line\nbreak\r\u001b[31m", "%' OR 1=1 --"];
  for (const value of HOSTILE_STRINGS) {
    hostile(`an experiment id ${JSON.stringify(value)}`, async () => {
      assertRefused(await gql(`query($id: ID!) { experiment(id: $id) { id } }`, { id: value }), 200, "BAD_USER_INPUT", /^id: [\s\S]* is not a valid id/);
    });
  }
  for (const field of ["tags", "datasets", "methods", "models"] as const) {
    hostile(`filter.${field} with NUL and control characters`, async () => {
      const response = await gql(`query($f: ExperimentFilter) { experiments(filter: $f) { totalCount } }`, { f: { [field]: ["ok", "a\u0000b"] } });
      assertRefused(response, 200, "BAD_USER_INPUT", new RegExp(`^filter\\.${field}\\.1: must not contain control characters`));
    });
  }
  for (const field of ["nameContains", "configHash"] as const) {
    hostile(`filter.${field} with a NUL character`, async () => {
      const response = await gql(`query($f: ExperimentFilter) { experiments(filter: $f) { totalCount } }`, { f: { [field]: "../\u0000" } });
      assertRefused(response, 200, "BAD_USER_INPUT", new RegExp(`^filter\\.${field}: must not contain control characters`));
    });
  }
  hostile("a filter listing 100,000 datasets", async () => {
    const response = await gql(`query($d: [String!]) { experiments(filter: { datasets: $d }) { totalCount } }`, { d: Array.from({ length: 100_000 }, (_, i) => `d${i}`) });
    assertRefused(response, 200, "BAD_USER_INPUT", /^filter\.datasets: at most 1000 values/);
  });
  hostile("a filter string of 500,000 characters", async () => {
    const response = await gql(`query($n: String) { experiments(filter: { nameContains: $n }) { totalCount } }`, { n: "x".repeat(500_000) });
    assertRefused(response, 200, "BAD_USER_INPUT", /^filter\.nameContains: must be at most 200 characters/);
  });
  for (const name of ["a\u0000b", "forged\nlog line", "x".repeat(201)]) {
    hostile(`a token name ${JSON.stringify(name.slice(0, 20))}`, async () => {
      const response = await gql(`mutation($n: String!) { createApiToken(name: $n, scopes: [READ]) { secret } }`, { n: name });
      assertRefused(response, 200, "BAD_USER_INPUT", /^name: /);
    });
  }
  hostile("tags with NUL, path-like and oversized values (setTags and createExperiment)", async () => {
    for (const tags of [["a\u0000b"], ["ok", "\u001b[2J"], ["x".repeat(101)]]) {
      assertRefused(await gql(`mutation($id: ID!, $t: [String!]!) { setTags(id: $id, tags: $t) { id } }`, { id: experimentId, t: tags }), 200, "BAD_USER_INPUT", /tags\.\d/);
      assertRefused(await gql(`mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig({ tags }) }), 200, "BAD_USER_INPUT", /tags/);
    }
  });
  for (const name of ["../../etc/passwd", "a\u0000b", "/absolute"]) {
    hostile(`an experiment name ${JSON.stringify(name)}`, async () => {
      assertRefused(await gql(`mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig({ name }) }), 200, "BAD_USER_INPUT", /name: /);
    });
  }
  hostile("metric keys with NUL and of 900,000 characters", async () => {
    for (const key of ["a\u0000b", "k".repeat(900_000)]) {
      assertRefused(await gql(`query($id: ID!, $k: String!) { metricPoints(experimentId: $id, cycle: 0, key: $k) { hasNextPage } }`, { id: experimentId, k: key }), 200, "BAD_USER_INPUT", /^key: /);
      assertRefused(await gql(`query($id: ID!, $k: [String!]!) { metrics(experimentId: $id, cycle: 0, keys: $k) { key } }`, { id: experimentId, k: [key] }), 200, "BAD_USER_INPUT", /^keys\.0: /);
    }
  });
  hostile("path-like token and artifact ids", async () => {
    assertRefused(await gql(`mutation { revokeApiToken(id: "../../etc/passwd") { id } }`), 200, "BAD_USER_INPUT", /^id: /);
    const download = await fetch(`${t.server.baseUrl}/artifacts/..%2F..%2Fetc%2Fpasswd%00`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    assert.equal(download.status, 400);
    assert.doesNotMatch(await download.text(), LEAK);
  });
});

describe("wrong types and malformed requests", () => {
  hostile("first: a string", async () => {
    assertRefused(await gql(`{ experiments(first: "ten") { totalCount } }`), 400, "GRAPHQL_VALIDATION_FAILED", /Int cannot represent/);
  });
  hostile("config: a string, an array, null", async () => {
    for (const config of ["a string", [1, 2], null]) {
      assertRefused(await gql(`mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: config }), [200, 400], ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]);
    }
  });
  hostile("an unknown scope", async () => {
    assertRefused(await gql(`mutation { createApiToken(name: "x", scopes: [SUPERUSER]) { secret } }`), 400, "GRAPHQL_VALIDATION_FAILED", /SUPERUSER/);
  });
  hostile("variables as a string, query as a number, no query", async () => {
    assertRefused(await post(JSON.stringify({ query: "{ experiments { totalCount } }", variables: "{}" })), 400, "BAD_REQUEST");
    assertRefused(await post(JSON.stringify({ query: 5 })), 400, "BAD_REQUEST");
    assertRefused(await post(JSON.stringify({})), 400, "BAD_REQUEST");
  });
  hostile("bodies that are not JSON objects", async () => {
    for (const body of ["{not json", "null", "123", '"string"']) assertRefused(await post(body), 400, "BAD_REQUEST");
  });
  hostile("content types a browser form can send (CSRF)", async () => {
    const mutation = JSON.stringify({ query: `mutation { createApiToken(name: "csrf", scopes: [ADMIN]) { secret } }` });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      assertRefused(await post(mutation, { "content-type": type }), 400, "BAD_REQUEST");
    }
    assertRefused(await post("{ experiments { totalCount } }", { "content-type": "application/graphql" }), 400, "BAD_REQUEST");
  });
  hostile("a persisted query whose hash does not match", async () => {
    const response = await post(JSON.stringify({ query: "{ experiments { totalCount } }", extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }));
    assertRefused(response, 400, "BAD_REQUEST", /provided sha does not match query/);
  });
  hostile("a mutation over GET", async () => {
    const url = `${t.server.url}?query=${encodeURIComponent(`mutation { createApiToken(name: "via get", scopes: [ADMIN]) { secret } }`)}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${t.adminToken}`, "apollo-require-preflight": "1" } });
    const text = await response.text();
    assert.equal(response.status, 405);
    assert.doesNotMatch(text, LEAK);
  });
  hostile("several operations without an operation name, and an unknown operation name", async () => {
    assertRefused(await post(JSON.stringify({ query: "query A { experiments { totalCount } } mutation B { deleteExperiment(id: \"x\") }" })), 400, "OPERATION_RESOLUTION_FAILURE");
    assertRefused(await post(JSON.stringify({ query: "query A { experiments { totalCount } }", operationName: "B" })), 400, "OPERATION_RESOLUTION_FAILURE");
  });
});

describe("scopes, revoked tokens and Authorization headers", () => {
  hostile("a read token calling createExperiment, setTags and deleteExperiment", async () => {
    assertRefused(await gql(`mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig() }, readToken), 403, "FORBIDDEN", /needs write scope/);
    assertRefused(await gql(`mutation($id: ID!) { setTags(id: $id, tags: ["x"]) { id } }`, { id: experimentId }, readToken), 403, "FORBIDDEN");
    assertRefused(await gql(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id: experimentId }, readToken), 403, "FORBIDDEN");
  });
  hostile("a write token managing tokens", async () => {
    assertRefused(await gql(`mutation { createApiToken(name: "escalated", scopes: [ADMIN]) { secret } }`, {}, writeToken), 200, "FORBIDDEN", /needs admin scope/);
    assertRefused(await gql(`{ apiTokens { id } }`, {}, writeToken), 200, "FORBIDDEN");
    const id = (await t.server.dataSource.query(`SELECT id FROM api_tokens WHERE name = 'adversarial reader'`))[0].id;
    assertRefused(await gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id }, writeToken), 200, "FORBIDDEN");
  });
  hostile("a mutation hidden behind a fragment or an alias, without a token", async () => {
    assertRefused(await gql(`mutation { ...M } fragment M on Mutation { x: createApiToken(name: "hidden", scopes: [ADMIN]) { secret } }`, {}, null), 401, "UNAUTHENTICATED");
  });
  hostile("a revoked token over HTTP (query, mutation, download)", async () => {
    assertRefused(await gql(`{ experiments { totalCount } }`, {}, revokedToken), 401, "UNAUTHENTICATED", /revoked/);
    assertRefused(await gql(`mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig() }, revokedToken), 401, "UNAUTHENTICATED", /revoked/);
    const download = await fetch(artifactUrl, { headers: { authorization: `Bearer ${revokedToken}` } });
    assert.equal(download.status, 401);
    assert.match(await download.text(), /revoked/);
  });
  hostile("a revoked token over WebSocket: a new subscription is refused", async () => {
    const connection = await connectRaw(t.server.wsUrl, { token: revokedToken });
    const open = connection as Extract<RawConnection, { kind: "open" }>;
    assert.equal(connection.kind, "open");
    subscribeRaw(open.socket, "1", `subscription($id: ID!) { experimentUpdated(id: $id) { id } }`, { id: experimentId });
    const refused = await waitForMessage(open, (m) => m.id === "1");
    assert.equal(refused.type, "error");
    assert.equal(refused.payload[0].extensions.code, "UNAUTHENTICATED");
    assert.doesNotMatch(JSON.stringify(refused), LEAK);
    open.socket.close();
  });
  hostile("a token revoked while its subscription is open", async () => {
    const secret = await t.token(["read"], "revoked mid-subscription");
    const connection = await connectRaw(t.server.wsUrl, { token: secret });
    assert.equal(connection.kind, "open");
    const open = connection as Extract<RawConnection, { kind: "open" }>;
    subscribeRaw(open.socket, "1", `subscription($id: ID!) { experimentUpdated(id: $id) { id status } }`, { id: experimentId });
    await waitForMessage(open, (m) => m.type === "next");
    // Revoked as another replica would: only the database knows.
    await t.server.dataSource.query(`UPDATE api_tokens SET revoked_at = now() WHERE name = 'revoked mid-subscription'`);
    assert.equal((await open.closed).code, 4401);
    await t.server.dataSource.query(`DELETE FROM api_tokens WHERE name = 'revoked mid-subscription'`);
  });
  for (const header of ["Basic dXNlcjpwYXNz", "Bearer a b", "Token abc", "Bearer ../../etc/passwd", `Bearer ${"x".repeat(4_000)}`, "Bearer\tswamp_\tx"]) {
    hostile(`the Authorization header ${JSON.stringify(header.slice(0, 30))}`, async () => {
      const response = await post(JSON.stringify({ query: `mutation { createApiToken(name: "by header", scopes: [ADMIN]) { secret } }` }), { authorization: header }, null);
      assertRefused(response, 401, "UNAUTHENTICATED");
    });
  }
  hostile("an Authorization header of 20,000 characters", async () => {
    const response = await fetch(t.server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${"x".repeat(20_000)}` }, body: "{}" });
    assert.equal(response.status, 431);
  });
});

describe("Origin", () => {
  hostile("GraphQL over HTTP from a foreign origin, and from the opaque origin null", async () => {
    for (const origin of ["https://evil.example", "null"]) {
      const response = await post(JSON.stringify({ query: `mutation { createApiToken(name: "cross-site", scopes: [ADMIN]) { secret } }` }), { origin });
      assertRefused(response, 403, "FORBIDDEN_ORIGIN");
    }
  });
  hostile("a WebSocket upgrade from a foreign origin", async () => {
    const connection = await connectRaw(t.server.wsUrl, { token: t.adminToken, origin: "https://evil.example" });
    assert.equal(connection.kind, "refused");
    assert.equal((connection as { status: number }).status, 403);
  });
  hostile("an artifact download from a foreign origin", async () => {
    const response = await fetch(artifactUrl, { headers: { authorization: `Bearer ${t.adminToken}`, origin: "https://evil.example" } });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });
  hostile("a run-import upload from a foreign origin", async () => {
    const sha256 = "0".repeat(64);
    const response = await fetch(`${t.server.baseUrl}/import/blobs/${sha256}`, { method: "PUT", body: new Uint8Array(4), headers: { authorization: `Bearer ${t.adminToken}`, origin: "https://evil.example" } });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });
  hostile("an export from a foreign origin", async () => {
    const response = await fetch(`${t.server.baseUrl}/export/frontier.json?groupBy=method.name`, { headers: { authorization: `Bearer ${t.adminToken}`, origin: "https://evil.example" } });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /origin https:\/\/evil\.example is not allowed/);
  });
});

describe("WebSocket abuse", () => {
  hostile("more connections than a token may hold", async () => {
    const connections = await Promise.all([1, 2, 3].map(() => connectRaw(t.server.wsUrl, { token: readToken })));
    const extra = await connectRaw(t.server.wsUrl, { token: readToken });
    assert.equal(extra.kind, "closed");
    assert.equal((extra as { code: number }).code, 4429);
    for (const connection of connections) (connection as Extract<RawConnection, { kind: "open" }>).socket.close();
    await Promise.all(connections.map((connection) => (connection as Extract<RawConnection, { kind: "open" }>).closed));
  });
  hostile("more subscriptions than a connection may run", async () => {
    const connection = (await connectRaw(t.server.wsUrl, { token: readToken })) as Extract<RawConnection, { kind: "open" }>;
    for (let i = 0; i < 10; i++) subscribeRaw(connection.socket, `s${i}`, `subscription($id: ID!) { experimentUpdated(id: $id) { id } }`, { id: experimentId });
    await waitForMessage(connection, (m) => m.type === "error" && m.id === "s9");
    const refused = connection.messages.filter((m) => m.type === "error");
    assert.equal(refused.length, 7);
    assert.ok(refused.every((m) => m.payload[0].extensions.code === "TOO_MANY_SUBSCRIPTIONS"));
    connection.socket.close();
    await connection.closed;
  });
  hostile("a message that is not JSON, one before connection_init, a duplicate id and an oversized one", async () => {
    const notJson = (await connectRaw(t.server.wsUrl, { token: readToken })) as Extract<RawConnection, { kind: "open" }>;
    notJson.socket.send("{not json");
    assert.equal((await notJson.closed).code, 4400);

    const early = new WebSocket(t.server.wsUrl, "graphql-transport-ws");
    const earlyClosed = new Promise<number>((resolve) => early.on("close", (code) => resolve(code)));
    early.on("open", () => early.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ experiments { totalCount } }" } })));
    assert.equal(await earlyClosed, 4401);

    const duplicate = (await connectRaw(t.server.wsUrl, { token: readToken })) as Extract<RawConnection, { kind: "open" }>;
    for (let i = 0; i < 2; i++) subscribeRaw(duplicate.socket, "same", `subscription($id: ID!) { experimentUpdated(id: $id) { id } }`, { id: experimentId });
    assert.equal((await duplicate.closed).code, 4409);

    const huge = (await connectRaw(t.server.wsUrl, { token: readToken })) as Extract<RawConnection, { kind: "open" }>;
    subscribeRaw(huge.socket, "1", `{ experiments { totalCount } } # ${"x".repeat(2 * 1024 * 1024)}`);
    assert.equal((await huge.closed).code, 1009);
  });
  hostile("a WebSocket without the graphql-transport-ws subprotocol", async () => {
    const socket = new WebSocket(t.server.wsUrl);
    const code = await new Promise<number>((resolve) => socket.on("close", (closeCode) => resolve(closeCode)));
    assert.equal(code, 4406);
  });
});

describe("Range headers on artifact downloads", () => {
  const download = (range: string, extra: Record<string, string> = {}) => fetch(artifactUrl, { headers: { authorization: `Bearer ${t.adminToken}`, range, ...extra } });
  hostile("1,000 ranges in one header", async () => {
    const response = await download(`bytes=${Array.from({ length: 1_000 }, (_, i) => `${i}-${i}`).join(",")}`);
    assert.equal(response.status, 200, "several ranges are answered with the whole body");
    assert.equal((await response.arrayBuffer()).byteLength, 1000);
  });
  hostile("ranges with numbers past 2^64", async () => {
    const past = await download("bytes=99999999999999999999999-");
    assert.equal(past.status, 416);
    assert.equal(past.headers.get("content-range"), "bytes */1000");
    const suffix = await download("bytes=-99999999999999999999999");
    assert.equal(suffix.status, 206);
    assert.equal((await suffix.arrayBuffer()).byteLength, 1000);
  });
  hostile("reversed, negative and garbage ranges, and a garbage If-Range", async () => {
    assert.equal((await download("bytes=5-2")).status, 416);
    assert.equal((await download("bytes=--5")).status, 200);
    assert.equal((await download("bytes=abc-def")).status, 200);
    const stale = await download("bytes=0-9", { "if-range": '"garbage' });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, 1000);
  });
});
