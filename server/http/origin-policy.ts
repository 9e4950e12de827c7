import type { NextFunction, Request, Response } from "express";

const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]", ""]);

/** `http(s)://host[:port][/path]` without query or fragment, trailing slash dropped; null when it is not one. */
export function normalisePublicUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "" || text.includes("?") || text.includes("#")) return null;
  if (url.username !== "" || url.password !== "") return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** `scheme://host[:port]` exactly as browsers send it in Origin; null when `text` is anything else. */
export function parseOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.origin === text.replace(/\/$/, "") ? url.origin : null;
}

/**
 * The URL a server listening on `host:port` is reached at when no public URL is configured: the
 * listener itself, or localhost for a wildcard listener (whose address names no one host).
 */
export function defaultPublicUrl(host: string, port: number): string {
  const name = WILDCARD_HOSTS.has(host) ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/**
 * Which browser origins may call the API (GraphQL over HTTP and WebSocket, artifact downloads):
 * the public URL's, the configured ones, and the loopback spellings of a loopback listener (a page
 * on localhost:PORT is this server itself). Requests without an Origin header (curl, scripts, the
 * CLI, same-origin GETs) are not browsers acting for another site and pass.
 *
 * Tokens are bearer headers, never cookies, so a foreign page cannot borrow a user's credentials;
 * the check keeps other sites from using the API on a user's behalf at all (and from reading it
 * with public reads on), and it is what browsers cannot enforce for WebSockets themselves.
 */
/** How a refusal is written: as a GraphQL error, as the exports' JSON error, or as plain text (downloads). */
export type OriginRefusal = "graphql" | "export" | "text";

export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(publicUrl: string, listenerUrl: string, extra: readonly string[]) {
    const allowed = new Set<string>(extra.map((origin) => parseOrigin(origin) ?? origin));
    for (const url of [publicUrl, listenerUrl]) {
      const parsed = new URL(url);
      allowed.add(parsed.origin);
      if (LOOPBACK_HOSTS.includes(parsed.hostname) || parsed.hostname === "::1") {
        for (const alias of LOOPBACK_HOSTS) allowed.add(`${parsed.protocol}//${alias}${parsed.port ? `:${parsed.port}` : ""}`);
      }
    }
    this.allowed = allowed;
  }

  allows(origin: string | undefined): boolean {
    return origin === undefined || this.allowed.has(origin);
  }

  /**
   * Refuses requests from other origins with 403 (before anything runs), answers CORS preflights
   * from allowed ones, and marks their responses readable by them.
   */
  check(refusal: OriginRefusal, req: Request, res: Response, next: NextFunction): void {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    if (!this.allows(origin)) {
      const message = `origin ${origin} is not allowed to use this server (add it to SWAMP_ALLOWED_ORIGINS)`;
      res.status(403);
      if (refusal === "graphql") res.json({ errors: [{ message, extensions: { code: "FORBIDDEN_ORIGIN" } }] });
      else if (refusal === "export") res.json({ error: { message } });
      else res.type("text/plain").send(`${message}\n`);
      return;
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.append("Vary", "Origin");
    res.setHeader("Access-Control-Expose-Headers", "Content-Range, Accept-Ranges, Content-Length, ETag");
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", "authorization, content-type, range, if-range, if-none-match, apollo-require-preflight, x-apollo-operation-name");
      res.setHeader("Access-Control-Max-Age", "600");
      res.status(204).end();
      return;
    }
    next();
  }
}
