/**
 * The tracking server with its coordinator, over a transport: GraphQL mutations schedule and stop
 * work, results and metrics flow back in. Over NATS the live feed is NATS-backed (replicas share
 * subscribers) and downloads read the NATS object store; embedded, both stay in this process and
 * artifacts are files under SWAMP_HOME.
 */
import { join } from "node:path";
import type { NatsTransport, Transport } from "../transport/transport.js";
import { FilesystemArtifactStore } from "./artifacts/filesystem-artifact-store.js";
import { Coordinator, type CoordinatorOptions } from "./coordinator/coordinator.js";
import { TransportArtifactContentStore } from "./coordinator/transport-artifact-content-store.js";
import type { ServerHooks } from "./graphql/context.js";
import { InProcessPubSub } from "./pubsub/in-process-pubsub.js";
import { NatsPubSub } from "./pubsub/nats-pubsub.js";
import type { SwampPubSub } from "./pubsub/pubsub.js";
import { defaultSwampHome, startServer, type RunningServer, type StartServerOptions } from "./start-server.js";

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
  const pubsub: SwampPubSub =
    transport.mode === "nats"
      ? new NatsPubSub((transport as NatsTransport).connection, { namespace: (transport as NatsTransport).names.namespace, log })
      : new InProcessPubSub();
  // The GraphQL layer calls these; they reach the coordinator once it exists.
  let coordinator: Coordinator | undefined;
  const hooks: ServerHooks = {
    experimentCreated: (id) => coordinator?.hooks.experimentCreated?.(id),
    experimentRetried: (id) => coordinator?.hooks.experimentRetried?.(id),
    experimentCancelled: (id) => coordinator?.hooks.experimentCancelled?.(id),
    experimentDeleted: (id) => coordinator?.hooks.experimentDeleted?.(id),
  };
  const artifactStore =
    transport.mode === "nats"
      ? new TransportArtifactContentStore(transport.artifacts)
      : new FilesystemArtifactStore(join(serverOptions.swampHome ?? defaultSwampHome(), "artifacts"));
  let server: RunningServer;
  try {
    const readinessChecks =
      transport.mode === "nats"
        ? {
            ...serverOptions.readinessChecks,
            // A round trip to the NATS server (fails at once while disconnected).
            nats: async () => void (await (transport as NatsTransport).connection.rtt()),
          }
        : serverOptions.readinessChecks;
    server = await startServer({ ...serverOptions, pubsub, hooks, artifactStore, readinessChecks });
  } catch (error) {
    await pubsub.close();
    throw error;
  }
  coordinator = new Coordinator({ log, ...coordinatorOptions, services: server.services, transport });
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
