/**
 * The client side of `npm run bench:subscribers`, run as a child process: opens N graphql-ws
 * clients (one socket each) on one experiment's live metrics, reports to the parent (IPC) when
 * each history is complete, the live latency of points recorded while told to measure, and, when
 * told to once every client left, how long one new subscriber waits for its history.
 */
import { performance } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { unpackFloats, unpackIntegers } from "../schema/packed-columns.js";

export interface ClientsStart {
  wsUrl: string;
  token: string;
  experimentId: string;
  clients: number;
  shape: "packed" | "columns" | "points";
  /** Points stored when the clients subscribe: the points shape's history is complete once this many arrived. */
  historyPoints: number;
  timeoutMs: number;
}

export type ParentMessage = { type: "start"; start: ClientsStart } | { type: "measure" } | { type: "leave" } | { type: "single" };
export type ChildMessage =
  | { type: "histories"; millis: number[]; incomplete: number; errors: string[]; cpuMillis: number }
  | { type: "latencies"; millis: number[] }
  | { type: "left" }
  | { type: "new-subscriber"; millis: number | null };

const QUERIES = {
  packed: `subscription($id: ID!) { metricColumns(experimentId: $id) { history historyComplete series { particle key packedGlobalSteps packedValues packedTimes } } }`,
  columns: `subscription($id: ID!) { metricColumns(experimentId: $id) { history historyComplete series { particle key globalSteps values times } } }`,
  points: `subscription($id: ID!) { metrics(experimentId: $id) { history points { particle key globalStep value time } } }`,
};

interface Listener {
  client: Client;
  historyDone: Promise<number | null>;
}

let measuring = false;
const latencies: number[] = [];

function listen(start: ClientsStart, t0: number): Listener {
  const client = createClient({ url: start.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${start.token}` }, retryAttempts: 0, lazy: true });
  let historyPoints = 0;
  let finished = false;
  const historyDone = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), start.timeoutMs);
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve(performance.now() - t0);
    };
    client.subscribe<Record<string, any>>(
      { query: QUERIES[start.shape], variables: { id: start.experimentId } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(JSON.stringify(errors)));
          const now = Date.now();
          if (start.shape !== "points") {
            const batch = data!.metricColumns;
            // Decoded like the dashboard does, so the clients' work is counted.
            const series = start.shape === "packed" ? batch.series.map(unpackedSeries) : batch.series;
            if (batch.historyComplete) done();
            if (!batch.history && measuring) for (const one of series) for (const time of one.times as number[]) latencies.push(now - time);
          } else {
            const batch = data!.metrics;
            if (batch.history) {
              historyPoints += batch.points.length;
              if (historyPoints >= start.historyPoints) done();
            } else if (measuring) for (const point of batch.points) latencies.push(now - Date.parse(point.time));
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(String((error as { reason?: string }).reason ?? JSON.stringify(error)))),
        complete: () => undefined,
      },
    );
  });
  return { client, historyDone };
}

function unpackedSeries(series: { particle: number; key: string; packedGlobalSteps: string; packedValues: string; packedTimes: string }) {
  return { particle: series.particle, key: series.key, globalSteps: unpackIntegers(series.packedGlobalSteps), values: unpackFloats(series.packedValues), times: unpackIntegers(series.packedTimes) };
}

function send(message: ChildMessage): void {
  process.send!(message);
}

let listeners: Listener[] = [];
let started: ClientsStart | null = null;

process.on("message", (message: ParentMessage) => {
  if (message.type === "start") {
    started = message.start;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    listeners = Array.from({ length: started.clients }, () => listen(started!, t0));
    void Promise.allSettled(listeners.map((listener) => listener.historyDone)).then((outcomes) => {
      const millis = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" && outcome.value !== null ? [outcome.value] : []));
      const errors = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : []));
      const cpu = process.cpuUsage(cpu0);
      send({ type: "histories", millis, incomplete: outcomes.length - millis.length, errors: [...new Set(errors)].slice(0, 5), cpuMillis: (cpu.user + cpu.system) / 1000 });
    });
  } else if (message.type === "measure") {
    latencies.length = 0;
    measuring = true;
    setTimeout(() => {
      measuring = false;
      send({ type: "latencies", millis: [...latencies] });
    }, 10_000);
  } else if (message.type === "leave") {
    void (async () => {
      await Promise.all(listeners.map((listener) => listener.client.dispose()));
      listeners = [];
      send({ type: "left" });
    })();
  } else if (message.type === "single") {
    void (async () => {
      const single = listen({ ...started!, clients: 1 }, performance.now());
      const millis = await single.historyDone.catch(() => null);
      await single.client.dispose();
      send({ type: "new-subscriber", millis });
    })();
  }
});
