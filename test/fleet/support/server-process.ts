/** `swamp server` as a child process, as a user runs it: its printed lines, its URL, GraphQL calls and signals. */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { startSwamp, type CliResult } from "../../helpers/cli.js";
import { waitFor } from "../../transport/support/waiting.js";

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly done: Promise<CliResult>;
  url: string;
  output: () => string;
  gql<T>(query: string, variables: Record<string, unknown>, token: string): Promise<{ data?: T; errors?: unknown }>;
}

/**
 * Starts `swamp server` on a free port and waits for its start-up lines. `detached`: it leads its own
 * process group, as in a terminal, so `process.kill(-child.pid, signal)` is a Ctrl-C.
 */
export async function startServerProcess(env: NodeJS.ProcessEnv, cleanups: Array<() => void | Promise<void>>, options: { detached?: boolean } = {}): Promise<ServerProcess> {
  const { child, done } = startSwamp(["server"], { PORT: "0", ...env }, options);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  cleanups.push(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (options.detached) process.kill(-child.pid!, "SIGKILL");
    else child.kill("SIGKILL");
  });
  await waitFor("swamp server to print its start-up lines", () => /^tasks: /m.test(output) || child.exitCode !== null, 60_000);
  const url = /listening on (http:\/\/\S+\/graphql)/.exec(output)?.[1];
  assert.ok(url, `swamp server printed no URL:\n${output}`);
  return {
    child,
    done,
    url,
    output: () => output,
    async gql(query, variables, token) {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as { data?: any; errors?: unknown };
    },
  };
}
