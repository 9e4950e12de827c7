/**
 * The first admin token: created (and shown) by exactly one start, even when replicas start together
 * on an empty database, and never when the deployment sets SWAMP_ADMIN_TOKEN.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { openDatabase } from "../../server/db/data-source.js";
import { createFirstAdminToken } from "../../server/services/tokens.js";
import { startServer, type RunningServer } from "../../server/start-server.js";
import { TEST_ADMIN_DATABASE_URL } from "./support/test-server.js";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startOn(databaseUrl: string, adminToken: string | null): Promise<RunningServer> {
  const home = mkdtempSync(join(tmpdir(), "swamp-first-token-"));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const server = await startServer({ databaseUrl, port: 0, swampHome: home, adminToken, log: () => undefined });
  cleanups.push(() => server.close());
  return server;
}

async function storedTokens(server: RunningServer): Promise<number> {
  const rows: Array<{ n: number }> = await server.dataSource.query(`SELECT count(*)::int AS n FROM api_tokens`);
  return rows[0]!.n;
}

test("replicas starting together on an empty database migrate it once and create one first admin token between them", async () => {
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "first_token");
  cleanups.push(() => database.drop());
  const replicas = await Promise.all([0, 1, 2].map(() => startOn(database.url, null)));
  const shown = replicas.map((server) => server.firstAdminToken).filter((token) => token !== null);
  assert.equal(shown.length, 1, "exactly one replica creates (and so prints) the first admin token");
  assert.equal(await storedTokens(replicas[0]!), 1);
});

test("starts racing for the first admin token on one migrated database create one", async () => {
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "token_race");
  cleanups.push(() => database.drop());
  const connections = await Promise.all([0, 1, 2, 3].map(() => openDatabase({ url: database.url, poolSize: 2 })));
  cleanups.push(async () => {
    for (const connection of connections) await connection.destroy();
  });
  const created = await Promise.all(connections.map((connection) => createFirstAdminToken(connection)));
  assert.equal(created.filter((secret) => secret !== null).length, 1, "one start creates it, the others find it");
  const rows: Array<{ n: number }> = await connections[0]!.query(`SELECT count(*)::int AS n FROM api_tokens`);
  assert.equal(rows[0]!.n, 1);
});

test("with SWAMP_ADMIN_TOKEN set no admin token is stored or shown", async () => {
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "env_token");
  cleanups.push(() => database.drop());
  const server = await startOn(database.url, "an-admin-token-from-the-environment");
  assert.equal(server.firstAdminToken, null);
  assert.equal(await storedTokens(server), 0);
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer an-admin-token-from-the-environment" },
    body: JSON.stringify({ query: "{ apiTokens { name } }" }),
  });
  assert.deepEqual(await response.json(), { data: { apiTokens: [] } }, "the environment's token is the admin");
});
