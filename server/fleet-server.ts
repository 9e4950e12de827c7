/**
 * The tracking server with its coordinator, over a transport: GraphQL mutations schedule and stop
 * work, results and metrics flow back in. Over NATS the live feed is NATS-backed (replicas share
 * subscribers) and downloads read the NATS object store; embedded, both stay in this process and
 * artifacts are files under SWAMP_HOME.
 */
import type { Transport } from "../transport/transport.js";
import { Coordinator, type CoordinatorOptions } from "./coordinator/coordinator.js";
import type { ServerHooks } from "./graphql/context.js";
import type { SwampPubSub } from "../transport/live-feed/pubsub.js";
import { DEFAULT_WORKER_HEARTBEAT_TIMEOUT_MS, startServer, type RunningServer, type StartServerOptions } from "./start-server.js";
import { DEFAULT_ROUTE_WAIT_WARNING_MS } from "./services/route-waits.js";

export interface FleetServerOptions extends Omit<StartServerOptions, "pubsub" | "hooks" | "artifactStore"> {
  /** Owned by the caller (who may share it with in-process workers) and closed by the caller, after `close()`. */
  transport: Transport;
  coordinator?: Omit<CoordinatorOptions, "services" | "transport">;
}

export interface RunningFleetServer {
  server: RunningServer;
  coordinator: Coordinator;
  pubsub: SwampPubSub;
  /** Stops the coordinator (waiting for the result being recorded), then the server and the live feed. */
  close(): Promise<void>;
}

export async function startFleetServer(options: FleetServerOptions): Promise<RunningFleetServer> {
  const { transport, coordinator: coordinatorOptions, ...serverOptions } = options;
  const log = serverOptions.log ?? ((line: string) => console.log(line));
  const pubsub = transport.openLiveFeed({ log });
  // The GraphQL layer calls these; they reach the coordinator once it exists.
  let coordinator: Coordinator | undefined;
  const hooks: ServerHooks = {
    experimentCreated: (id) => coordinator?.hooks.experimentCreated?.(id),
    experimentRetried: (id) => coordinator?.hooks.experimentRetried?.(id),
    experimentCancelled: (id) => coordinator?.hooks.experimentCancelled?.(id),
    experimentDeleted: (id) => coordinator?.hooks.experimentDeleted?.(id),
    analysisCreated: (id) => coordinator?.hooks.analysisCreated?.(id),
  };
  const artifactStore = transport.artifacts;
  let server: RunningServer;
  try {
    const check = transport.readinessCheck;
    const readinessChecks = check ? { ...serverOptions.readinessChecks, [check.name]: check.probe } : serverOptions.readinessChecks;
    server = await startServer({ ...serverOptions, pubsub, hooks, artifactStore, readinessChecks });
  } catch (error) {
    await pubsub.close();
    throw error;
  }
  const routeWatch = {
    heartbeatTimeoutMs: serverOptions.workerHeartbeatTimeoutMs ?? DEFAULT_WORKER_HEARTBEAT_TIMEOUT_MS,
    warningMs: serverOptions.routeWaitWarningMs ?? DEFAULT_ROUTE_WAIT_WARNING_MS,
  };
  coordinator = new Coordinator({ log, routeWatch, ...coordinatorOptions, services: server.services, transport });
  try {
    await coordinator.start();
  } catch (error) {
    await coordinator.stop().catch(() => undefined);
    await server.close();
    await pubsub.close();
    throw error;
  }
  const running = coordinator;
  let closing: Promise<void> | null = null;
  return {
    server,
    coordinator: running,
    pubsub,
    close: () =>
      (closing ??= (async () => {
        await running.stop();
        await server.close();
        await pubsub.close();
      })()),
  };
}
