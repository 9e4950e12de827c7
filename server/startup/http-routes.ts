/**
 * Everything served over HTTP besides the WebSocket upgrade: health and readiness, artifact
 * downloads, exports, run import, the explorer and dashboard, /graphql, and JSON errors last.
 */
import type { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { DataSource } from "typeorm";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { GraphQLContext } from "../graphql/context.js";
import { nestingRefusal } from "../graphql/nesting.js";
import { artifactDownloadHandler } from "../http/artifact-download.js";
import { mountDashboard } from "../http/dashboard.js";
import { mountExplorer } from "../http/explorer.js";
import { mountExports } from "../http/exports.js";
import type { OriginRefusal } from "../http/origin-policy.js";
import { DEFAULT_MAX_IMPORT_BLOB_BYTES, DEFAULT_MAX_IMPORT_MANIFEST_BYTES, mountRunImport } from "../http/run-import.js";
import { mountWeightExports } from "../http/weight-export.js";
import { mountTfjsExport } from "../http/tfjs-export.js";
import type { ServiceDeps } from "../services/transaction.js";
import type { RequestContexts, ServerEndpoint } from "./request-context.js";

/** Longer than a healthy database or NATS round trip, shorter than a Kubernetes probe's default 1 s timeout × 3. */
const READINESS_CHECK_TIMEOUT_MS = 2_000;

export interface HttpRouteDeps {
  dataSource: DataSource;
  services: ServiceDeps;
  artifactStore: ArtifactStore;
  publicReads: boolean;
  adminToken: string | null;
  maxBodyBytes: number;
  maxImportBlobBytes?: number;
  /** Besides the database, what `/readyz` checks; each throws when not ready. */
  readinessChecks?: Readonly<Record<string, () => Promise<void>>>;
  apollo: ApolloServer<GraphQLContext>;
  contexts: RequestContexts;
  endpoint: ServerEndpoint;
  log: (line: string) => void;
}

export function mountHttpRoutes(app: Express, deps: HttpRouteDeps): void {
  const { dataSource, artifactStore: store, publicReads, adminToken, log } = deps;
  mountProbes(app, { database: async () => void (await dataSource.query("SELECT 1")), ...deps.readinessChecks });
  // The policy needs the port, known only once listening; no request arrives before.
  const originCheck = (refusal: OriginRefusal) => (req: Request, res: Response, next: NextFunction) => deps.endpoint.originPolicy!.check(refusal, req, res, next);
  app.use("/artifacts", originCheck("text"));
  const download = artifactDownloadHandler({ dataSource, store, publicReads, adminToken, log });
  app.get("/artifacts/:id", download);
  app.head("/artifacts/:id", download);
  app.use("/export", originCheck("export"));
  mountExports(app, { dataSource, publicReads, adminToken, log });
  mountWeightExports(app, { dataSource, store, publicReads, adminToken, log });
  mountTfjsExport(app, { dataSource, store, publicReads, adminToken, log });
  app.use("/import", originCheck("export"));
  mountRunImport(app, {
    dataSource,
    services: deps.services,
    store,
    publicReads,
    adminToken,
    maxBlobBytes: deps.maxImportBlobBytes ?? DEFAULT_MAX_IMPORT_BLOB_BYTES,
    maxManifestBytes: DEFAULT_MAX_IMPORT_MANIFEST_BYTES,
    log,
  });
  mountExplorer(app);
  mountDashboard(app);
  app.use(
    "/graphql",
    originCheck("graphql"),
    express.json({ limit: deps.maxBodyBytes }),
    (req: Request, res: Response, next: NextFunction) => {
      const refused = nestingRefusal(req.body?.query ?? req.query.query);
      if (!refused) return next();
      res.status(400).json({ errors: [{ message: refused.message, extensions: refused.extensions }] });
    },
    expressMiddleware(deps.apollo, {
      context: async ({ req }) => deps.contexts.contextFor(await deps.contexts.resolvePrincipal(req.headers.authorization)),
    }),
  );
  app.use(jsonErrors(deps.maxBodyBytes, log));
}

/**
 * Liveness only says the process answers, so a database blip restarts nothing; readiness says
 * whether requests can be served (database, and NATS for the fleet) so a load balancer can wait.
 */
function mountProbes(app: Express, readinessChecks: Readonly<Record<string, () => Promise<void>>>): void {
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
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
}

/** Last: body-parser and other errors as JSON, never a stack trace. */
function jsonErrors(maxBodyBytes: number, log: (line: string) => void) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
    const message = status === 413 ? `request body exceeds ${maxBodyBytes} bytes` : status >= 400 && status < 500 ? "malformed request body" : "internal server error";
    if (status >= 500) log(`HTTP error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.status(status).json({ errors: [{ message, extensions: { code: status === 413 ? "PAYLOAD_TOO_LARGE" : status < 500 ? "BAD_REQUEST" : "INTERNAL_SERVER_ERROR" } }] });
  };
}
