/**
 * The analyses panel in a real browser against `swamp up` (embedded transport, a local worker, real
 * PostgreSQL): analyses of every kind run by the worker on a tiny finished experiment each get
 * their chart, and the form starts one more that appears and finishes live; a bad option is shown
 * with its field. With SWAMP_WEB_SCREENSHOTS=DIR the panel is saved there as analyses.png.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { tempDir } from "../helpers/cli.js";
import { tinyConfig } from "../fleet/support/fleet.js";
import { startUp, type Up } from "../fleet/support/up-process.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { waitFor } from "../transport/support/waiting.js";
import { fillField, launchBrowser, screenshot, watchPageErrors } from "./support/browser.js";

interface Shown {
  innerText: string;
  dataset: Record<string, string | undefined>;
}

const cleanups: Array<() => Promise<void> | void> = [];
let up: Up;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let experimentId = "";
const failureShots = tempDir("web-analyses-screenshots");

async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const answer = await up.gql<T>(query, variables);
  assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
  return answer.data!;
}

before(async () => {
  const home = tempDir("web-analyses-home");
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "web_analyses");
  cleanups.push(() => database.drop());
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  up = await startUp(["--workers", "1", "--no-defaults"], { SWAMP_HOME: home, DATABASE_URL: database.url }, cleanups);
  cleanups.push(async () => void (await up.interrupt()));
  const created = await gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, {
    config: tinyConfig({ name: "web-analyses", seed: 4 }),
  });
  experimentId = created.createExperiment.id;
  await waitFor("the experiment to complete", async () => (await gql(`query($id: ID!) { experiment(id: $id) { status } }`, { id: experimentId })).experiment.status === "COMPLETED", 180_000);
  const inputs: Array<[string, Record<string, unknown>]> = [
    ["interpolate", { cycle: 1, pairs: "particles", points: 5, trainExamples: 64 }],
    ["plane", { cycle: 1, grid: 6, trainExamples: 64, testExamples: 64 }],
    ["flatness", { cycle: 1, probes: 4, powerIterations: 3, sharpnessSamples: 3, examples: 64 }],
    ["ensemble", { cycle: 1, members: "particles" }],
    ["mask-overlap", { cycles: [0, 1] }],
  ];
  const ids: string[] = [];
  for (const [kind, input] of inputs) {
    const analysis = await gql(`mutation($e: ID!, $k: String!, $i: JSONObject) { createAnalysis(experimentId: $e, kind: $k, input: $i) { id } }`, { e: experimentId, k: kind, i: input });
    ids.push(analysis.createAnalysis.id);
  }
  for (const id of ids) {
    await waitFor(`analysis ${id} to finish`, async () => ["SUCCEEDED", "FAILED"].includes((await gql(`query($id: ID!) { analysis(id: $id) { status } }`, { id })).analysis.status), 300_000);
    const { analysis } = await gql(`query($id: ID!) { analysis(id: $id) { kind status error } }`, { id });
    assert.equal(analysis.status, "SUCCEEDED", `${analysis.kind}: ${analysis.error}`);
  }
  const listed = await gql(`query($id: ID!) { experiment(id: $id) { analyses(first: 50) { id kind status } } }`, { id: experimentId });
  assert.equal(listed.experiment.analyses.length, inputs.length, JSON.stringify(listed));
  browser = await launchBrowser();
  cleanups.push(() => browser.close());
  page = await browser.newPage();
  pageErrors = watchPageErrors(page);
  await page.goto(`${up.url.replace(/\/graphql$/, "")}/`, { waitUntil: "domcontentloaded" });
  await page.evaluate((token) => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem("swamp.token", token), up.token);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test("every kind of analysis gets its chart, and the form starts one that finishes live", async () => {
  try {
    await page.setViewport({ width: 1280, height: 1800 });
    await page.goto("about:blank");
    await page.goto(`${up.url.replace(/\/graphql$/, "")}/#/experiments/${experimentId}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("[data-testid=analyses-panel] [data-testid^=plane-heatmap]", { timeout: 20_000 });
    for (const kind of ["interpolation", "flatness", "ensemble", "mask-overlap"]) {
      const chart = await page.waitForSelector(`[data-testid^=${kind}-chart] canvas`, { timeout: 10_000 });
      assert.ok(chart, `the ${kind} chart is drawn`);
    }
    const cells = await page.$eval("[data-testid^=plane-heatmap]", (element) => (element as unknown as Shown).dataset.cells);
    assert.equal(cells, "36", "a 6×6 plane");
    const points = await page.$eval("[data-testid^=interpolation-chart]", (element) => (element as unknown as Shown).dataset.points);
    assert.equal(points, "5", "five points along each segment");

    await fillField(page, "[data-testid=start-analysis] input[name=options]", '{"points": 1}');
    await page.click("[data-testid=start-analysis] button[type=submit]");
    const problem = await page.waitForSelector("[data-testid=analysis-problems]", { timeout: 10_000 });
    assert.match(await problem!.evaluate((element) => (element as unknown as Shown).innerText), /input\.points/);

    await page.select("[data-testid=start-analysis] select[name=kind]", "mask-overlap");
    await fillField(page, "[data-testid=start-analysis] input[name=options]", "");
    await page.click("[data-testid=start-analysis] button[type=submit]");
    await waitFor(
      "the new mask overlap to succeed on the page",
      async () => (await page.$$eval("[data-testid=analysis-mask-overlap]", (elements) => elements.map((e) => (e as unknown as Shown).dataset.status))).filter((s) => s === "SUCCEEDED").length === 2,
      60_000,
    );
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll("[data-testid^=mask-overlap-chart] canvas").length === 2, { timeout: 10_000 });
    const panel = await page.$("[data-testid=analyses-panel]");
    await panel!.scrollIntoView();
    if (process.env.SWAMP_WEB_SCREENSHOTS) await panel!.screenshot({ path: `${process.env.SWAMP_WEB_SCREENSHOTS}/analyses.png` });
    assert.deepEqual(pageErrors, []);
  } catch (error) {
    console.log(`# the page: ${await screenshot(page, failureShots, "analyses").catch(() => "(no screenshot)")}`);
    throw error;
  }
});
