import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Express } from "express";

/** Where `npm run build:web` (scripts/build-web.mjs) puts the dashboard: dist/web beside dist/server. */
export const DASHBOARD_DIR = join(__dirname, "..", "..", "web");

const TYPES: Record<string, string> = { ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>swamp</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The dashboard is not built</h1>
<p>Build it with <code>npm run build:web</code> (<code>npm install</code>, <code>npm start</code> and <code>npm test</code> do it too), then reload.
The GraphQL explorer is at <a href="/explorer">/explorer</a>.</p>
</body></html>
`;

/**
 * Serves the web dashboard at / (its bundle under /assets/). The page itself is re-read on each
 * request and never cached, so a rebuild shows at once; the assets are read once.
 */
export function mountDashboard(app: Express, directory = DASHBOARD_DIR): void {
  app.get("/", (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    const page = join(directory, "index.html");
    if (!existsSync(page)) return void res.status(503).type("html").send(NOT_BUILT);
    res.type("html").send(readFileSync(page));
  });
  const cache = new Map<string, Buffer>();
  app.get("/assets/:name", (req, res) => {
    const name = basename(String(req.params.name));
    const type = TYPES[name.slice(name.lastIndexOf("."))];
    const file = join(directory, "assets", name);
    if (!type || !existsSync(file)) return void res.status(404).type("text/plain").send("no such dashboard asset\n");
    let content = cache.get(file);
    if (!content) cache.set(file, (content = readFileSync(file)));
    res.setHeader("Cache-Control", "no-cache");
    res.type(type).send(content);
  });
}
