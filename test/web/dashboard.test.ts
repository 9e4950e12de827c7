/**
 * The web dashboard in a real browser (Debian's Chromium through puppeteer-core) against `swamp up`
 * on real PostgreSQL with a local worker: the token prompt, the experiments table following a
 * running experiment live, the experiment view's loss chart gaining points live, the frontier of
 * two experiments read back from the page, and a bad config's field-path error shown at its field.
 *
 * On a failure, a screenshot of the page goes to the folder printed at the start. With
 * SWAMP_WEB_SCREENSHOTS=DIR the views are also saved there (docs/screenshots is made this way).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { tempDir } from "../helpers/cli.js";
import { tinyConfig } from "../fleet/support/fleet.js";
import { startUp, type Up } from "../fleet/support/up-process.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { waitFor } from "../transport/support/waiting.js";
import { fillField, launchBrowser, screenshot, watchPageErrors } from "./support/browser.js";

/** What the assertions read of page elements (the tests compile without the DOM library). */
interface Shown {
  innerText: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  style: { top: string };
}
interface BrowserDocument {
  document: { querySelector(selector: string): Shown | null };
}

const failureShots = tempDir("web-dashboard-screenshots");
const docsShots = process.env.SWAMP_WEB_SCREENSHOTS;
console.log(`# screenshots of failing steps go to ${failureShots}`);

const cleanups: Array<() => Promise<void> | void> = [];
let up: Up;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let baseUrl: string;
const ids: Record<"a" | "b" | "live", string> = { a: "", b: "", live: "" };

/** Runs a step of the walk-through; on failure saves what the page showed. */
async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const path = await screenshot(page, failureShots, name).catch(() => "(no screenshot)");
    console.log(`# ${name} failed; the page: ${path}`);
    throw error;
  }
}

async function docsShot(name: string): Promise<void> {
  if (docsShots) await screenshot(page, docsShots, name);
}

async function create(config: Record<string, unknown>): Promise<string> {
  const created = await up.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  return created.data!.createExperiment.id;
}

async function status(id: string): Promise<{ status: string; cyclesCompleted: number }> {
  const result = await up.gql<{ experiment: { status: string; cyclesCompleted: number } }>(`query($id: ID!) { experiment(id: $id) { status cyclesCompleted } }`, { id });
  return result.data!.experiment;
}

before(async () => {
  const home = tempDir("web-home");
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "web_dashboard");
  cleanups.push(() => database.drop());
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  up = await startUp(["--workers", "1", "--no-defaults"], { SWAMP_HOME: home, DATABASE_URL: database.url }, cleanups);
  cleanups.push(async () => void (await up.interrupt()));
  baseUrl = up.url.replace(/\/graphql$/, "");
  assert.match(up.output(), new RegExp(`^dashboard:\\s+${baseUrl}/`, "m"), "swamp up prints the dashboard's URL");
  ids.a = await create(tinyConfig({ name: "web-frontier-a", seed: 1, tags: ["web"] }));
  ids.b = await create(tinyConfig({ name: "web-frontier-b", seed: 2, method: { name: "imp" }, tags: ["web"] }));
  browser = await launchBrowser();
  cleanups.push(() => browser.close());
  page = await browser.newPage();
  pageErrors = watchPageErrors(page);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the web dashboard", () => {
  it("asks for a token when none is saved, then shows the experiments table", async () => {
    await step("token-prompt", async () => {
      await page.goto(`${baseUrl}/`, { waitUntil: "domcontentloaded" });
      const prompt = await page.waitForSelector("[data-testid=token-prompt]", { timeout: 10_000 });
      const text = await prompt!.evaluate((element) => (element as unknown as Shown).innerText);
      assert.match(text, /This server needs an API token/);
      assert.match(text, /No token is saved in this browser/);
      await docsShot("token");
      await page.type("[data-testid=token-prompt] input[type=password]", up.token);
      await page.click("[data-testid=token-prompt] button[type=submit]");
      await page.waitForSelector(`tr[data-experiment-id="${ids.a}"]`, { timeout: 10_000 });
      assert.equal(await page.$("[data-testid=token-prompt]"), null, "the prompt is gone once the token is accepted");
      assert.equal(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem("swamp.token")), up.token, "the token is kept in localStorage");
    });
  });

  it("follows a running experiment's cycles in the table without reloading", async () => {
    await step("table-live", async () => {
      await waitFor("the two small experiments to finish", async () => (await status(ids.a)).status === "COMPLETED" && (await status(ids.b)).status === "COMPLETED", 90_000);
      ids.live = await create(
        tinyConfig({
          name: "web-live",
          seed: 7,
          data: { name: "synthetic", trainSubset: 1024, testSubset: 128 },
          pruning: { rate: 0.2, cycles: 3 },
          training: { epochs: 2, rewindEpochs: 1, batchSize: 32, lr: 0.05, bnRecalibrationExamples: 128 },
        }),
      );
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/experiments`, { waitUntil: "domcontentloaded" });
      const cycleCell = `tr[data-experiment-id="${ids.live}"] [data-col=cycle] .progress-text`;
      await page.waitForSelector(cycleCell, { timeout: 10_000 });
      await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
      const first = await page.$eval(cycleCell, (element) => element.textContent!.trim());
      assert.match(first, /^0\/4$/, "no cycle is complete yet");
      await page.waitForFunction((selector) => /^[1-4]\/4$/.test((globalThis as unknown as BrowserDocument).document.querySelector(selector)?.textContent?.trim() ?? ""), { timeout: 60_000 }, cycleCell);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true, "the page was not reloaded");
      const statusText = await page.$eval(`tr[data-experiment-id="${ids.live}"] [data-status]`, (element) => (element as unknown as Shown).innerText);
      assert.match(statusText, /running|completed/, "status is written out, not colour alone");
      await docsShot("experiments");
    });
  });

  it("opens the experiment and its loss chart gains points live", async () => {
    await step("experiment-live", async () => {
      await page.click(`tr[data-experiment-id="${ids.live}"] td.name a`);
      await page.waitForSelector("[data-testid=loss-chart] canvas", { timeout: 10_000 });
      assert.equal(new URL(page.url()).hash, `#/experiments/${ids.live}`, "the view has its own URL");
      const points = () => page.$eval("[data-testid=loss-chart]", (element) => Number((element as unknown as Shown).dataset.points ?? 0));
      await waitFor("the loss chart's history to arrive", async () => (await points()) > 0, 20_000);
      const before = await points();
      await waitFor("the loss chart to gain points", async () => (await points()) > before, 60_000);
      const live = await status(ids.live);
      assert.notEqual(live.status, "FAILED");
      await docsShot("experiment");
      await page.goBack();
      await page.waitForSelector(`tr[data-experiment-id="${ids.live}"]`, { timeout: 10_000 });
      assert.equal(new URL(page.url()).hash, "#/experiments", "the back button returns to the table");
    });
  });

  it("plots the frontier of two experiments with the values GraphQL gives", async () => {
    await step("frontier", async () => {
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/frontier?ids=${ids.a},${ids.b}`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=frontier-data] tbody tr", { timeout: 10_000 });
      await page.waitForSelector("[data-testid=frontier-chart] canvas");
      const shown = await page.$$eval("[data-testid=frontier-data] tbody tr", (rows) =>
        rows.map((row) => {
          const data = (row as unknown as Shown).dataset;
          return { series: data.series!, cycle: Number(data.cycle), sparsity: Number(data.sparsity), accuracy: Number(data.accuracy) };
        }),
      );
      const expected = await up.gql<{ frontier: Array<{ name: string; points: Array<{ cycle: number; sparsity: number; accuracy: number }> }> }>(
        `query($ids: [ID!]!) { frontier(experimentIds: $ids) { name points { cycle sparsity accuracy } } }`,
        { ids: [ids.a, ids.b] },
      );
      const fromApi = expected.data!.frontier.flatMap((s) => s.points.map((p) => ({ series: s.name, cycle: p.cycle, sparsity: p.sparsity, accuracy: p.accuracy })));
      const order = (rows: typeof shown) => [...rows].sort((x, y) => x.series.localeCompare(y.series) || x.cycle - y.cycle);
      assert.equal(fromApi.length, 4, "two cycles each");
      assert.deepEqual(order(shown), order(fromApi));
      await docsShot("frontier");

      // Grouped by method: the same two experiments as two groups of one, from groupedFrontier.
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/frontier?ids=${ids.a},${ids.b}&group=method.name`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=frontier-data] tbody tr[data-series^='imp']", { timeout: 10_000 });
      const grouped = await page.$$eval("[data-testid=frontier-data] tbody tr", (rows) =>
        rows.map((row) => {
          const data = (row as unknown as Shown).dataset;
          return { series: data.series!, cycle: Number(data.cycle), accuracy: Number(data.accuracy) };
        }),
      );
      const groups = await up.gql<{ groupedFrontier: Array<{ key: { "method.name": string }; points: Array<{ cycle: number; accuracyMean: number }> }> }>(
        `query($ids: [ID!]!) { groupedFrontier(groupBy: ["method.name"], filter: { ids: $ids }) { key points { cycle accuracyMean } } }`,
        { ids: [ids.a, ids.b] },
      );
      const expectedGroups = groups.data!.groupedFrontier.flatMap((g) => g.points.map((p) => ({ series: `${g.key["method.name"]} (1)`, cycle: p.cycle, accuracy: p.accuracyMean })));
      assert.deepEqual(order(grouped as typeof shown), order(expectedGroups as typeof shown));

      // Against measured latency: each cycle's batch-1 latency from its inference profile, as GraphQL gives it.
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/frontier?ids=${ids.a},${ids.b}&x=latency`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=frontier-data] tbody tr[data-x]", { timeout: 10_000 });
      await page.waitForSelector("[data-testid=frontier-chart] canvas");
      assert.equal(await page.$eval("[data-testid=frontier-axis]", (select) => (select as unknown as { value: string }).value), "latency");
      const againstLatency = await page.$$eval("[data-testid=frontier-data] tbody tr", (rows) =>
        rows.map((row) => {
          const data = (row as unknown as Shown).dataset;
          return { series: data.series!, cycle: Number(data.cycle), x: Number(data.x) };
        }),
      );
      const latency = await up.gql<{ frontier: Array<{ name: string; points: Array<{ cycle: number; x: number | null }> }> }>(
        `query($ids: [ID!]!) { frontier(experimentIds: $ids, x: LATENCY) { name points { cycle x } } }`,
        { ids: [ids.a, ids.b] },
      );
      const latencies = latency.data!.frontier.flatMap((s) => s.points.map((p) => ({ series: s.name, cycle: p.cycle, x: p.x! })));
      assert.ok(latencies.every((p) => p.x > 0), "every cycle was profiled by the worker");
      const byCycle = (rows: Array<{ series: string; cycle: number }>) => [...rows].sort((x, y) => x.series.localeCompare(y.series) || x.cycle - y.cycle);
      assert.deepEqual(byCycle(againstLatency), byCycle(latencies));
      assert.match(await page.$eval("[data-testid=frontier-data] thead", (head) => (head as unknown as Shown).textContent ?? ""), /Latency/);
      await docsShot("frontier-latency");
    });
  });

  it("shows the server's field-path error at the field of a bad config", async () => {
    await step("create-bad-config", async () => {
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/experiments`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=experiments-table] tbody tr");
      const [newButton] = await page.$$("xpath/.//button[contains(., 'New experiment')]");
      await newButton!.click();
      const editor = "textarea[aria-label='Experiment config (JSON)']";
      await page.waitForSelector(editor);
      const config = JSON.stringify({ name: "web-bad", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles: 2 }, training: { epochs: 2, lr: -1 } }, null, 2);
      await fillField(page, editor, config);
      const [submit] = await page.$$("xpath/.//button[contains(., 'Create experiment')]");
      await submit!.click();
      const marker = await page.waitForSelector('[data-field-path="training.lr"]', { timeout: 10_000 });
      const text = await marker!.evaluate((element) => (element as unknown as Shown).innerText);
      assert.match(text, /^training\.lr: /);
      const lineOfLr = config.split("\n").findIndex((line) => line.includes('"lr"'));
      const top = await marker!.evaluate((element) => (element as unknown as Shown).style.top);
      assert.equal(top, `${lineOfLr * 20}px`, "the message sits on the line of training.lr");
      const gutterLines = await page.$$eval(".gutter li.gutter-problem", (elements) => elements.map((element) => element.textContent));
      assert.ok(gutterLines.includes(String(lineOfLr + 1)), `the gutter marks line ${lineOfLr + 1}: ${gutterLines.join(", ")}`);
      await docsShot("create-error");
      const created = await up.gql<{ experiments: { totalCount: number } }>(`{ experiments(filter: { nameContains: "web-bad" }) { totalCount } }`);
      assert.equal(created.data!.experiments.totalCount, 0, "nothing was created");
    });
  });

  it("lists the fleet's workers with their state as text", async () => {
    await step("workers", async () => {
      await page.goto("about:blank");
      await page.goto(`${baseUrl}/#/workers`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("[data-testid=workers-table] tbody tr", { timeout: 10_000 });
      const states = await page.$$eval("[data-testid=workers-table] tbody tr [data-status]", (cells) => cells.map((cell) => (cell as unknown as Shown).innerText.trim()));
      assert.ok(states.length >= 1);
      for (const state of states) assert.match(state, /busy|idle/);
      // The two small experiments' six particle trainings ran on this fleet within the hour.
      const perHour = await page.$$eval("[data-testid=workers-table] tbody tr td[data-col=particles-per-hour]", (cells) => cells.map((cell) => Number(cell.textContent)));
      assert.ok(perHour.reduce((sum, n) => sum + n, 0) >= 6, `particles per hour: ${perHour.join(", ")}`);
      await docsShot("workers");
      assert.deepEqual(pageErrors, [], "no script errors on any page");
    });
  });
});
