import type { Express } from "express";

/** Serves the in-browser GraphQL explorer at /explorer (and / redirects there). */
export function mountExplorer(app: Express): void {
  app.get("/", (_req, res) => res.redirect(302, "/explorer"));
  app.get("/explorer", (_req, res) => {
    res.type("html").send(`<!doctype html><title>swamp</title><p>POST GraphQL to <code>/graphql</code>.</p>`);
  });
}
