/** Debian's Chromium driven by puppeteer-core (which downloads no browser), headless. */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const VIEWPORT = { width: 1280, height: 800 };

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
    defaultViewport: VIEWPORT,
  });
}

/** Collects the page's console errors and uncaught exceptions, which a test asserts are none. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !/status of 40[13]/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Saves a PNG of what the page shows now under `dir`; returns its path. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path: path as `${string}.png` });
  return path;
}

/** Sets a text field's value as typing would (one input event), for long texts. */
export async function fillField(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (element, text) => {
      // In the page: the DOM's types are not part of this (Node) compilation.
      const field = element as unknown as { value: string; dispatchEvent(event: unknown): void };
      field.value = text;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    },
    value,
  );
}
