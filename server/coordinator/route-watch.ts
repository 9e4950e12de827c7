/**
 * Logs experiments that wait on a route no live worker serves (see services/route-waits.ts) when
 * they start waiting, and again when a worker of their route appears, so an operator reading the
 * server's log learns why an experiment makes no progress. GraphQL's `Experiment.waitingFor`
 * gives the same judgement on request.
 */
import type { EntityManager } from "typeorm";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { fleetRoutes, routeWait } from "../services/route-waits.js";

export interface RouteWatchOptions {
  /** A worker silent for longer than this is not live (the server's worker heartbeat timeout). */
  heartbeatTimeoutMs: number;
  /** How long a route may go unserved before its experiments are reported. */
  warningMs: number;
  /** How often to look. Default: a quarter of warningMs, between 1 and 30 s. */
  checkEveryMs?: number;
}

export class RouteWatch {
  /** Experiments reported as waiting, with their names and the reason given. */
  private readonly waiting = new Map<string, { name: string; reason: string }>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly manager: EntityManager,
    private readonly options: RouteWatchOptions,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    const every = this.options.checkEveryMs ?? Math.min(30_000, Math.max(1_000, Math.floor(this.options.warningMs / 4)));
    this.timer = setInterval(() => {
      this.checking ??= this.check()
        .then(() => undefined)
        .catch((error: unknown) => this.log(`could not check for experiments waiting on a worker: ${(error as Error).message}`))
        .finally(() => (this.checking = undefined));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.checking;
  }

  /** Looks once; returns the experiments waiting now, with their reasons. */
  async check(now = Date.now()): Promise<Map<string, string>> {
    const experiments: Array<{ id: string; name: string; status: ExperimentStatus; config: { execution?: { backend?: never } }; backend: string | null; created_at: Date }> =
      await this.manager.query(`SELECT id, name, status, config, backend, created_at FROM experiments WHERE status IN ('queued', 'running') AND import_key IS NULL`);
    const routes = await fleetRoutes(this.manager, this.options.heartbeatTimeoutMs, now);
    const current = new Map<string, { name: string; reason: string }>();
    for (const row of experiments) {
      const reason = routeWait({ ...row, importKey: null, createdAt: row.created_at }, routes, this.options.warningMs, now);
      if (reason === null) continue;
      current.set(row.id, { name: row.name, reason });
      if (!this.waiting.has(row.id)) this.log(`experiment ${row.id} (${row.name}) is ${reason}`);
    }
    for (const [id, { name }] of this.waiting) {
      if (current.has(id)) continue;
      const active = experiments.some((row) => row.id === id);
      this.log(`experiment ${id} (${name}) no longer waits: ${active ? "a worker of its route is live" : "it is no longer queued or running"}`);
    }
    this.waiting.clear();
    for (const [id, entry] of current) this.waiting.set(id, entry);
    return new Map([...current].map(([id, entry]) => [id, entry.reason]));
  }
}
