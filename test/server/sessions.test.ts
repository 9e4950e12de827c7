import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { registerArtifact } from "../../server/services/artifacts.js";
import { createExperiment, markExperimentStatus } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { serveSettingsFromEnv } from "../../server/serve.js";
import WebSocket from "ws";
import { connectRaw, subscribeRaw, waitForMessage, type RawConnection } from "./support/raw-websocket.js";
import { eventually, sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

const ALLOWED = "https://dashboard.example.org";
/** Well past graphql-ws's own 3 s, as a busy client among a thousand needs. */
const INIT_WAIT_MS = 6_000;
const WATCH = `subscription($id: ID!) { experimentUpdated(id: $id) { id status } }`;

let t: TestServer;

before(async () => {
  t = await startTestServer(
    {
      allowedOrigins: [ALLOWED],
      webSocketLimits: { maxConnectionsPerToken: 2, maxConnectionsPerAddress: 2, maxSubscriptionsPerConnection: 2, revocationCheckMs: 200, connectionInitWaitMs: INIT_WAIT_MS },
    },
    "sessions",
  );
});
after(async () => {
  await t.close();
});

async function newExperiment(name: string): Promise<string> {
  return (await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name }) }))).id;
}

async function tokenId(name: string): Promise<string> {
  return (await t.server.dataSource.query(`SELECT id FROM api_tokens WHERE name = $1`, [name]))[0].id;
}

function opened(connection: RawConnection): Extract<RawConnection, { kind: "open" }> {
  assert.equal(connection.kind, "open", `expected an acknowledged connection, got ${JSON.stringify(connection).slice(0, 300)}`);
  return connection as Extract<RawConnection, { kind: "open" }>;
}

describe("revoking a token", { timeout: 30_000 }, () => {
  it("closes its open subscriptions at once (4401) when revoked through the API, and sends them nothing more", async () => {
    const id = await newExperiment("revoked-through-api");
    const secret = await t.token(["read"], "watcher revoked by api");
    const connection = opened(await connectRaw(t.server.wsUrl, { token: secret }));
    subscribeRaw(connection.socket, "1", WATCH, { id });
    await waitForMessage(connection, (m) => m.type === "next" && m.id === "1");
    const revoked = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: await tokenId("watcher revoked by api") });
    assert.equal(revoked.errors, undefined);
    const closed = await connection.closed;
    assert.deepEqual(closed, { code: 4401, reason: "the bearer token has been revoked" });
    await inTransaction(t.server.services, (tx) => markExperimentStatus(tx, id, "running"));
    assert.equal(connection.messages.filter((m) => m.type === "next").length, 1, "no event after the revocation");
  });

  it("closes them when another replica revoked it (seen in the database within the check interval)", async () => {
    const id = await newExperiment("revoked-elsewhere");
    const secret = await t.token(["read"], "watcher revoked elsewhere");
    const connection = opened(await connectRaw(t.server.wsUrl, { token: secret }));
    subscribeRaw(connection.socket, "1", WATCH, { id });
    await waitForMessage(connection, (m) => m.type === "next" && m.id === "1");
    await t.server.dataSource.query(`UPDATE api_tokens SET revoked_at = now() WHERE name = 'watcher revoked elsewhere'`);
    const closed = await connection.closed;
    assert.equal(closed.code, 4401);
  });
});

describe("WebSocket limits", { timeout: 30_000 }, () => {
  it("refuse a token's connection beyond the limit with 4429, and count a closed one as gone", async () => {
    const secret = await t.token(["read"], "many sockets");
    const first = opened(await connectRaw(t.server.wsUrl, { token: secret }));
    const second = opened(await connectRaw(t.server.wsUrl, { token: secret }));
    const third = await connectRaw(t.server.wsUrl, { token: secret });
    assert.equal(third.kind, "closed");
    assert.equal((third as { code: number }).code, 4429);
    assert.match((third as { reason: string }).reason, /too many WebSocket connections for this token \(limit 2\)/);
    const otherToken = opened(await connectRaw(t.server.wsUrl, { token: await t.token(["read"], "another token") }));
    otherToken.socket.close();
    first.socket.close();
    await first.closed;
    await eventually(async () => (await connectRaw(t.server.wsUrl, { token: secret })).kind === "open", 10_000, "a slot to free up");
    second.socket.close();
  });

  it("wait the configured time for a client's connection_init, past graphql-ws's 3 s, then close with 4408", async () => {
    const late = new WebSocket(t.server.wsUrl, "graphql-transport-ws");
    const silent = new WebSocket(t.server.wsUrl, "graphql-transport-ws");
    const firstMessage = new Promise<string>((resolve) => late.once("message", (data) => resolve(data.toString())));
    const silentClosed = new Promise<number>((resolve) => silent.once("close", (code) => resolve(code)));
    late.once("open", () => setTimeout(() => late.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${t.adminToken}` } })), 3_500));
    assert.equal(JSON.parse(await firstMessage).type, "connection_ack", "a connection_init after 3.5 s is acknowledged");
    assert.equal(await silentClosed, 4408, "one that never sends it is closed once the wait is over");
    late.close();
  });

  it("count connections without a token per remote address", async () => {
    const sockets = [opened(await connectRaw(t.server.wsUrl, { token: null })), opened(await connectRaw(t.server.wsUrl, { token: null }))];
    const third = await connectRaw(t.server.wsUrl, { token: null });
    assert.equal(third.kind, "closed");
    assert.equal((third as { code: number }).code, 4429);
    assert.match((third as { reason: string }).reason, /too many WebSocket connections from this address \(limit 2\)/);
    for (const socket of sockets) socket.socket.close();
  });

  it("refuse a subscription beyond the per-connection limit with TOO_MANY_SUBSCRIPTIONS, keeping the others", async () => {
    const id = await newExperiment("many-subscriptions");
    const connection = opened(await connectRaw(t.server.wsUrl, { token: t.adminToken }));
    subscribeRaw(connection.socket, "a", WATCH, { id });
    subscribeRaw(connection.socket, "b", WATCH, { id });
    await waitForMessage(connection, (m) => m.type === "next" && m.id === "b");
    subscribeRaw(connection.socket, "c", WATCH, { id });
    const refused = await waitForMessage(connection, (m) => m.id === "c");
    assert.equal(refused.type, "error");
    assert.equal(refused.payload[0].extensions.code, "TOO_MANY_SUBSCRIPTIONS");
    assert.match(refused.payload[0].message, /at most 2 operations at a time on one connection/);
    connection.socket.send(JSON.stringify({ id: "a", type: "complete" }));
    await eventually(async () => {
      subscribeRaw(connection.socket, `d${connection.messages.length}`, WATCH, { id });
      await new Promise((r) => setTimeout(r, 100));
      return connection.messages.some((m) => m.type === "next" && String(m.id).startsWith("d"));
    }, 10_000, "a subscription slot to free up");
    connection.socket.close();
  });
});

describe("Origin", { timeout: 30_000 }, () => {
  it("refuses a WebSocket upgrade from an origin not allowed (403), and accepts no Origin, the server's own and listed ones", async () => {
    const refused = await connectRaw(t.server.wsUrl, { token: t.adminToken, origin: "https://evil.example" });
    assert.equal(refused.kind, "refused");
    assert.equal((refused as { status: number }).status, 403);
    for (const origin of [undefined, t.server.publicUrl, ALLOWED, t.server.baseUrl.replace("127.0.0.1", "localhost")]) {
      const connection = await connectRaw(t.server.wsUrl, { token: t.adminToken, origin });
      assert.equal(connection.kind, "open", `origin ${origin}`);
      (connection as Extract<RawConnection, { kind: "open" }>).socket.close();
    }
  });

  it("refuses GraphQL over HTTP from an origin not allowed (403, nothing stored), and answers CORS for allowed ones", async () => {
    const before = (await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`))[0].n;
    const post = (origin: string) =>
      fetch(t.server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}`, origin },
        body: JSON.stringify({ query: `mutation($c: JSONObject!) { createExperiment(config: $c) { id } }`, variables: { c: sampleConfig({ name: "cross-origin" }) } }),
      });
    const evil = await post("https://evil.example");
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    const body = (await evil.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    assert.equal(body.errors[0]!.extensions.code, "FORBIDDEN_ORIGIN");
    assert.match(body.errors[0]!.message, /origin https:\/\/evil\.example is not allowed/);
    assert.equal((await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`))[0].n, before);

    const preflight = await fetch(t.server.url, { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
    const evilPreflight = await fetch(t.server.url, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    assert.equal(evilPreflight.status, 403);
    assert.equal(evilPreflight.headers.get("access-control-allow-origin"), null);

    const allowed = await post(ALLOWED);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(allowed.headers.get("vary") ?? "", /origin/i);
  });
});

describe("download URLs", { timeout: 30_000 }, () => {
  async function artifactUrl(server: TestServer, host: string | null, over: "http" | "ws"): Promise<string> {
    const experiment = await inTransaction(server.server.services, (tx) => createExperiment(tx, { config: sampleConfig() }));
    const artifact = await inTransaction(server.server.services, (tx) =>
      registerArtifact(tx, { experimentId: experiment.id, kind: "weights", format: "raw", sizeBytes: 1, sha256: "a".repeat(64), location: "file:///nowhere" }),
    );
    const query = `query($id: ID!) { artifact(id: $id) { downloadUrl } }`;
    if (over === "http") {
      // fetch() will not send a Host header of our choosing; node:http will.
      const body = await new Promise<string>((resolve, reject) => {
        const request = httpRequest(server.server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${server.adminToken}`, ...(host ? { host } : {}) } }, (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () => resolve(text));
        });
        request.on("error", reject);
        request.end(JSON.stringify({ query, variables: { id: artifact.id } }));
      });
      return (JSON.parse(body) as { data: { artifact: { downloadUrl: string } } }).data.artifact.downloadUrl;
    }
    const connection = opened(await connectRaw(server.server.wsUrl, { token: server.adminToken, headers: host ? { host } : {} }));
    subscribeRaw(connection.socket, "q", query, { id: artifact.id });
    const message = await waitForMessage(connection, (m) => m.type === "next" && m.id === "q");
    connection.socket.close();
    return message.payload.data.artifact.downloadUrl;
  }

  it("are built from the listener's URL by default, never from a forged Host header", async () => {
    for (const over of ["http", "ws"] as const) {
      const url = await artifactUrl(t, "evil.example", over);
      assert.ok(url.startsWith(`${t.server.baseUrl}/artifacts/`), `${over}: ${url}`);
    }
  });

  it("are built from the configured public URL", async () => {
    const proxied = await startTestServer({ publicUrl: "https://swamp.example.org/tracking/" }, "public_url");
    try {
      assert.equal(proxied.server.publicUrl, "https://swamp.example.org/tracking");
      for (const over of ["http", "ws"] as const) {
        const url = await artifactUrl(proxied, "evil.example", over);
        assert.match(url, /^https:\/\/swamp\.example\.org\/tracking\/artifacts\/[0-9a-f-]{36}$/, over);
      }
      const fromPublic = await connectRaw(proxied.server.wsUrl, { token: proxied.adminToken, origin: "https://swamp.example.org" });
      assert.equal(fromPublic.kind, "open", "the public URL's origin is allowed");
      (fromPublic as Extract<RawConnection, { kind: "open" }>).socket.close();
    } finally {
      await proxied.close();
    }
  });
});

describe("settings from the environment", { timeout: 30_000 }, () => {
  it("reads SWAMP_PUBLIC_URL, SWAMP_ALLOWED_ORIGINS and the WebSocket limits, naming a bad value", () => {
    const settings = serveSettingsFromEnv({
      SWAMP_PUBLIC_URL: "https://swamp.example.org/",
      SWAMP_ALLOWED_ORIGINS: "https://a.example.org, http://localhost:3000",
      SWAMP_WS_MAX_CONNECTIONS_PER_TOKEN: "5",
      SWAMP_WS_MAX_CONNECTIONS_PER_ADDRESS: "6",
      SWAMP_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "7",
      SWAMP_TOKEN_RECHECK_MS: "1500",
      SWAMP_WS_MAX_BUFFERED_BYTES: "1048576",
      SWAMP_WS_CONNECTION_INIT_WAIT_MS: "20000",
    });
    assert.equal(settings.publicUrl, "https://swamp.example.org/");
    assert.deepEqual(settings.allowedOrigins, ["https://a.example.org", "http://localhost:3000"]);
    assert.deepEqual(settings.webSocketLimits, { maxConnectionsPerToken: 5, maxConnectionsPerAddress: 6, maxSubscriptionsPerConnection: 7, revocationCheckMs: 1500, maxBufferedBytes: 1_048_576, connectionInitWaitMs: 20_000 });
    const defaults = serveSettingsFromEnv({});
    assert.deepEqual([defaults.publicUrl, defaults.allowedOrigins, defaults.webSocketLimits], [undefined, [], {}]);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_PUBLIC_URL: "ftp://x" }), /SWAMP_PUBLIC_URL must be an http or https URL/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_PUBLIC_URL: "https://x.org/?a=1" }), /SWAMP_PUBLIC_URL must be an http or https URL/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_ALLOWED_ORIGINS: "https://a.org/path" }), /SWAMP_ALLOWED_ORIGINS: "https:\/\/a.org\/path" is not an origin/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_ALLOWED_ORIGINS: "*" }), /SWAMP_ALLOWED_ORIGINS: "\*" is not an origin/);
    for (const bad of ["0", "-1", "1e999", "2.5", "many", "100001"]) {
      assert.throws(() => serveSettingsFromEnv({ SWAMP_WS_MAX_CONNECTIONS_PER_TOKEN: bad }), /SWAMP_WS_MAX_CONNECTIONS_PER_TOKEN must be a whole number from 1 to 100000/, bad);
    }
    assert.throws(() => serveSettingsFromEnv({ SWAMP_WS_MAX_BUFFERED_BYTES: "1000" }), /SWAMP_WS_MAX_BUFFERED_BYTES must be a whole number from 65536 to 1073741824/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_WS_CONNECTION_INIT_WAIT_MS: "50" }), /SWAMP_WS_CONNECTION_INIT_WAIT_MS must be a whole number from 100 to 600000/);
  });
});
