/**
 * The routes `swamp import` uploads a run directory through, with the write authorisation of
 * mutations and JSON errors naming the field ({"error": {"message", "field"}}):
 *
 *   HEAD /import/blobs/<sha256>   200 when the server holds those bytes already, else 404
 *   PUT  /import/blobs/<sha256>   the raw bytes (at most maxBlobBytes); refused unless they hash to <sha256>
 *   POST /import/runs             a RunImport (schema/run-import.ts) naming uploaded blobs; answers a RunImportResult
 *
 * Blobs go to the artifact store (content-addressed, so uploading twice stores once); the import
 * itself is one transaction (server/services/run-import.ts).
 */
import { createHash } from "node:crypto";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { InvalidInputError, NotFoundError, StateConflictError } from "../services/errors.js";
import { importRun } from "../services/run-import.js";
import type { ServiceDeps } from "../services/transaction.js";
import { authorizeWrite, type ReadAccessOptions } from "./read-access.js";
import { findArtifact, writeArtifact } from "../../transport/artifact-store.js";

export interface RunImportOptions extends ReadAccessOptions {
  services: ServiceDeps;
  store: ArtifactStore;
  /** Largest blob one PUT may carry. */
  maxBlobBytes: number;
  /** Largest import manifest (the run's JSON summaries; metrics travel as a blob). */
  maxManifestBytes: number;
  log: (line: string) => void;
}

/** Held in memory while its hash is checked: far above a ResNet-20 or Conv-6 weights file (~1 and ~9 MB). */
export const DEFAULT_MAX_IMPORT_BLOB_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_IMPORT_MANIFEST_BYTES = 16 * 1024 * 1024;

type Handler = (req: Request, res: Response) => Promise<void>;

export function mountRunImport(app: Express, options: RunImportOptions): void {
  const writer = requireWriter(options);
  app.head(
    "/import/blobs/:sha256",
    writer,
    importRoute(options, async (req, res) => {
      const found = await findArtifact(options.store, requireSha256(req.params.sha256));
      res.status(found ? 200 : 404).setHeader("Content-Length", String(found?.sizeBytes ?? 0));
      res.end();
    }),
  );
  app.put("/import/blobs/:sha256", writer, importRoute(options, (req, res) => receiveBlob(options, req, res)));
  // The manifest is parsed only once the caller is known to be allowed to import.
  app.post(
    "/import/runs",
    writer,
    express.json({ limit: options.maxManifestBytes }),
    importRoute(options, async (req, res) => {
      const result = await importRun(options.services, options.store, { manifest: req.body, owner: res.locals.owner as string | null });
      res.status(result.created ? 201 : 200).json(result);
    }),
    (error: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(error);
      const status = (error as { status?: unknown }).status;
      if (status === 413) return sendError(res, 413, `the import manifest exceeds ${options.maxManifestBytes} bytes`, "body");
      if (typeof status === "number" && status >= 400 && status < 500) return sendError(res, 400, "the import manifest is not valid JSON", "body");
      return next(error);
    },
  );
}

function sendError(res: Response, status: number, message: string, field: string | null = null): void {
  if (res.req.method === "HEAD") res.status(status).end();
  else res.status(status).json({ error: { message, field } });
}

/** The write authorisation of mutations; the token's name is left in res.locals.owner. */
function requireWriter(options: RunImportOptions) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const authorized = await authorizeWrite(options, req.headers.authorization, "importing a run");
      if ("refusal" in authorized) return sendError(res, authorized.refusal.status, authorized.refusal.message);
      res.locals.owner = authorized.owner;
      next();
    } catch (error) {
      next(error);
    }
  };
}

function requireSha256(value: unknown): string {
  if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value)) throw InvalidInputError.single("sha256", "must be 64 lowercase hex digits");
  return value;
}

async function receiveBlob(options: RunImportOptions, req: Request, res: Response): Promise<void> {
  const sha256 = requireSha256(req.params.sha256);
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (declared !== undefined && declared > options.maxBlobBytes) {
    req.resume();
    throw InvalidInputError.single("body", `is ${declared} bytes; a blob may have at most ${options.maxBlobBytes}`);
  }
  const chunks: Buffer[] = [];
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > options.maxBlobBytes) {
      req.destroy();
      throw InvalidInputError.single("body", `exceeds ${options.maxBlobBytes} bytes, the most a blob may have`);
    }
    hash.update(chunk);
    chunks.push(chunk);
  }
  const actual = hash.digest("hex");
  if (actual !== sha256) throw InvalidInputError.single("sha256", `the uploaded ${size} bytes hash to ${actual}, not ${sha256}`);
  const stored = await writeArtifact(options.store, Buffer.concat(chunks, size));
  res.status(201).json({ sha256: stored.sha256, size: stored.sizeBytes });
}

/** A route whose service errors become JSON errors naming the field. */
function importRoute(options: RunImportOptions, handle: Handler) {
  return async (req: Request, res: Response) => {
    try {
      await handle(req, res);
    } catch (error) {
      if (res.headersSent) {
        options.log(`import broke off: ${String(error)}`);
        res.destroy();
        return;
      }
      if (error instanceof InvalidInputError) return sendError(res, 400, error.message, error.problems[0]?.path ?? null);
      if (error instanceof NotFoundError) return sendError(res, 404, error.message);
      if (error instanceof StateConflictError) return sendError(res, 409, error.message);
      options.log(`import failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return sendError(res, 500, "internal server error");
    }
  };
}
