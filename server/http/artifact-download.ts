import { pipeline } from "node:stream/promises";
import type { Request, RequestHandler, Response } from "express";
import type { DataSource } from "typeorm";
import { ArtifactNotReadableError, type ArtifactStore } from "../../transport/artifact-store.js";
import { findArtifact } from "../services/artifacts.js";
import { InvalidInputError } from "../services/errors.js";
import { parseRangeHeader } from "./byte-range.js";
import { refuseRead } from "./read-access.js";

export interface ArtifactDownloadOptions {
  dataSource: DataSource;
  store: ArtifactStore;
  publicReads: boolean;
  adminToken: string | null;
  log: (line: string) => void;
}

/**
 * GET/HEAD /artifacts/:id — the bytes of an artifact, with single-range support (206/416), its
 * sha256 as a strong ETag, and the same read authorisation as GraphQL queries.
 */
export function artifactDownloadHandler(options: ArtifactDownloadOptions): RequestHandler {
  return async (req: Request, res: Response) => {
    const fail = (status: number, message: string) => {
      res.status(status).type("text/plain").send(`${message}\n`);
    };
    try {
      const refused = await refuseRead(options, req.headers.authorization, "downloading artifacts");
      if (refused) return fail(refused.status, refused.message);

      const id = String(req.params.id);
      const artifact = await findArtifact(options.dataSource.manager, id);
      if (!artifact) return fail(404, `no artifact with id ${id}`);
      if (!options.store.handles(artifact.location)) return fail(501, "this server cannot read the store that holds this artifact");

      const etag = `"${artifact.sha256}"`;
      res.setHeader("Accept-Ranges", "bytes");
      res.setHeader("ETag", etag);
      res.setHeader("Content-Type", artifact.contentType);
      res.setHeader("Content-Disposition", `attachment; filename="${artifact.kind}-${artifact.id}"`);
      if (req.headers["if-none-match"] === etag) {
        res.status(304).end();
        return;
      }
      // A Range conditioned on another version (If-Range with a different ETag) gets the whole body.
      const ifRange = req.headers["if-range"];
      const rangeHeader = ifRange === undefined || ifRange === etag ? req.headers.range : undefined;
      const request = parseRangeHeader(rangeHeader, artifact.sizeBytes);
      if (request.kind === "unsatisfiable") {
        res.setHeader("Content-Range", `bytes */${artifact.sizeBytes}`);
        return fail(416, `range not satisfiable for ${artifact.sizeBytes} bytes`);
      }
      const range = request.kind === "partial" ? request.range : undefined;
      if (range) {
        res.status(206);
        res.setHeader("Content-Range", `bytes ${range.start}-${range.end}/${artifact.sizeBytes}`);
        res.setHeader("Content-Length", String(range.end - range.start + 1));
      } else {
        res.status(200);
        res.setHeader("Content-Length", String(artifact.sizeBytes));
      }
      if (req.method === "HEAD" || artifact.sizeBytes === 0) {
        res.end();
        return;
      }
      const stream = await options.store.read(artifact.location, range);
      await pipeline(stream, res);
    } catch (error) {
      if (res.headersSent) {
        options.log(`artifact download ${req.params.id} broke off: ${String(error)}`);
        res.destroy();
        return;
      }
      if (error instanceof InvalidInputError) return fail(400, error.message);
      if (error instanceof ArtifactNotReadableError) {
        options.log(`artifact ${req.params.id}: ${error.message}`);
        return fail(404, "the artifact's bytes are not available");
      }
      options.log(`artifact download ${req.params.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fail(500, "internal server error");
    }
  };
}
