import { swampHome } from "../schema/swamp-home.js";
import "reflect-metadata";
import { createServer } from "node:http";
import express from "express";
import type { GraphQLSchema } from "graphql";
import type { DataSource } from "typeorm";
import type { ArtifactStore } from "../transport/artifact-store.js";
import { FilesystemArtifacts } from "../transport/embedded/filesystem-artifacts.js";
import { swampHomeLayout } from "../schema/swamp-home.js";
import type { EmbeddedPostgresHandle } from "./db/embedded-postgres.js";
import type { ServerHooks, ServerSettings } from "./graphql/context.js";
import { DEFAULT_ROUTE_WAIT_WARNING_MS } from "./services/route-waits.js";
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from "./graphql/limits.js";
import { buildSwampSchema } from "./graphql/schema.js";
import { normalisePublicUrl } from "./http/origin-policy.js";
import { DEFAULT_WEBSOCKET_LIMITS, WebSocketSessions, type WebSocketLimits } from "./http/websocket-sessions.js";
import { InProcessPubSub } from "../transport/live-feed/in-process-pubsub.js";
import type { SwampPubSub } from "../transport/live-feed/pubsub.js";
import { createFirstAdminToken, invalidTokenIds } from "./services/tokens.js";
import { DEFAULT_DATA_ROOTS } from "./services/data-roots.js";
import type { ServiceDeps } from "./services/transaction.js";
import { openServerDatabase } from "./startup/database.js";
import { startGraphQLServer, type WebSocketDrain } from "./startup/graphql-server.js";
import { mountHttpRoutes } from "./startup/http-routes.js";
import { listen, settleEndpoint } from "./startup/listen.js";
import { requestContexts, type ServerEndpoint } from "./startup/request-context.js";
import { Cleanups } from "./startup/shutdown.js";
import { attachWebSocket } from "./startup/websocket.js";

export interface StartServerOptions {
  /** PostgreSQL to use; without it an embedded cluster is started under `swampHome`. */
  databaseUrl?: string;
  /** Embedded PostgreSQL data and the default artifact store live here. Default `~/.swamp`. */
  swampHome?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** Let requests without a token read (queries, subscriptions, downloads). Default false. */
  publicReads?: boolean;
  /** Accepted as an admin token in addition to stored tokens (SWAMP_ADMIN_TOKEN). */
  adminToken?: string | null;
  /** When no admin token is stored yet (and `adminToken` is not set), create one and return it as `firstAdminToken`. Default true. */
  createFirstAdminToken?: boolean;
  /** Default: in-process. The fleet passes a NATS-backed one so replicas share subscribers. */
  pubsub?: SwampPubSub;
  /** Default: files under `<swampHome>/artifacts`. */
  artifactStore?: ArtifactStore;
  hooks?: ServerHooks;
  limits?: Partial<QueryLimits>;
  /** Largest request body (HTTP) or message (WebSocket) accepted. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Largest file `swamp import` may upload (PUT /import/blobs). Default 256 MiB. */
  maxImportBlobBytes?: number;
  /** Default 30 s. */
  workerHeartbeatTimeoutMs?: number;
  /** How long an experiment's route may go without a live worker before it is reported waiting (SWAMP_ROUTE_WAIT_WARNING_MS). Default 60 s. */
  routeWaitWarningMs?: number;
  /** Where clients reach this server (SWAMP_PUBLIC_URL): download URLs and the allowed Origin. Default `http://HOST:PORT`. */
  publicUrl?: string;
  /** Browser origins besides the public URL's allowed to call the API (SWAMP_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[];
  webSocketLimits?: Partial<WebSocketLimits>;
  /** Directories a submitted config's `data.dir` must resolve inside (SWAMP_DATA_ROOTS). Default DEFAULT_DATA_ROOTS. */
  dataRoots?: readonly string[];
  /** Database connections in the pool. Default 10. */
  poolSize?: number;
  /** Besides the database, what `/readyz` checks (the fleet server adds NATS); each throws when not ready. */
  readinessChecks?: Readonly<Record<string, () => Promise<void>>>;
  log?: (line: string) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** e.g. ws://127.0.0.1:4000/graphql */
  wsUrl: string;
  /** e.g. http://127.0.0.1:4000 */
  baseUrl: string;
  /** Where clients reach this server (download URLs start with it): as configured, else `baseUrl` (localhost for a wildcard listener). */
  publicUrl: string;
  port: number;
  dataSource: DataSource;
  pubsub: SwampPubSub;
  services: ServiceDeps;
  artifactStore: ArtifactStore;
  schema: GraphQLSchema;
  /** Created by this start because no admin token existed yet; shown once. */
  firstAdminToken: string | null;
  /** Set when the server started its own PostgreSQL. */
  embeddedPostgres: EmbeddedPostgresHandle | null;
  /** Stops accepting, drains HTTP and WebSocket clients, closes the database (and embedded cluster). */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4000;
export const DEFAULT_WORKER_HEARTBEAT_TIMEOUT_MS = 30_000;
export const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts the tracking server: migrations, GraphQL over HTTP and WebSocket on one port, artifact
 * downloads and the offline explorer. Everything it opens, `close()` closes, in reverse order.
 * Each step is one function in server/startup/.
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const home = options.swampHome ?? swampHome();
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...options.limits };
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const settings: ServerSettings = {
    publicReads: options.publicReads ?? false,
    workerHeartbeatTimeoutMs: options.workerHeartbeatTimeoutMs ?? DEFAULT_WORKER_HEARTBEAT_TIMEOUT_MS,
    routeWaitWarningMs: options.routeWaitWarningMs ?? DEFAULT_ROUTE_WAIT_WARNING_MS,
    dataRoots: options.dataRoots ?? DEFAULT_DATA_ROOTS,
  };
  const adminToken = options.adminToken ? options.adminToken : null;
  const configuredPublicUrl = options.publicUrl === undefined ? null : normalisePublicUrl(options.publicUrl);
  if (configuredPublicUrl === null && options.publicUrl !== undefined) throw new Error(`the public URL must be an http or https URL without query or fragment, got "${options.publicUrl}"`);
  const webSocketLimits: WebSocketLimits = { ...DEFAULT_WEBSOCKET_LIMITS, ...options.webSocketLimits };
  const cleanups = new Cleanups();

  try {
    // 1. Database (embedded PostgreSQL unless one is configured) and the services over it.
    const { dataSource, embeddedPostgres } = await openServerDatabase({ databaseUrl: options.databaseUrl, home, poolSize: options.poolSize, log }, cleanups);
    const pubsub = options.pubsub ?? new InProcessPubSub();
    if (!options.pubsub) cleanups.add(() => pubsub.close());
    const artifactStore = options.artifactStore ?? new FilesystemArtifacts(swampHomeLayout(home).artifacts);
    const services: ServiceDeps = { dataSource, pubsub };
    // With SWAMP_ADMIN_TOKEN the deployment has its admin already: no stored one is made (or printed).
    const firstAdminToken = (options.createFirstAdminToken ?? true) && !adminToken ? await createFirstAdminToken(dataSource) : null;

    // 2. Who is asking, for HTTP and WebSocket alike.
    const sessions = new WebSocketSessions(webSocketLimits, (ids) => invalidTokenIds(dataSource.manager, ids), log);
    cleanups.add(async () => sessions.close());
    const endpoint: ServerEndpoint = { publicUrl: configuredPublicUrl ?? "", originPolicy: null };
    const contexts = requestContexts({ dataSource, services, pubsub, settings, hooks: options.hooks ?? {}, artifactStore, adminToken, sessions, endpoint });

    // 3. GraphQL schema and server.
    const schema = await buildSwampSchema();
    const app = express();
    app.disable("x-powered-by");
    const httpServer = createServer(app);
    const webSocket: WebSocketDrain = { current: null };
    const apollo = await startGraphQLServer({ schema, limits, httpServer, webSocket, log }, cleanups);

    // 4. HTTP routes.
    mountHttpRoutes(app, {
      dataSource,
      services,
      artifactStore,
      publicReads: settings.publicReads,
      adminToken,
      maxBodyBytes,
      maxImportBlobBytes: options.maxImportBlobBytes,
      readinessChecks: options.readinessChecks,
      apollo,
      contexts,
      endpoint,
      log,
    });

    // 5. Listening, then the addresses and origin policy that depend on the port.
    const host = options.host ?? DEFAULT_HOST;
    const address = await listen(httpServer, host, options.port ?? DEFAULT_PORT);
    settleEndpoint(endpoint, { configuredPublicUrl, host, address, allowedOrigins: options.allowedOrigins ?? [], log });

    // 6. WebSocket subscriptions on the same port (drained by the GraphQL server's stop).
    webSocket.current = attachWebSocket({ httpServer, schema, limits, webSocketLimits, maxBodyBytes, settings, sessions, contexts, endpoint, log });

    // 7. Shutdown: everything above, in reverse order.
    return {
      url: `${address.baseUrl}/graphql`,
      wsUrl: `ws://${address.urlHost}:${address.port}/graphql`,
      baseUrl: address.baseUrl,
      publicUrl: endpoint.publicUrl,
      port: address.port,
      dataSource,
      pubsub,
      services,
      artifactStore,
      schema,
      firstAdminToken,
      embeddedPostgres,
      close: () => cleanups.closeAll(),
    };
  } catch (error) {
    await cleanups.closeAll().catch(() => undefined);
    throw error;
  }
}
