import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { serveSettingsFromEnv } from "../../server/serve.js";
import { startTestServer, TEST_ADMIN_DATABASE_URL, type TestServer } from "./support/test-server.js";

let t: TestServer;

before(async () => {
  t = await startTestServer({}, "http");
});
after(async () => {
  await t.close();
});

describe("dashboard", () => {
  it("serves the web dashboard's page at / and its bundle from this server", async () => {
    const root = await fetch(`${t.server.baseUrl}/`, { redirect: "manual" });
    assert.equal(root.status, 200, "run `npm run build:web` before the tests");
    assert.match(root.headers.get("content-type") ?? "", /text\/html/);
    const html = await root.text();
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(links.filter((link) => !link.startsWith("/") && !link.startsWith("data:")), [], "nothing is loaded from elsewhere");
    const assets = links.filter((link) => link.startsWith("/"));
    assert.deepEqual(assets.sort(), ["/assets/app.css", "/assets/app.js"]);
    for (const asset of assets) {
      const response = await fetch(`${t.server.baseUrl}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get("content-type") ?? "", asset.endsWith(".css") ? /text\/css/ : /javascript/);
      const body = await response.text();
      assert.ok(body.length > 2_000, `${asset} has content`);
      assert.doesNotMatch(body, /https:\/\/(unpkg|cdn\.jsdelivr|esm\.sh)/, `${asset} loads nothing from a CDN`);
    }
    assert.equal((await fetch(`${t.server.baseUrl}/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${t.server.baseUrl}/assets/..%2Fpackage.json`)).status, 404);
  });
});

describe("explorer", () => {
  it("serves GraphiQL and every asset it loads from this server (works offline)", async () => {
    const page = await fetch(`${t.server.baseUrl}/explorer`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(assets.sort(), ["/explorer/assets/explorer.js", "/explorer/assets/graphiql.css", "/explorer/assets/graphiql.js", "/explorer/assets/react-dom.js", "/explorer/assets/react.js"]);
    for (const asset of assets) {
      assert.ok(asset.startsWith("/"), `${asset} is served locally, not from a CDN`);
      const response = await fetch(`${t.server.baseUrl}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get("content-type") ?? "", asset.endsWith(".css") ? /text\/css/ : /javascript/);
      const body = await response.text();
      assert.ok(body.length > (asset.endsWith("explorer.js") ? 500 : 5_000), `${asset} has content`);
      assert.doesNotMatch(body.slice(0, 200_000), /https:\/\/(unpkg|cdn\.jsdelivr|esm\.sh)/, `${asset} loads nothing from a CDN`);
    }
    const script = await (await fetch(`${t.server.baseUrl}/explorer/assets/explorer.js`)).text();
    assert.doesNotThrow(() => new Function(script), "the page script parses");
    assert.equal((await fetch(`${t.server.baseUrl}/explorer/assets/nope.js`)).status, 404);
  });

  it("answers health checks", async () => {
    const response = await fetch(`${t.server.baseUrl}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "ok\n");
  });
});

describe("swamp server", () => {
  it("reads its settings from the environment and names a bad value", () => {
    const settings = serveSettingsFromEnv({ PORT: "4100", HOST: "0.0.0.0", DATABASE_URL: "postgres://x/y", SWAMP_HOME: "/srv/swamp", SWAMP_ADMIN_TOKEN: "a-long-enough-admin-token", SWAMP_PUBLIC_READS: "true", SWAMP_DATA_ROOTS: "/srv/data:/mnt/sets", SWAMP_ROUTE_WAIT_WARNING_MS: "30000" });
    assert.deepEqual(settings, {
      port: 4100,
      host: "0.0.0.0",
      databaseUrl: "postgres://x/y",
      swampHome: "/srv/swamp",
      adminToken: "a-long-enough-admin-token",
      publicReads: true,
      publicUrl: undefined,
      allowedOrigins: [],
      webSocketLimits: {},
      dataRoots: ["/srv/data", "/mnt/sets"],
      routeWaitWarningMs: 30_000,
    });
    const defaults = serveSettingsFromEnv({});
    assert.deepEqual([defaults.port, defaults.host, defaults.publicReads, defaults.databaseUrl, defaults.dataRoots], [4000, "127.0.0.1", false, undefined, ["/usr/share/datasets"]]);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_DATA_ROOTS: "datasets" }), /SWAMP_DATA_ROOTS must list absolute directories, got "datasets"/);
    assert.throws(() => serveSettingsFromEnv({ PORT: "http" }), /PORT must be a port number/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_PUBLIC_READS: "maybe" }), /SWAMP_PUBLIC_READS must be true or false/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_ADMIN_TOKEN: "short" }), /SWAMP_ADMIN_TOKEN must be at least 16 characters/);
    assert.throws(() => serveSettingsFromEnv({ SWAMP_ROUTE_WAIT_WARNING_MS: "soon" }), /SWAMP_ROUTE_WAIT_WARNING_MS must be a whole number from 1000 to 86400000, got "soon"/);
  });

  it("starts from the command line, prints its URL and a first admin token, serves, and stops on SIGTERM", async () => {
    const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "cli");
    try {
      const child = spawn(process.execPath, [resolve(__dirname, "../../../bin/swamp.js"), "server", "--port", "0", "--public-reads"], {
        env: { ...process.env, DATABASE_URL: database.url, SWAMP_ADMIN_TOKEN: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
      const deadline = Date.now() + 20_000;
      while (!/first start: admin token/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start-up lines:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /listening on (http:\/\/\S+\/graphql)/.exec(output)![1]!;
      const token = /admin token \(shown once, keep it\): (swamp_\S+)/.exec(output)![1]!;
      const anonymous = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ experiments { totalCount } }" }) });
      assert.deepEqual(await anonymous.json(), { data: { experiments: { totalCount: 0 } } }, "--public-reads lets anonymous queries through");
      const admin = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: "{ apiTokens { name } }" }) });
      assert.deepEqual(await admin.json(), { data: { apiTokens: [{ name: "first admin token" }] } });
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(output, /SIGTERM: shutting down\nstopped/);
    } finally {
      await database.drop();
    }
  });
});
