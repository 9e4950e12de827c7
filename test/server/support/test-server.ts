import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { createScratchDatabase, type ScratchDatabase } from "../../../server/db/scratch-database.js";
import { startServer, type RunningServer, type StartServerOptions } from "../../../server/start-server.js";
import { createApiToken } from "../../../server/services/tokens.js";
import type { TokenScope } from "../../../schema/statuses.js";

/** The cluster tests create their databases on (the machine's PostgreSQL, trust auth). */
export const TEST_ADMIN_DATABASE_URL = process.env.SWAMP_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data: T | null | undefined;
  errors: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }> | undefined;
}

export interface TestServer {
  server: RunningServer;
  database: ScratchDatabase;
  /** Temporary SWAMP_HOME (artifact files). */
  home: string;
  adminToken: string;
  /** Creates a stored token with these scopes and returns its secret. */
  token(scopes: TokenScope[], name?: string): Promise<string>;
  /** POSTs a GraphQL operation; `token: null` sends no Authorization header. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on the same port. */
  wsClient(token?: string | null): Client;
  close(): Promise<void>;
}

/** A server on a free port over a fresh database of its own, dropped again by close(). */
export async function startTestServer(options: Partial<StartServerOptions> = {}, label = "server"): Promise<TestServer> {
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, label);
  const home = mkdtempSync(join(tmpdir(), "swamp-test-"));
  let server: RunningServer;
  try {
    server = await startServer({ databaseUrl: database.url, port: 0, swampHome: home, log: () => undefined, ...options });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const adminToken = server.firstAdminToken ?? (await createApiToken(server.dataSource.manager, { name: "test admin", scopes: ["admin"] })).secret;
  const clients: Client[] = [];
  return {
    server,
    database,
    home,
    adminToken,
    async token(scopes, name = `test ${scopes.join("+")}`) {
      return (await createApiToken(server.dataSource.manager, { name, scopes })).secret;
    },
    async gql(query, variables = {}, token = adminToken) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const response = await fetch(server.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: any; errors?: any };
      return { status: response.status, data: body.data, errors: body.errors };
    },
    wsClient(token = adminToken) {
      const client = createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) await client.dispose();
      await server.close();
      await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A valid config file's JSON; `overrides` replace top-level sections. */
export function sampleConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "fmnist-swamp",
    data: { name: "synthetic" },
    model: { name: "lenet-300-100" },
    method: { name: "swamp", particles: 4 },
    pruning: { cycles: 3 },
    tags: ["baseline"],
    ...overrides,
  };
}

/** Collects a subscription's results until `count` arrived, or fails after `timeoutMs`. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>, count: number, timeoutMs = 10_000): { results: Promise<T[]>; stop: () => void } {
  const items: T[] = [];
  let unsubscribe: () => void = () => undefined;
  const results = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`subscription got ${items.length} of ${count} results within ${timeoutMs} ms: ${JSON.stringify(items).slice(0, 500)}`));
    }, timeoutMs);
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) {
            clearTimeout(timer);
            reject(new Error(`subscription error: ${JSON.stringify(value.errors)}`));
            return;
          }
          items.push(value.data as T);
          if (items.length >= count) {
            clearTimeout(timer);
            unsubscribe();
            resolve(items);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve(items);
        },
      },
    );
  });
  return { results, stop: () => unsubscribe() };
}

/** Waits until `condition` holds (polling), for events that arrive asynchronously. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
