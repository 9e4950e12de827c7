import { swampHome, swampHomeLayout } from "../schema/swamp-home.js";
import "reflect-metadata";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import { GraphQLError, parse, specifiedRules, validate, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { DataSource } from "typeorm";
import { WebSocketServer } from "ws";
import type { ArtifactStore } from "../transport/artifact-store.js";
import { FilesystemArtifacts } from "../transport/embedded/filesystem-artifacts.js";
import { openDatabase } from "./db/data-source.js";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./db/embedded-postgres.js";
import { createLoaders, type GraphQLContext, type ServerHooks, type ServerSettings } from "./graphql/context.js";
import { DEFAULT_QUERY_LIMITS, depthLimitRule, type QueryLimits } from "./graphql/limits.js";
import { operationRefusal } from "./graphql/operation-guard.js";
import { formatClientError } from "./graphql/errors.js";
import { nestingRefusal } from "./graphql/nesting.js";
import { buildSwampSchema } from "./graphql/schema.js";
import { artifactDownloadHandler } from "./http/artifact-download.js";
import { mountDashboard } from "./http/dashboard.js";
import { mountExplorer } from "./http/explorer.js";
import { defaultPublicUrl, normalisePublicUrl, OriginPolicy, type OriginRefusal } from "./http/origin-policy.js";
import { DEFAULT_WEBSOCKET_LIMITS, WebSocketSessions, type WebSocketLimits } from "./http/websocket-sessions.js";
import { mountExports } from "./http/exports.js";
import { mountWeightExports } from "./http/weight-export.js";
import { mountTfjsExport } from "./http/tfjs-export.js";
import { DEFAULT_MAX_IMPORT_BLOB_BYTES, DEFAULT_MAX_IMPORT_MANIFEST_BYTES, mountRunImport } from "./http/run-import.js";
import { subscribeWithColumnFastPath } from "./live/column-fast-path.js";
import { bindSocket, watchLiveSockets } from "./live/live-sockets.js";
import { InProcessPubSub } from "../transport/live-feed/in-process-pubsub.js";
import type { SwampPubSub } from "../transport/live-feed/pubsub.js";
import { authenticate, createFirstAdminToken, invalidTokenIds, parseAuthorizationHeader, type Principal } from "./services/tokens.js";
import { DEFAULT_DATA_ROOTS } from "./services/data-roots.js";
import type { ServiceDeps } from "./services/transaction.js";

/** Longer than a healthy database or NATS round trip, shorter than a Kubernetes probe's default 1 s timeout × 3. */
const READINESS_CHECK_TIMEOUT_MS = 2_000;

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
export const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts the tracking server: migrations, GraphQL over HTTP and WebSocket on one port, artifact
 * downloads and the offline explorer. Everything it opens, `close()` closes, in reverse order.
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const home = options.swampHome ?? swampHome();
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...options.limits };
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const settings: ServerSettings = {
    publicReads: options.publicReads ?? false,
    workerHeartbeatTimeoutMs: options.workerHeartbeatTimeoutMs ?? 30_000,
    dataRoots: options.dataRoots ?? DEFAULT_DATA_ROOTS,
  };
  const adminToken = options.adminToken ? options.adminToken : null;
  const configuredPublicUrl = options.publicUrl === undefined ? null : normalisePublicUrl(options.publicUrl);
  if (configuredPublicUrl === null && options.publicUrl !== undefined) throw new Error(`the public URL must be an http or https URL without query or fragment, got "${options.publicUrl}"`);
  const webSocketLimits: WebSocketLimits = { ...DEFAULT_WEBSOCKET_LIMITS, ...options.webSocketLimits };
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  try {
    let embeddedPostgres: EmbeddedPostgresHandle | null = null;
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      embeddedPostgres = await startEmbeddedPostgres({ dataDir: swampHomeLayout(home).postgres });
      cleanups.push(() => embeddedPostgres!.stop());
      databaseUrl = embeddedPostgres.url;
      log(`embedded PostgreSQL ${embeddedPostgres.initialised ? "created and started" : "started"} in ${embeddedPostgres.dataDir}`);
    }
    const dataSource = await openDatabase({ url: databaseUrl, poolSize: options.poolSize });
    cleanups.push(() => dataSource.destroy());

    const ownsPubSub = !options.pubsub;
    const pubsub = options.pubsub ?? new InProcessPubSub();
    if (ownsPubSub) cleanups.push(() => pubsub.close());
    const artifactStore = options.artifactStore ?? new FilesystemArtifacts(swampHomeLayout(home).artifacts);
    const services: ServiceDeps = { dataSource, pubsub };

    // With SWAMP_ADMIN_TOKEN the deployment has its admin already: no stored one is made (or printed).
    const firstAdminToken = (options.createFirstAdminToken ?? true) && !adminToken ? await createFirstAdminToken(dataSource) : null;

    const sessions = new WebSocketSessions(webSocketLimits, (ids) => invalidTokenIds(dataSource.manager, ids), log);
    cleanups.push(async () => sessions.close());
    // Known once listening (port 0 picks one); no request is served before.
    let publicUrl = configuredPublicUrl ?? "";
    let originPolicy: OriginPolicy | null = null;

    const schema = await buildSwampSchema();
    const contextFor = (principal: Principal): GraphQLContext => ({
      services,
      dataSource,
      pubsub,
      principal,
      settings,
      hooks: options.hooks ?? {},
      artifactStore,
      publicUrl,
      tokenRevoked: (tokenId) => sessions.tokenRevoked(tokenId),
      loaders: createLoaders(dataSource),
    });
    const resolvePrincipal = async (authorization: unknown): Promise<Principal> => {
      const header = parseAuthorizationHeader(typeof authorization === "string" ? authorization : undefined);
      if ("error" in header) return { kind: "rejected", reason: header.error };
      return authenticate(dataSource.manager, header.secret, adminToken);
    };

    const app = express();
    app.disable("x-powered-by");
    const httpServer: Server = createServer(app);

    const formatErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatClientError(error.toJSON(), error, log));
    // Set once listening (see below); drained with the HTTP server.
    let wsCleanup: { dispose(): void | Promise<void> } | null = null;

    const guardPlugin: ApolloServerPlugin<GraphQLContext> = {
      async requestDidStart() {
        return {
          async didResolveOperation({ request, document, contextValue }) {
            const refused = operationRefusal(schema, limits, { document, operationName: request.operationName, variables: request.variables }, contextValue);
            if (!refused) return;
            const { error } = refused;
            const status = refused.kind === "too-complex" ? 400 : error.extensions.code === "FORBIDDEN" ? 403 : 401;
            (error.extensions as Record<string, unknown>).http = { status };
            throw error;
          },
        };
      },
    };
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      introspection: true,
      includeStacktraceInErrorResponses: false,
      // The process owner (serve.ts, tests, the fleet) decides when to stop, and stops everything in order.
      stopOnTerminationSignals: false,
      validationRules: [depthLimitRule(limits.maxDepth)],
      formatError: (formatted, error) => formatClientError(formatted, error, log),
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        { async serverWillStart() { return { async drainServer() { await wsCleanup?.dispose(); } }; } },
        ApolloServerPluginLandingPageDisabled(),
        guardPlugin,
      ],
    });
    await apollo.start();
    cleanups.push(() => apollo.stop());

    // Liveness only says the process answers, so a database blip restarts nothing; readiness says
    // whether requests can be served (database, and NATS for the fleet) so a load balancer can wait.
    app.get("/healthz", (_req, res) => {
      res.type("text/plain").send("ok\n");
    });
    const readinessChecks: Record<string, () => Promise<void>> = { database: async () => void (await dataSource.query("SELECT 1")), ...options.readinessChecks };
    app.get("/readyz", async (_req, res) => {
      const failing: string[] = [];
      for (const [name, check] of Object.entries(readinessChecks)) {
        // A check that hangs (a half-open connection) counts as failing, so the probe answers in time.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error("timed out")), READINESS_CHECK_TIMEOUT_MS)));
        await Promise.race([check(), timeout]).catch(() => failing.push(name));
        clearTimeout(timer);
      }
      if (failing.length === 0) res.type("text/plain").send("ready\n");
      else res.status(503).type("text/plain").send(`not ready: ${failing.join(", ")} unavailable\n`);
    });
    // The policy needs the port, known only once listening; no request arrives before.
    const originCheck = (refusal: OriginRefusal) => (req: Request, res: Response, next: NextFunction) => originPolicy!.check(refusal, req, res, next);
    app.use("/artifacts", originCheck("text"));
    const download = artifactDownloadHandler({ dataSource, store: artifactStore, publicReads: settings.publicReads, adminToken, log });
    app.get("/artifacts/:id", download);
    app.head("/artifacts/:id", download);
    app.use("/export", originCheck("export"));
    mountExports(app, { dataSource, publicReads: settings.publicReads, adminToken, log });
    mountWeightExports(app, { dataSource, store: artifactStore, publicReads: settings.publicReads, adminToken, log });
    mountTfjsExport(app, { dataSource, store: artifactStore, publicReads: settings.publicReads, adminToken, log });
    app.use("/import", originCheck("export"));
    mountRunImport(app, {
      dataSource,
      services,
      store: artifactStore,
      publicReads: settings.publicReads,
      adminToken,
      maxBlobBytes: options.maxImportBlobBytes ?? DEFAULT_MAX_IMPORT_BLOB_BYTES,
      maxManifestBytes: DEFAULT_MAX_IMPORT_MANIFEST_BYTES,
      log,
    });
    mountExplorer(app);
    mountDashboard(app);
    app.use(
      "/graphql",
      originCheck("graphql"),
      express.json({ limit: maxBodyBytes }),
      (req: Request, res: Response, next: NextFunction) => {
        const refused = nestingRefusal(req.body?.query ?? req.query.query);
        if (!refused) return next();
        res.status(400).json({ errors: [{ message: refused.message, extensions: refused.extensions }] });
      },
      expressMiddleware(apollo, {
        context: async ({ req }) => contextFor(await resolvePrincipal(req.headers.authorization)),
      }),
    );
    // Last: body-parser and other errors as JSON, never a stack trace.
    app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(error);
      const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
      const message =
        status === 413 ? `request body exceeds ${maxBodyBytes} bytes` : status >= 400 && status < 500 ? "malformed request body" : "internal server error";
      if (status >= 500) log(`HTTP error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      res.status(status).json({ errors: [{ message, extensions: { code: status === 413 ? "PAYLOAD_TOO_LARGE" : status < 500 ? "BAD_REQUEST" : "INTERNAL_SERVER_ERROR" } }] });
    });

    const host = options.host ?? DEFAULT_HOST;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) =>
        reject(error.code === "EADDRINUSE" ? new Error(`port ${options.port ?? DEFAULT_PORT} on ${host} is already in use; choose another with PORT`) : error);
      httpServer.once("error", fail);
      httpServer.listen(options.port ?? DEFAULT_PORT, host, () => {
        httpServer.off("error", fail);
        resolve();
      });
    });
    const address = httpServer.address();
    const port = typeof address === "object" && address ? address.port : (options.port ?? DEFAULT_PORT);
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const baseUrl = `http://${urlHost}:${port}`;
    if (configuredPublicUrl === null) {
      publicUrl = defaultPublicUrl(host, port);
      if (publicUrl !== baseUrl) log(`SWAMP_PUBLIC_URL is not set: download links and the allowed browser origin use ${publicUrl}`);
    }
    originPolicy = new OriginPolicy(publicUrl, baseUrl, options.allowedOrigins ?? []);

    // WebSocket subscriptions (graphql-ws) share the HTTP port and path. Attached only once the
    // port is ours, so a failed listen is reported once, plainly. Browsers let any page open a
    // WebSocket anywhere, so the Origin check happens here, at the upgrade.
    const wsServer = new WebSocketServer({
      server: httpServer,
      path: "/graphql",
      maxPayload: maxBodyBytes,
      verifyClient: (info: { req: { headers: { origin?: string } } }, done: (allowed: boolean, status?: number, message?: string) => void) =>
        originPolicy!.allows(info.req.headers.origin) ? done(true) : done(false, 403, `origin ${info.req.headers.origin} is not allowed to use this server`),
    });
    const authorizationOf = (ctx: { connectionParams?: Readonly<Record<string, unknown>>; extra: { request: { headers: { authorization?: string } } } }) => {
      const params = ctx.connectionParams ?? {};
      return params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
    };
    watchLiveSockets(wsServer, webSocketLimits.maxBufferedBytes);
    wsCleanup = useServer(
      {
        schema,
        subscribe: subscribeWithColumnFastPath,
        onConnect: async (ctx) => sessions.admit(ctx.extra.socket, await resolvePrincipal(authorizationOf(ctx)), ctx.extra.request.socket.remoteAddress),
        context: async (ctx) => {
          const context = contextFor(await resolvePrincipal(authorizationOf(ctx)));
          bindSocket(context, ctx.extra.socket);
          return context;
        },
        onSubscribe: async (ctx, _id, payload) => {
          const tooMany = sessions.operationRefusal(Object.keys(ctx.subscriptions).length);
          if (tooMany) return [tooMany];
          const tooDeep = nestingRefusal(payload.query);
          if (tooDeep) return [tooDeep];
          let document;
          try {
            document = parse(payload.query);
          } catch {
            return; // graphql-ws reports the syntax error itself
          }
          const errors = validate(schema, document, [...specifiedRules, depthLimitRule(limits.maxDepth)]);
          if (errors.length > 0) return errors;
          const principal = await resolvePrincipal(authorizationOf(ctx));
          const refused = operationRefusal(schema, limits, { document, operationName: payload.operationName, variables: payload.variables ?? undefined }, { principal, settings });
          return refused ? [refused.error] : undefined;
        },
        onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined),
        onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
        // Internal errors close a socket with a generic reason, never the error's text.
        isProd: true,
      },
      wsServer,
    );

    let closing: Promise<void> | null = null;
    return {
      url: `${baseUrl}/graphql`,
      wsUrl: `ws://${urlHost}:${port}/graphql`,
      baseUrl,
      publicUrl,
      port,
      dataSource,
      pubsub,
      services,
      artifactStore,
      schema,
      firstAdminToken,
      embeddedPostgres,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}
