/**
 * Dashboard benchmarks in a real browser: `npm run bench:web` (`node dist/bench/web.js [--json]`).
 *   paint      first meaningful paint of the experiments view (navigation start → the first page
 *              of rows in the DOM) with 1,000 experiments × 20 cycles × 4 particles stored (median
 *              and worst of 7 cold loads)
 *   frontier   the frontier of 200 experiments: from its data's arrival to chart and data table drawn
 *              (median and worst of 5), navigation → drawn, and the GraphQL request alone
 *   latency    a metric batch (4 particles' training loss) appended through the service the
 *              coordinator records workers' batches with → drawn by the experiment view's loss chart
 *              (p50/p99 of 100 batches, browser in the loop: wall clocks of one machine), and the
 *              animation frames while the batches stream at 20 per second (p99 frame interval,
 *              frames that missed a vsync)
 * Against a scratch database on SWAMP_BENCH_DATABASE_URL's cluster (default the local PostgreSQL),
 * dropped at the end. Targets (issue 15): paint < 1 s; frontier of 200 < 300 ms; latency p99
 * < 250 ms; frames < 16 ms while 4 particles stream.
 * With SWAMP_WEB_SCREENSHOTS=DIR it also saves the seeded table and grouped frontier there.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Page } from "puppeteer-core";
import { createScratchDatabase, type ScratchDatabase } from "../server/db/scratch-database.js";
import { createExperiment } from "../server/services/experiments.js";
import { appendMetrics } from "../server/services/metrics.js";
import { inTransaction } from "../server/services/transaction.js";
import { startServer, type RunningServer } from "../server/start-server.js";
import { launchBrowser, screenshot } from "../test/web/support/browser.js";
import { seedExperiments } from "./seed-experiments.js";

const { values: args } = parseArgs({ options: { json: { type: "boolean", default: false } } });
const EXPERIMENTS = 1000;

function emit(record: Record<string, unknown>, line: string): void {
  process.stdout.write(args.json ? `${JSON.stringify(record)}\n` : `${line}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Installed in every page: notes, in the page's own clock (ms since navigation start), when each
 * selector first matched, so the figures hold no round trip to the benchmark process.
 */
const MARKER = `(() => {
  const marks = (window.__marks = {});
  const watched = { rows: "tr[data-experiment-id]", chart: "[data-testid=frontier-chart] canvas", table: "[data-testid=frontier-data] tbody tr" };
  new MutationObserver(() => {
    for (const [name, selector] of Object.entries(watched)) if (!(name in marks) && document.querySelector(selector)) marks[name] = performance.now();
  }).observe(document, { subtree: true, childList: true });
})();`;

/** Loads `url` afresh and returns the page's marks once every one of `names` is set. */
async function loadMarks(page: Page, url: string, names: string[]): Promise<Record<string, number>> {
  await page.goto("about:blank");
  await page.goto(url, { waitUntil: "domcontentloaded" });
  const condition = `${names.map((name) => `window.__marks && "${name}" in window.__marks`).join(" && ")}`;
  await page.waitForFunction(condition, { timeout: 30_000 });
  return (await page.evaluate("window.__marks")) as Record<string, number>;
}

async function loadTime(page: Page, url: string, names: string[]): Promise<number> {
  const marks = await loadMarks(page, url, names);
  return Math.max(...names.map((name) => marks[name]!));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** In the experiment page: the wall-clock time of every change of the loss chart's point count, and frame intervals. */
const LATENCY_PROBE = `(() => {
  const chart = document.querySelector("[data-testid=loss-chart]");
  window.__drawn = [];
  new MutationObserver(() => window.__drawn.push({ points: Number(chart.dataset.points), at: performance.timeOrigin + performance.now() }))
    .observe(chart, { attributes: true, attributeFilter: ["data-points"] });
  window.__frames = [];
  let last = performance.now();
  const frame = (now) => { window.__frames.push(now - last); last = now; if (window.__frames.length < 100000) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})();`;

async function benchLatency(server: RunningServer, page: Page): Promise<void> {
  const particles = 4;
  const config = { name: "bench-live", data: { name: "synthetic", trainSubset: 100_000 }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles }, pruning: { cycles: 1 } };
  const experiment = await inTransaction(server.services, (tx) => createExperiment(tx, { config }));
  await page.goto("about:blank");
  await page.goto(`${server.baseUrl}/#/experiments/${experiment.id}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("[data-testid=loss-chart] canvas", { timeout: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // the metrics subscription's (empty) history
  await page.evaluate(LATENCY_PROBE);
  const sent: number[] = [];
  const batches = 100;
  for (let i = 0; i < batches; i++) {
    const at = Date.now();
    sent.push(at);
    const points = Array.from({ length: particles }, (_, particle) => ({ cycle: 0, particle, key: "train/loss", step: (i + 1) * 20, epoch: i / 100, value: 2 / (i + 2) + particle * 0.01, time: at }));
    await inTransaction(server.services, (tx) => appendMetrics(tx, experiment.id, points));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - at))));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const drawn = (await page.evaluate("window.__drawn")) as Array<{ points: number; at: number }>;
  const frames = ((await page.evaluate("window.__frames")) as number[]).slice(1);
  // The chart counts steps (its x values; the particles share them): batch i adds step i + 1.
  const latencies = sent.map((at, i) => (drawn.find((d) => d.points >= i + 1)?.at ?? Number.NaN) - at);
  const missing = latencies.filter((l) => Number.isNaN(l)).length;
  const measured = latencies.filter((l) => !Number.isNaN(l));
  emit(
    { bench: "latency", batches, missing, p50Ms: percentile(measured, 50), p99Ms: percentile(measured, 99), frameP99Ms: percentile(frames, 99), framesDropped: frames.filter((f) => f > 25).length, frames: frames.length },
    `latency     metric batch appended → drawn: p50 ${percentile(measured, 50).toFixed(0)} ms, p99 ${percentile(measured, 99).toFixed(0)} ms over ${measured.length} batches${missing ? ` (${missing} never drawn)` : ""} (target p99 < 250 ms); frames while streaming: p99 ${percentile(frames, 99).toFixed(1)} ms, ${frames.filter((f) => f > 25).length} of ${frames.length} longer than 25 ms (a missed vsync)`,
  );
}

async function main(): Promise<void> {
  const adminUrl = process.env.SWAMP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  let database: ScratchDatabase | null = null;
  let server: RunningServer | null = null;
  const browser = await launchBrowser();
  try {
    database = await createScratchDatabase(adminUrl, "bench_web");
    server = await startServer({ databaseUrl: database.url, port: 0, swampHome: "/tmp/swamp-bench-web-home", log: () => undefined });
    const token = server.firstAdminToken!;
    const seconds = await seedExperiments(server, { experiments: EXPERIMENTS, cycles: 20, particles: 4 });
    emit({ bench: "seed", experiments: EXPERIMENTS, seconds }, `seed        ${EXPERIMENTS} experiments × 20 cycles × 4 particles in ${seconds.toFixed(1)} s`);

    const page = await browser.newPage();
    await page.evaluateOnNewDocument(MARKER);
    await page.evaluateOnNewDocument((secret: string) => (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem("swamp.token", secret), token);
    const base = server.baseUrl;
    await loadTime(page, `${base}/#/experiments`, ["rows"]); // warm the server's caches once
    const paints: number[] = [];
    for (let i = 0; i < 7; i++) paints.push(await loadTime(page, `${base}/#/experiments`, ["rows"]));
    emit({ bench: "paint", experiments: EXPERIMENTS, medianMs: median(paints), worstMs: Math.max(...paints) }, `paint       experiments view, ${EXPERIMENTS} stored: median ${median(paints).toFixed(0)} ms, worst ${Math.max(...paints).toFixed(0)} ms (target < 1000 ms)`);
    if (process.env.SWAMP_WEB_SCREENSHOTS) await screenshot(page, process.env.SWAMP_WEB_SCREENSHOTS, "experiments-many");

    const ids: string[] = (await server.dataSource.query(`SELECT id FROM experiments ORDER BY created_at DESC LIMIT 200`)).map((row: { id: string }) => row.id);
    const frontierUrl = `${base}/#/frontier?ids=${ids.join(",")}`;
    await loadTime(page, frontierUrl, ["chart", "table"]);
    const renders: number[] = [];
    const drawing: number[] = [];
    for (let i = 0; i < 5; i++) {
      const done = await loadTime(page, frontierUrl, ["chart", "table"]);
      // When the frontier's data had arrived: the last GraphQL response before the chart was drawn.
      const arrived = (await page.evaluate(
        `Math.max(...performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/graphql") && e.responseEnd <= ${done}).map((e) => e.responseEnd))`,
      )) as number;
      renders.push(done);
      drawing.push(done - arrived);
    }
    const requestTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: `query($ids: [ID!]!) { frontier(experimentIds: $ids, limit: 2000) { experimentId name plot } }`, variables: { ids } }),
      });
      await response.json();
      requestTimes.push(performance.now() - start);
    }
    emit(
      { bench: "frontier", experiments: ids.length, medianMs: median(renders), worstMs: Math.max(...renders), drawMedianMs: median(drawing), drawWorstMs: Math.max(...drawing), requestMedianMs: median(requestTimes) },
      `frontier    200 experiments: data arrived → chart and table drawn median ${median(drawing).toFixed(0)} ms, worst ${Math.max(...drawing).toFixed(0)} ms (target < 300 ms); navigation → drawn median ${median(renders).toFixed(0)} ms; the GraphQL request alone ${median(requestTimes).toFixed(0)} ms`,
    );
    await benchLatency(server, page);
    if (process.env.SWAMP_WEB_SCREENSHOTS) {
      await page.goto("about:blank");
      await page.goto(`${base}/#/frontier?group=method.name&best=1`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=frontier-chart] canvas");
      await screenshot(page, process.env.SWAMP_WEB_SCREENSHOTS, "frontier-groups");
    }
  } finally {
    await browser.close();
    await server?.close();
    await database?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
