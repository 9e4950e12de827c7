/** The Apollo server behind /graphql, with the operation guard (auth + complexity) before execution. */
import type { Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { GraphQLSchema } from "graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { formatClientError } from "../graphql/errors.js";
import { depthLimitRule, type QueryLimits } from "../graphql/limits.js";
import { operationRefusal } from "../graphql/operation-guard.js";
import type { Cleanups } from "./shutdown.js";

/** Set once the WebSocket server is attached; drained with the HTTP server. */
export interface WebSocketDrain {
  current: { dispose(): void | Promise<void> } | null;
}

function guardPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin<GraphQLContext> {
  return {
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
}

export async function startGraphQLServer(
  options: { schema: GraphQLSchema; limits: QueryLimits; httpServer: Server; webSocket: WebSocketDrain; log: (line: string) => void },
  cleanups: Cleanups,
): Promise<ApolloServer<GraphQLContext>> {
  const { schema, limits, httpServer, webSocket, log } = options;
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
      { async serverWillStart() { return { async drainServer() { await webSocket.current?.dispose(); } }; } },
      ApolloServerPluginLandingPageDisabled(),
      guardPlugin(schema, limits),
    ],
  });
  await apollo.start();
  cleanups.add(() => apollo.stop());
  return apollo;
}
