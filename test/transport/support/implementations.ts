/**
 * The two transports behind one test fixture, so each behavioural test runs against both: NATS on
 * the machine's server (127.0.0.1:4222, or NATS_URL) in a namespace of its own, and the embedded
 * transport in a temporary SWAMP_HOME. `dispose()` removes the namespace's streams and bucket.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArtifactRef } from "../../../schema/fleet-messages.js";
import { fleetNames } from "../../../schema/subjects.js";
import { createEmbeddedTransport } from "../../../transport/embedded/embedded-transport.js";
import { FilesystemArtifacts } from "../../../transport/embedded/filesystem-artifacts.js";
import { connectToNats } from "../../../transport/nats/connection.js";
import { deleteFleetResources } from "../../../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../../../transport/nats/nats-transport.js";
import type { TaskQueueSettings } from "../../../transport/task-queue.js";
import type { Transport } from "../../../transport/transport.js";
import type { NatsTransport } from "../../../transport/nats/nats-transport.js";
import { CaptureLogger } from "./capture-logger.js";

export const NATS_TEST_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";

/** Short waits keep the suite quick: a missed ack is noticed after one second. */
export const FAST_QUEUE: TaskQueueSettings = { ackWaitMs: 1_000, maxDeliveries: 3, retryDelayMs: 100 };

let namespaceCounter = 0;
export function uniqueNamespace(): string {
  return `t${process.pid.toString(36)}${Date.now().toString(36)}${(namespaceCounter++).toString(36)}`;
}

export interface Deployment {
  readonly logger: CaptureLogger;
  /**
   * A transport of this deployment: over NATS a new connection each time (another process, as far
   * as the server can tell); embedded, the one in-process transport.
   */
  connect(): Promise<Transport>;
  /** Makes the stored bytes of `ref` differ from what the reference names. */
  tamper(ref: ArtifactRef, bytes: Uint8Array): Promise<void>;
  /** Ends a transport the way a crash would: no acks, no goodbyes. */
  kill(transport: Transport): Promise<void>;
  dispose(): Promise<void>;
}

export interface Implementation {
  readonly name: "nats" | "embedded";
  deploy(settings?: Partial<TaskQueueSettings>): Promise<Deployment>;
}

const natsImplementation: Implementation = {
  name: "nats",
  async deploy(settings = {}) {
    const logger = new CaptureLogger();
    const namespace = uniqueNamespace();
    const names = fleetNames(namespace);
    const opened: NatsTransport[] = [];
    const admin = await connectToNats({ url: NATS_TEST_URL }, logger);
    return {
      logger,
      async connect() {
        const transport = await createNatsTransport({
          url: NATS_TEST_URL,
          namespace,
          taskQueue: { ...FAST_QUEUE, ...settings },
          pullExpiresMs: 1_000,
          publishGiveUpMs: 5_000,
          logger,
        });
        opened.push(transport);
        return transport;
      },
      async tamper(ref, bytes) {
        // Through the object store's own API, as an operator (or a bug) could.
        const bucket = await new Objm(admin).open(names.artifactsBucket);
        await bucket.putBlob({ name: ref.sha256 }, bytes);
      },
      async kill(transport) {
        await (transport as NatsTransport).connection.close();
      },
      async dispose() {
        for (const transport of opened) if (!transport.connection.isClosed()) await transport.connection.close();
        await deleteFleetResources(admin, await jetstreamManager(admin), names);
        await admin.close();
      },
    };
  },
};

const embeddedImplementation: Implementation = {
  name: "embedded",
  async deploy(settings = {}) {
    const logger = new CaptureLogger();
    const home = await mkdtemp(join(tmpdir(), "swamp-transport-"));
    const transport = createEmbeddedTransport({ home, taskQueue: { ...FAST_QUEUE, ...settings }, logger });
    return {
      logger,
      async connect() {
        return transport;
      },
      async tamper(ref, bytes) {
        await writeFile(new FilesystemArtifacts(join(home, "artifacts")).pathOf(ref), bytes);
      },
      async kill() {
        // One process: a crashed consumer is one whose handler never returns (see the tests).
      },
      async dispose() {
        await transport.close();
        await rm(home, { recursive: true, force: true });
      },
    };
  },
};

export const implementations: readonly Implementation[] = [natsImplementation, embeddedImplementation];
