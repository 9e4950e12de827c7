/** `swamp up` as a child process, as a user runs it: its printed URL and token (read from its file when not printed), and Ctrl-C. */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { startSwamp, type CliResult } from "../../helpers/cli.js";
import { waitFor } from "../../transport/support/waiting.js";

export interface Up {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly done: Promise<CliResult>;
  url: string;
  token: string;
  output: () => string;
  /** Sends SIGINT (Ctrl-C) and waits for the exit. */
  interrupt(): Promise<CliResult>;
  gql<T>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: unknown }>;
}

/** `detached`: it leads its own process group, as in a terminal, so `process.kill(-child.pid, "SIGINT")` is a Ctrl-C. */
export async function startUp(args: string[], env: NodeJS.ProcessEnv, cleanups: Array<() => void | Promise<void>>, options: { detached?: boolean } = {}): Promise<Up> {
  const { child, done } = startSwamp(["up", ...args], { PORT: "0", NATS_URL: "", ...env }, options);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  cleanups.push(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (options.detached) process.kill(-child.pid!, "SIGKILL");
    else child.kill("SIGKILL");
  });
  await waitFor("swamp up to print its token", () => /^token: /m.test(output) || child.exitCode !== null, 60_000);
  const url = /^GraphQL:\s+(\S+)/m.exec(output)?.[1];
  // A token created by an earlier start is not printed again, only where it is saved.
  const savedIn = /^token:\s+in (\S+) \(/m.exec(output)?.[1];
  const token = savedIn ? readFileSync(savedIn, "utf8").trim() : /^token:\s+(\S+)/m.exec(output)?.[1];
  assert.ok(url && token, `swamp up printed no URL and token:\n${output}`);
  return {
    child,
    done,
    url,
    token,
    output: () => output,
    async interrupt() {
      child.kill("SIGINT");
      return done;
    },
    async gql(query, variables = {}) {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as { data?: any; errors?: unknown };
    },
  };
}

