/**
 * A nats-server of the test's own (Debian's /usr/sbin/nats-server, JetStream on, file storage in a
 * temporary directory) on a free 127.0.0.1 port, for what the shared server cannot show: refused
 * credentials, and a restart under running clients.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./waiting.js";

export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN || "/usr/sbin/nats-server";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export class NatsServerProcess {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly authArgs: string[],
  ) {}

  /** `authArgs`, e.g. `["--user", "u", "--pass", "p"]` or `["--auth", "token"]`. */
  static async start(authArgs: string[] = []): Promise<NatsServerProcess> {
    const server = new NatsServerProcess(await freePort(), await mkdtemp(join(tmpdir(), "swamp-nats-")), authArgs);
    await server.launch();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir, ...this.authArgs];
    const child = spawn(NATS_SERVER_BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    this.child = child;
    for (const deadline = Date.now() + 10_000; !(await accepts(this.port)); ) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${NATS_SERVER_BINARY} did not start on port ${this.port}: ${stderr.slice(-500)}`);
      }
      await sleep(25);
    }
  }

  /** Stops the process (as a crash or an operator would) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts it again on the same port with the same stored streams. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.kill();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}
