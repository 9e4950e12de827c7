/**
 * Who is asking and what a GraphQL operation sees, built the same way for HTTP requests and
 * WebSocket operations.
 */
import type { DataSource } from "typeorm";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { SwampPubSub } from "../../transport/live-feed/pubsub.js";
import { createLoaders, type GraphQLContext, type ServerHooks, type ServerSettings } from "../graphql/context.js";
import type { OriginPolicy } from "../http/origin-policy.js";
import type { WebSocketSessions } from "../http/websocket-sessions.js";
import { authenticate, parseAuthorizationHeader, type Principal } from "../services/tokens.js";
import type { ServiceDeps } from "../services/transaction.js";

/** Where clients reach the server: known only once it listens (port 0 picks one); no request is served before. */
export interface ServerEndpoint {
  publicUrl: string;
  originPolicy: OriginPolicy | null;
}

export interface RequestContexts {
  resolvePrincipal(authorization: unknown): Promise<Principal>;
  contextFor(principal: Principal): GraphQLContext;
}

export function requestContexts(deps: {
  dataSource: DataSource;
  services: ServiceDeps;
  pubsub: SwampPubSub;
  settings: ServerSettings;
  hooks: ServerHooks;
  artifactStore: ArtifactStore;
  adminToken: string | null;
  sessions: WebSocketSessions;
  endpoint: ServerEndpoint;
}): RequestContexts {
  const { dataSource, sessions } = deps;
  return {
    contextFor: (principal) => ({
      services: deps.services,
      dataSource,
      pubsub: deps.pubsub,
      principal,
      settings: deps.settings,
      hooks: deps.hooks,
      artifactStore: deps.artifactStore,
      publicUrl: deps.endpoint.publicUrl,
      tokenRevoked: (tokenId) => sessions.tokenRevoked(tokenId),
      loaders: createLoaders(dataSource, deps.settings),
    }),
    resolvePrincipal: async (authorization) => {
      const header = parseAuthorizationHeader(typeof authorization === "string" ? authorization : undefined);
      if ("error" in header) return { kind: "rejected", reason: header.error };
      return authenticate(dataSource.manager, header.secret, deps.adminToken);
    },
  };
}
