import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { collect, sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

const CREATE = `mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`;
const LIST = `{ experiments(first: 5) { totalCount } }`;

let t: TestServer;
let readToken: string;
let writeToken: string;

async function experimentCount(server: TestServer = t): Promise<number> {
  return (await server.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`))[0].n;
}

before(async () => {
  t = await startTestServer({ adminToken: "deployment-admin-secret" }, "auth");
  readToken = await t.token(["read"], "reader");
  writeToken = await t.token(["write"], "writer");
});
after(async () => {
  await t.close();
});

describe("mutations", () => {
  it("are refused without a token, and change nothing", async () => {
    const response = await t.gql(CREATE, { config: sampleConfig() }, null);
    assert.equal(response.errors![0]!.extensions?.code, "UNAUTHENTICATED");
    assert.match(response.errors![0]!.message, /mutation createExperiment needs a bearer token with write scope/);
    assert.equal(await experimentCount(), 0);
  });

  it("are refused with a read-only token, naming the scope needed", async () => {
    const response = await t.gql(CREATE, { config: sampleConfig() }, readToken);
    assert.equal(response.errors![0]!.extensions?.code, "FORBIDDEN");
    assert.match(response.errors![0]!.message, /needs write scope; token "reader" has read/);
    assert.equal(await experimentCount(), 0);
  });

  it("are refused with a revoked token, and work again with a valid one", async () => {
    const token = await t.token(["write"], "soon revoked");
    const created = await t.gql(CREATE, { config: sampleConfig() }, token);
    assert.equal(created.errors, undefined);
    const tokens = await t.gql(`{ apiTokens { id name prefix scopes revokedAt } }`);
    const entry = tokens.data!.apiTokens.find((row: { name: string }) => row.name === "soon revoked");
    assert.ok(token.startsWith(entry.prefix));
    assert.ok(!JSON.stringify(tokens.data).includes(token), "the secret is never listed");
    const revoked = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: entry.id });
    assert.ok(revoked.data!.revokeApiToken.revokedAt);
    const countBefore = await experimentCount();
    const refused = await t.gql(CREATE, { config: sampleConfig() }, token);
    assert.equal(refused.errors![0]!.extensions?.code, "UNAUTHENTICATED");
    assert.match(refused.errors![0]!.message, /revoked/);
    const readRefused = await t.gql(LIST, {}, token);
    assert.match(readRefused.errors![0]!.message, /revoked/, "a revoked token reads nothing either");
    assert.equal(await experimentCount(), countBefore);
  });

  it("work with a write token, but token management needs admin", async () => {
    assert.equal((await t.gql(CREATE, { config: sampleConfig() }, writeToken)).errors, undefined);
    const refused = await t.gql(`mutation { createApiToken(name: "x", scopes: [READ]) { secret } }`, {}, writeToken);
    assert.equal(refused.errors![0]!.extensions?.code, "FORBIDDEN");
    assert.match(refused.errors![0]!.message, /needs admin scope/);
    const listRefused = await t.gql(`{ apiTokens { id } }`, {}, writeToken);
    assert.equal(listRefused.errors![0]!.extensions?.code, "FORBIDDEN");
  });

  it("refuse a malformed Authorization header and an unknown token", async () => {
    const response = await fetch(t.server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic dXNlcjpwYXNz" },
      body: JSON.stringify({ query: LIST }),
    });
    const body = (await response.json()) as { errors: Array<{ message: string }> };
    assert.match(body.errors[0]!.message, /Authorization header must be `Bearer <token>`/);
    const blank = await fetch(t.server.url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " }, body: JSON.stringify({ query: LIST }) });
    assert.match(((await blank.json()) as { errors: Array<{ message: string }> }).errors[0]!.message, /needs a bearer token/, "a blank Bearer is no token, not a bad one");
    const unknown = await t.gql(LIST, {}, "swamp_not-a-real-token");
    assert.match(unknown.errors![0]!.message, /not known/);
  });
});

describe("tokens", () => {
  it("createApiToken returns a secret that works once, with exactly its scopes", async () => {
    const created = await t.gql(`mutation { createApiToken(name: "notebook", scopes: [READ]) { secret token { id name scopes createdBy revokedAt } } }`);
    const { secret, token } = created.data!.createApiToken;
    // With SWAMP_ADMIN_TOKEN set the server stores no first admin token: the test's own admin created this one.
    assert.deepEqual([token.name, token.scopes, token.createdBy, token.revokedAt], ["notebook", ["READ"], "test admin", null]);
    assert.equal((await t.gql(LIST, {}, secret)).errors, undefined);
    assert.equal((await t.gql(CREATE, { config: sampleConfig() }, secret)).errors![0]!.extensions?.code, "FORBIDDEN");
    const stored = await t.server.dataSource.query(`SELECT token_hash FROM api_tokens WHERE id = $1`, [token.id]);
    assert.notEqual(stored[0].token_hash, secret, "only a hash is stored");
    assert.match(stored[0].token_hash, /^[0-9a-f]{64}$/);
  });

  it("validates the name and scopes", async () => {
    const empty = await t.gql(`mutation { createApiToken(name: "  ", scopes: [READ]) { secret } }`);
    assert.equal(empty.errors![0]!.extensions?.code, "BAD_USER_INPUT");
    assert.match(empty.errors![0]!.message, /^name:/);
    const none = await t.gql(`mutation { createApiToken(name: "x", scopes: []) { secret } }`);
    assert.match(none.errors![0]!.message, /^scopes:/);
    const unknownId = await t.gql(`mutation { revokeApiToken(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    assert.equal(unknownId.errors![0]!.extensions?.code, "NOT_FOUND");
  });

  it("accepts the deployment's SWAMP_ADMIN_TOKEN as admin", async () => {
    const response = await t.gql(`{ apiTokens { name } }`, {}, "deployment-admin-secret");
    assert.equal(response.errors, undefined);
    assert.ok(response.data!.apiTokens.length >= 3);
  });
});

describe("reads", () => {
  it("need a token unless public reads are on", async () => {
    const refused = await t.gql(LIST, {}, null);
    assert.equal(refused.errors![0]!.extensions?.code, "UNAUTHENTICATED");
    assert.match(refused.errors![0]!.message, /query experiments needs a bearer token with read scope/);
    assert.equal((await t.gql(LIST, {}, readToken)).errors, undefined);
  });

  it("are open to anyone with public reads, while mutations still need a token", async () => {
    const open = await startTestServer({ publicReads: true }, "public_reads");
    try {
      const read = await open.gql(LIST, {}, null);
      assert.equal(read.errors, undefined);
      assert.equal(read.data!.experiments.totalCount, 0);
      const write = await open.gql(CREATE, { config: sampleConfig() }, null);
      assert.equal(write.errors![0]!.extensions?.code, "UNAUTHENTICATED");
      assert.equal(await experimentCount(open), 0);
    } finally {
      await open.close();
    }
  });

  it("let anyone introspect the schema (it is published), but nothing more in the same request", async () => {
    const schema = await t.gql(`{ __schema { queryType { name } } }`, {}, null);
    assert.equal(schema.errors, undefined);
    assert.equal(schema.data!.__schema.queryType.name, "Query");
    const mixed = await t.gql(`{ __typename experiments { totalCount } }`, {}, null);
    assert.equal(mixed.errors![0]!.extensions?.code, "UNAUTHENTICATED");
  });

  it("apply over WebSocket too: a read token cannot mutate there, and a revoked token cannot read", async () => {
    const refused = collect(t.wsClient(readToken), `mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig() }, 1, 5_000);
    await assert.rejects(refused.results, /FORBIDDEN|needs write scope/);
    const countBefore = await experimentCount();
    const allowed = collect<{ createExperiment: { id: string } }>(t.wsClient(writeToken), `mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, { c: sampleConfig({ name: "over-ws" }) }, 1, 5_000);
    assert.ok((await allowed.results)[0]!.createExperiment.id);
    assert.equal(await experimentCount(), countBefore + 1);
    const token = await t.token(["read"], "revoked over ws");
    const id = (await t.server.dataSource.query(`SELECT id FROM api_tokens WHERE name = 'revoked over ws'`))[0].id;
    await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id });
    const revoked = collect(t.wsClient(token), `{ experiments { totalCount } }`, {}, 1, 5_000);
    await assert.rejects(revoked.results, /revoked/);
  });

  it("refuse subscriptions without a token", async () => {
    const client = t.wsClient(null);
    const { results } = collect(client, `subscription { experimentUpdated(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, 1, 5_000);
    await assert.rejects(results, /UNAUTHENTICATED|needs a bearer token/);
  });
});

describe("limits", () => {
  it("refuse a query whose estimated cost is too high, over HTTP and WebSocket", async () => {
    const heavy = `{ experiments(first: 500) { nodes { id cycles { index particles { index seed accuracy loss status } } } } }`;
    const response = await t.gql(heavy);
    assert.equal(response.status, 400);
    assert.equal(response.errors![0]!.extensions?.code, "QUERY_TOO_COMPLEX");
    assert.match(response.errors![0]!.message, /query cost \d+ exceeds the limit of 250000/);
    // Priced at the config limits (201 cycles × 64 particles each), two experiments' particles fit.
    const light = `{ experiments(first: 2) { nodes { id cycles { index particles { index seed accuracy loss status } } } } }`;
    assert.equal((await t.gql(light)).errors, undefined);
    const { results } = collect(t.wsClient(), heavy, {}, 1, 5_000);
    await assert.rejects(results, /exceeds the limit/);
  });

  it("refuse a query nested deeper than the limit", async () => {
    const shallow = await startTestServer({ limits: { maxDepth: 3 } }, "depth");
    try {
      const deep = await shallow.gql(`{ experiments { edges { node { cycles { index } } } } }`);
      assert.equal(deep.errors![0]!.extensions?.code, "QUERY_TOO_COMPLEX");
      assert.match(deep.errors![0]!.message, /nested 5 levels deep; the limit is 3/);
      const viaFragment = await shallow.gql(`query { experiments { ...E } } fragment E on ExperimentConnection { edges { node { id } } }`);
      assert.match(viaFragment.errors![0]!.message, /nested 4 levels deep/);
      assert.equal((await shallow.gql(`{ experiments { totalCount } }`)).errors, undefined);
    } finally {
      await shallow.close();
    }
  });

  it("refuse an oversized request body without a stack trace", async () => {
    const response = await fetch(t.server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify({ query: LIST, variables: { padding: "x".repeat(2 * 1024 * 1024) } }),
    });
    assert.equal(response.status, 413);
    const text = await response.text();
    assert.match(text, /request body exceeds 1048576 bytes/);
    assert.doesNotMatch(text, /at .*\.js:\d+/);
  });

  it("hide database errors behind a generic message", async () => {
    await t.server.dataSource.query(`ALTER TABLE workers RENAME TO workers_moved_away`);
    try {
      const response = await t.gql(`{ workers { id } }`);
      assert.equal(response.errors![0]!.message, "internal server error");
      assert.equal(response.errors![0]!.extensions?.code, "INTERNAL_SERVER_ERROR");
      const text = JSON.stringify(response);
      assert.doesNotMatch(text, /relation|SELECT|workers_moved_away|stack|\.js:/);
    } finally {
      await t.server.dataSource.query(`ALTER TABLE workers_moved_away RENAME TO workers`);
    }
  });
});
