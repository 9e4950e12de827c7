/**
 * GraphQL subscriptions (graphql-ws) on the HTTP server's port and path. Attached only once the
 * port is ours, so a failed listen is reported once, plainly. Browsers let any page open a
 * WebSocket anywhere, so the Origin check happens here, at the upgrade.
 */
import type { Server } from "node:http";
import { GraphQLError, specifiedRules, validate, type GraphQLSchema } from "graphql";
import type { WebSocket } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { formatClientError } from "../graphql/errors.js";
import { depthLimitRule, type QueryLimits } from "../graphql/limits.js";
import { nestingRefusal } from "../graphql/nesting.js";
import { operationRefusal } from "../graphql/operation-guard.js";
import type { ServerSettings } from "../graphql/context.js";
import type { WebSocketLimits, WebSocketSessions } from "../http/websocket-sessions.js";
import { subscribeWithColumnFastPath } from "../live/column-fast-path.js";
import { bindSocket, watchLiveSockets } from "../live/live-sockets.js";
import type { Principal } from "../services/tokens.js";
import { CheckedDocuments } from "./checked-documents.js";
import type { RequestContexts, ServerEndpoint } from "./request-context.js";

type ConnectionContext = { connectionParams?: Readonly<Record<string, unknown>>; extra: { socket: WebSocket; request: { headers: { authorization?: string } } } };

function authorizationOf(ctx: ConnectionContext): unknown {
  const params = ctx.connectionParams ?? {};
  return params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
}

export function attachWebSocket(options: {
  httpServer: Server;
  schema: GraphQLSchema;
  limits: QueryLimits;
  webSocketLimits: WebSocketLimits;
  maxBodyBytes: number;
  settings: ServerSettings;
  sessions: WebSocketSessions;
  contexts: RequestContexts;
  endpoint: ServerEndpoint;
  log: (line: string) => void;
}): { dispose(): void | Promise<void> } {
  const { schema, limits, settings, sessions, contexts, log } = options;
  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatClientError(error.toJSON(), error, log));
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: "/graphql",
    maxPayload: options.maxBodyBytes,
    verifyClient: (info: { req: { headers: { origin?: string } } }, done: (allowed: boolean, status?: number, message?: string) => void) =>
      options.endpoint.originPolicy!.allows(info.req.headers.origin) ? done(true) : done(false, 403, `origin ${info.req.headers.origin} is not allowed to use this server`),
  });
  watchLiveSockets(wsServer, options.webSocketLimits.maxBufferedBytes);
  const checkedDocuments = new CheckedDocuments((document) => validate(schema, document, [...specifiedRules, depthLimitRule(limits.maxDepth)]));
  // A connection's credentials are fixed when it opens: its principal is resolved once, not per
  // operation. A token revoked later closes its connections (WebSocketSessions).
  const principals = new WeakMap<WebSocket, Promise<Principal>>();
  const principalOf = (ctx: ConnectionContext): Promise<Principal> => {
    let principal = principals.get(ctx.extra.socket);
    if (!principal) principals.set(ctx.extra.socket, (principal = contexts.resolvePrincipal(authorizationOf(ctx))));
    return principal;
  };
  return useServer(
    {
      schema,
      subscribe: subscribeWithColumnFastPath,
      connectionInitWaitTimeout: options.webSocketLimits.connectionInitWaitMs,
      onConnect: async (ctx) => sessions.admit(ctx.extra.socket, await principalOf(ctx), ctx.extra.request.socket.remoteAddress),
      context: async (ctx) => {
        const context = contexts.contextFor(await principalOf(ctx));
        bindSocket(context, ctx.extra.socket);
        return context;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const tooMany = sessions.operationRefusal(Object.keys(ctx.subscriptions).length);
        if (tooMany) return [tooMany];
        const tooDeep = nestingRefusal(payload.query);
        if (tooDeep) return [tooDeep];
        const checked = checkedDocuments.get(payload.query);
        if (!checked) return; // graphql-ws reports the syntax error itself
        if (checked.errors.length > 0) return [...checked.errors];
        const { document } = checked;
        const refused = operationRefusal(schema, limits, { document, operationName: payload.operationName, variables: payload.variables ?? undefined }, { principal: await principalOf(ctx), settings });
        if (refused) return [refused.error];
        // Checked here: graphql-ws would otherwise parse and validate it again.
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
      // Internal errors close a socket with a generic reason, never the error's text.
      isProd: true,
    },
    wsServer,
  );
}
