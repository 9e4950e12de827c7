/** The in-process transport of the embedded mode (`npm start`, `swamp run`). */
import { swampHomeLayout } from "../../schema/swamp-home.js";
import { fleetNames } from "../../schema/subjects.js";
import { consoleTransportLogger } from "../logger.js";
import { DEFAULT_TASK_QUEUE_SETTINGS } from "../task-queue.js";
import type { EmbeddedTransportOptions, Transport } from "../transport.js";
import { EmbeddedControlBus, EmbeddedMetricBus } from "./embedded-buses.js";
import { EmbeddedResultStream } from "./embedded-result-stream.js";
import { EmbeddedTaskQueue } from "./embedded-task-queue.js";
import { FilesystemArtifacts } from "./filesystem-artifacts.js";
import { InProcessBus } from "../in-process-bus.js";
import { InProcessPubSub } from "../live-feed/in-process-pubsub.js";

export function createEmbeddedTransport(options: Omit<EmbeddedTransportOptions, "mode">): Transport {
  const logger = options.logger ?? consoleTransportLogger;
  const names = fleetNames();
  // One bus for the fleet messages and the live feed (their subjects differ).
  const bus = new InProcessBus<unknown>();
  const tasks = new EmbeddedTaskQueue({ ...DEFAULT_TASK_QUEUE_SETTINGS, ...options.taskQueue }, logger);
  const results = new EmbeddedResultStream(logger);
  let resolveClosed: (value: undefined) => void = () => {};
  const closed = new Promise<undefined>((resolve) => (resolveClosed = resolve));
  return {
    mode: "embedded",
    tasks,
    results,
    metrics: new EmbeddedMetricBus(bus, names, logger),
    control: new EmbeddedControlBus(bus, names, logger),
    artifacts: new FilesystemArtifacts(swampHomeLayout(options.home).artifacts),
    openLiveFeed: (feedOptions = {}) => new InProcessPubSub(feedOptions.maxBuffered, bus),
    closed: () => closed,
    async close() {
      await Promise.all([tasks.close(), results.close()]);
      bus.close();
      resolveClosed(undefined);
    },
  };
}
