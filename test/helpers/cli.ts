/** Runs the compiled `swamp` command as a user would, collecting its output. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SWAMP_BIN = resolve(__dirname, "../../../bin/swamp.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `detached`: the child leads a process group of its own, as a command started from a terminal does. */
export function startSwamp(args: string[], env: NodeJS.ProcessEnv = {}, options: { detached?: boolean } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [SWAMP_BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const done = new Promise<CliResult>((resolveDone) => child.on("close", (code, signal) => resolveDone({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runSwamp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startSwamp(args, env).done;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `swamp-${prefix}-`));
}

/** Writes a config file into a fresh temporary directory and returns its path. */
export function writeConfig(config: unknown, dir = tempDir("config")): string {
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Record<string, unknown>);
}
