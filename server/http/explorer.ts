import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Express, Response } from "express";

/**
 * Files the explorer page loads, all from node_modules (GraphiQL 3's UMD build on React 18) or
 * this directory, so the explorer works with no internet access.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  "react.js": { file: join(packageDir("react"), "umd/react.production.min.js"), type: "text/javascript" },
  "react-dom.js": { file: join(packageDir("react-dom"), "umd/react-dom.production.min.js"), type: "text/javascript" },
  "graphiql.js": { file: join(packageDir("graphiql"), "graphiql.min.js"), type: "text/javascript" },
  "graphiql.css": { file: join(packageDir("graphiql"), "graphiql.min.css"), type: "text/css" },
};

/**
 * Mounts GraphiQL on /graphql with subscriptions over graphql-ws on the same path. The
 * Authorization header typed into GraphiQL's headers pane goes with queries and, as connection
 * params, with subscriptions. Plain browser JavaScript, served as /explorer/assets/explorer.js.
 */
const EXPLORER_SCRIPT = `"use strict";
(function () {
  var defaultQuery = [
    "# Put your token in the Headers pane below: {\\"Authorization\\": \\"Bearer swamp_...\\"}",
    "query Recent {",
    "  experiments(first: 20) {",
    "    totalCount",
    "    nodes { id name status method model dataset finalSparsity bestAccuracy createdAt }",
    "    pageInfo { hasNextPage endCursor }",
    "  }",
    "}",
    ""
  ].join("\\n");
  var url = window.location.origin + "/graphql";
  var subscriptionUrl = (window.location.protocol === "https:" ? "wss:" : "ws:") + "//" + window.location.host + "/graphql";
  var fetchers = new Map();
  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    var authorization = headers.Authorization || headers.authorization || "";
    var forToken = fetchers.get(authorization);
    if (!forToken) {
      forToken = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl, wsConnectionParams: authorization ? { authorization: authorization } : {} });
      fetchers.set(authorization, forToken);
    }
    return forToken(params, options);
  }
  ReactDOM.createRoot(document.getElementById("explorer")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: JSON.stringify({ Authorization: "Bearer " }, null, 2),
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers"
    })
  );
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>swamp · GraphQL explorer</title>
  <link rel="stylesheet" href="/explorer/assets/graphiql.css">
  <style>html, body, #explorer { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="explorer">Loading the explorer…</div>
  <script src="/explorer/assets/react.js"></script>
  <script src="/explorer/assets/react-dom.js"></script>
  <script src="/explorer/assets/graphiql.js"></script>
  <script src="/explorer/assets/explorer.js"></script>
</body>
</html>
`;

/** Serves the in-browser GraphQL explorer at /explorer. */
export function mountExplorer(app: Express): void {
  app.get("/explorer", (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.type("html").send(PAGE);
  });
  app.get("/explorer/assets/explorer.js", (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.type("text/javascript").send(EXPLORER_SCRIPT);
  });
  app.get("/explorer/assets/:name", (req, res) => {
    const asset = ASSETS[String(req.params.name)];
    if (!asset || !existsSync(asset.file)) return notFound(res);
    res.setHeader("Cache-Control", "public, max-age=3600");
    res.type(asset.type).send(readCached(asset.file));
  });
}

const cache = new Map<string, Buffer>();
function readCached(file: string): Buffer {
  let content = cache.get(file);
  if (!content) cache.set(file, (content = readFileSync(file)));
  return content;
}

function notFound(res: Response): void {
  res.status(404).type("text/plain").send("no such explorer asset\n");
}

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}
