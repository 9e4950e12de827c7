/**
 * Live metrics at lab scale: `npm run bench:subscribers` (`node dist/bench/subscribers.js
 * [--clients 200,1000] [--history 10000] [--shape packed|columns|points] [--processes 2] [--json]`).
 *
 * One tracking server (this process, over a scratch database on SWAMP_BENCH_DATABASE_URL's cluster)
 * and one SWAMP experiment (LeNet-300-100, Fashion-MNIST config, 4 particles) whose metric batches
 * are appended through the coordinator's service, appendMetrics, as a worker's results would be:
 * a history of --history points (train/loss of the 4 particles), then 4 points every 100 ms
 * (40 points/s) for the whole run. N graphql-ws clients (real sockets, in --processes child processes) subscribe
 * at once to the experiment's live metrics: `metricColumns` with packed columns (--shape packed,
 * the default, as the dashboard selects them) or lists (--shape columns), or the per-point `metrics`
 * (--shape points). Reported per N: time to history complete (p50/p99/max,
 * from the common start), live latency append → client (p50/p99) over 10 s while all N listen, the
 * server's CPU (its process: % of one core) and RSS before, at the peak and after they leave, and
 * the time one new subscriber waits for its history right after the N left. Targets (2 cores):
 * N = 1,000 with 10,000 points: histories < 5 s, live p99 < 250 ms, RSS growth < 300 MB, new
 * subscriber < 0.5 s; N = 200: histories < 1 s.
 */
import { fork } from "node:child_process";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { MetricPoint } from "../schema/metrics.js";
import { createScratchDatabase, type ScratchDatabase } from "../server/db/scratch-database.js";
import { createExperiment } from "../server/services/experiments.js";
import { appendMetrics } from "../server/services/metrics.js";
import { inTransaction } from "../server/services/transaction.js";
import { startServer, type RunningServer } from "../server/start-server.js";
import type { ChildMessage, ClientsStart, ParentMessage } from "./subscriber-clients.js";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "200,1000" },
    history: { type: "string", default: "10000" },
    shape: { type: "string", default: "packed" },
    timeout: { type: "string", default: "60000" },
    processes: { type: "string", default: "2" },
    json: { type: "boolean", default: false },
  },
});
const PARTICLES = 4;
const LIVE_INTERVAL_MS = 100;
const SHAPES = ["packed", "columns", "points"] as const;
const shape = shapeOf(args.shape);

function shapeOf(name: string | undefined): (typeof SHAPES)[number] {
  const known = SHAPES.find((one) => one === name);
  if (!known) throw new Error(`--shape must be one of ${SHAPES.join(", ")}, not ${name}`);
  return known;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : "n/a");

class LiveWriter {
  private step = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing = false;

  constructor(
    private readonly server: RunningServer,
    private readonly experimentId: string,
  ) {}

  get stored(): number {
    return this.step * PARTICLES;
  }

  async history(points: number): Promise<void> {
    const perParticle = Math.ceil(points / PARTICLES);
    for (let from = 0; from < perParticle; from += 2_500) await this.append(Math.min(2_500, perParticle - from), Date.now() - 3_600_000);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.writing) return;
      this.writing = true;
      this.append(1, Date.now())
        .catch((error: unknown) => process.stderr.write(`live append failed (the next one retries): ${String(error)}\n`))
        .finally(() => (this.writing = false));
    }, LIVE_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async append(steps: number, time: number): Promise<void> {
    const points: MetricPoint[] = [];
    for (let n = 0; n < steps; n++, this.step++) {
      for (let particle = 0; particle < PARTICLES; particle++) {
        points.push({ cycle: 0, particle, key: "train/loss", step: this.step, epoch: this.step / 938, value: 2 / (1 + this.step / 500) + particle * 0.01, time });
      }
    }
    await inTransaction(this.server.services, (tx) => appendMetrics(tx, this.experimentId, points));
  }
}

async function runClients(server: RunningServer, token: string, experimentId: string, clients: number, writer: LiveWriter): Promise<Record<string, number | string>> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
  // The clients' JSON parsing is work of its own: spread over a few processes so they do not hide the server's figures.
  const children = Array.from({ length: Math.min(clients, Number(args.processes)) }, () => {
    const child = fork(resolve(__dirname, "subscriber-clients.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const inbox: ChildMessage[] = [];
    let wake: (() => void) | null = null;
    child.on("message", (message: ChildMessage) => {
      inbox.push(message);
      wake?.();
    });
    const receive = async <T extends ChildMessage["type"]>(type: T): Promise<Extract<ChildMessage, { type: T }>> => {
      for (;;) {
        const index = inbox.findIndex((message) => message.type === type);
        if (index >= 0) return inbox.splice(index, 1)[0] as Extract<ChildMessage, { type: T }>;
        await new Promise<void>((resolveWake) => (wake = resolveWake));
      }
    };
    return { child, receive };
  });
  const all = <T extends ChildMessage["type"]>(message: ParentMessage, reply: T) =>
    Promise.all(
      children.map(({ child, receive }) => {
        child.send(message);
        return receive(reply);
      }),
    );
  const start: ClientsStart = { wsUrl: server.wsUrl, token, experimentId, clients, shape, historyPoints: writer.stored, timeoutMs: Number(args.timeout) };
  const perChild = (index: number) => Math.floor(clients / children.length) + (index < clients % children.length ? 1 : 0);
  const historyReplies = Promise.all(
    children.map(({ child, receive }, index) => {
      child.send({ type: "start", start: { ...start, clients: perChild(index) } } satisfies ParentMessage);
      return receive("histories");
    }),
  );
  const replies = await historyReplies;
  const histories = { millis: replies.flatMap((reply) => reply.millis), incomplete: replies.reduce((sum, reply) => sum + reply.incomplete, 0), errors: [...new Set(replies.flatMap((reply) => reply.errors))], cpuMillis: replies.reduce((sum, reply) => sum + reply.cpuMillis, 0) };
  const historyCpu = process.cpuUsage(cpu0);
  const historyWall = performance.now() - wall0;
  const cpu1 = process.cpuUsage();
  const wall1 = performance.now();
  const live = { millis: (await all({ type: "measure" }, "latencies")).flatMap((reply) => reply.millis) };
  const liveCpu = process.cpuUsage(cpu1);
  const liveWall = performance.now() - wall1;
  await all({ type: "leave" }, "left");
  children[0]!.child.send({ type: "single" } satisfies ParentMessage);
  const fresh = await children[0]!.receive("new-subscriber");
  for (const { child } of children) child.kill();
  clearInterval(sampler);
  await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
  const rssAfter = process.memoryUsage().rss;
  const cpuPercent = (usage: NodeJS.CpuUsage, wallMs: number) => Math.round(((usage.user + usage.system) / 1000 / wallMs) * 100);
  return {
    clients,
    shape,
    historyPoints: start.historyPoints,
    historiesComplete: histories.millis.length,
    historiesIncomplete: histories.incomplete,
    errors: histories.errors.join(" | "),
    historyP50Ms: Math.round(percentile(histories.millis, 50)),
    historyP99Ms: Math.round(percentile(histories.millis, 99)),
    historyMaxMs: histories.millis.length > 0 ? Math.round(Math.max(...histories.millis)) : NaN,
    livePoints: live.millis.length,
    liveP50Ms: Math.round(percentile(live.millis, 50)),
    liveP99Ms: Math.round(percentile(live.millis, 99)),
    serverCpuHistoryPct: cpuPercent(historyCpu, historyWall),
    serverCpuLivePct: cpuPercent(liveCpu, liveWall),
    clientsCpuHistoryPct: Math.round((histories.cpuMillis / historyWall) * 100),
    rssBeforeMb: mb(rssBefore),
    rssPeakMb: mb(rssPeak),
    rssAfterMb: mb(rssAfter),
    newSubscriberMs: fresh.millis === null ? NaN : Math.round(fresh.millis),
  };
}

async function main(): Promise<void> {
  const adminUrl = process.env.SWAMP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  let database: ScratchDatabase | null = null;
  let server: RunningServer | null = null;
  let writer: LiveWriter | null = null;
  try {
    database = await createScratchDatabase(adminUrl, "bench_subscribers");
    server = await startServer({
      databaseUrl: database.url,
      port: 0,
      swampHome: "/tmp/swamp-bench-home",
      log: () => undefined,
      webSocketLimits: { maxConnectionsPerToken: 10_000, maxConnectionsPerAddress: 10_000 },
    });
    const token = server.firstAdminToken!;
    const counts = args.clients.split(",").map(Number);
    for (const clients of counts) {
      const experiment = await inTransaction(server.services, (tx) =>
        createExperiment(tx, { config: { name: `subscribers-${clients}`, data: { name: "fashion-mnist" }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles: PARTICLES } } }),
      );
      writer?.stop();
      writer = new LiveWriter(server, experiment.id);
      await writer.history(Number(args.history));
      writer.start();
      const load = loadavg().map((value) => value.toFixed(2)).join(" ");
      const result = await runClients(server, token, experiment.id, clients, writer);
      writer.stop();
      if (args.json) process.stdout.write(`${JSON.stringify({ ...result, loadAverage: load })}\n`);
      else {
        process.stdout.write(
          `${clients} clients (${shape}, ${result.historyPoints} points each), load average ${load}:\n` +
            `  histories complete ${result.historiesComplete}/${clients}${result.historiesIncomplete ? ` (${result.historiesIncomplete} not within ${args.timeout} ms${result.errors ? `: ${result.errors}` : ""})` : ""}: p50 ${ms(result.historyP50Ms as number)}, p99 ${ms(result.historyP99Ms as number)}, max ${ms(result.historyMaxMs as number)}\n` +
            `  live latency over 10 s (${result.livePoints} point deliveries): p50 ${ms(result.liveP50Ms as number)}, p99 ${ms(result.liveP99Ms as number)}\n` +
            `  server CPU ${result.serverCpuHistoryPct} % of a core during the histories (the client processes ${result.clientsCpuHistoryPct} %), ${result.serverCpuLivePct} % while listening; RSS ${result.rssBeforeMb} MB before, ${result.rssPeakMb} MB peak, ${result.rssAfterMb} MB after\n` +
            `  one new subscriber after they left: history in ${ms(result.newSubscriberMs as number)}\n`,
        );
      }
    }
  } finally {
    writer?.stop();
    await server?.close();
    await database?.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
