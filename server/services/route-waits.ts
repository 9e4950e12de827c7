/**
 * Experiments whose tasks wait on a route no live worker serves: one that requires a backend
 * (config `execution.backend`), or was pinned to one by its first recorded result, while no worker
 * of that backend heartbeats, or any experiment while no worker at all does. Such an experiment
 * would wait silently; this says why, once the route has gone unserved for longer than a threshold
 * (so a worker restarting is not reported). Judged from the workers table alone, so every server
 * replica gives the same answer and it clears as soon as a worker of the route heartbeats.
 */
import type { EntityManager } from "typeorm";
import { experimentRoute, type ExecutionBackend } from "../../schema/config.js";
import type { ExperimentStatus } from "../../schema/statuses.js";

/** How long a route may go unserved before its experiments are reported as waiting. Default 60 s. */
export const DEFAULT_ROUTE_WAIT_WARNING_MS = 60_000;

/** The live workers of the fleet, by backend, and when each backend was last served. */
export interface FleetRoutes {
  /** Backends with a live (heartbeating, not stopped) worker. */
  live: Set<string>;
  /** Per backend, when its last worker stopped or went silent (its last heartbeat plus the timeout). */
  lastServedAt: Map<string, number>;
  /** When any worker was last live. */
  anyLastServedAt: number | undefined;
}

export async function fleetRoutes(manager: EntityManager, heartbeatTimeoutMs: number, now = Date.now()): Promise<FleetRoutes> {
  const rows: Array<{ backend: string; state: string; last_heartbeat_at: Date }> = await manager.query(`SELECT backend, state, last_heartbeat_at FROM workers`);
  const routes: FleetRoutes = { live: new Set(), lastServedAt: new Map(), anyLastServedAt: undefined };
  for (const row of rows) {
    const heartbeat = row.last_heartbeat_at.getTime();
    const live = row.state !== "stopped" && now - heartbeat <= heartbeatTimeoutMs;
    if (live) routes.live.add(row.backend);
    const servedUntil = live ? now : row.state === "stopped" ? heartbeat : heartbeat + heartbeatTimeoutMs;
    routes.lastServedAt.set(row.backend, Math.max(routes.lastServedAt.get(row.backend) ?? 0, servedUntil));
    routes.anyLastServedAt = Math.max(routes.anyLastServedAt ?? 0, servedUntil);
  }
  return routes;
}

export interface RouteWaitSubject {
  status: ExperimentStatus;
  /** Stored config (its `execution.backend`, when set, is the requirement). */
  config: { execution?: { backend?: ExecutionBackend } };
  /** The backend its first recorded result pinned it to; null before. */
  backend: string | null;
  importKey: string | null;
  createdAt: Date;
}

/**
 * Why the experiment's tasks wait, or null: it is queued or running, no live worker serves its
 * route, and none has for `thresholdMs` (counted from its creation at the earliest).
 */
export function routeWait(experiment: RouteWaitSubject, routes: FleetRoutes, thresholdMs: number, now = Date.now()): string | null {
  if ((experiment.status !== "queued" && experiment.status !== "running") || experiment.importKey !== null) return null;
  const route = experimentRoute(experiment.config, experiment.backend);
  const served = route === "any" ? routes.live.size > 0 : routes.live.has(route);
  if (served) return null;
  const lastServed = route === "any" ? routes.anyLastServedAt : routes.lastServedAt.get(route);
  const since = Math.max(experiment.createdAt.getTime(), lastServed ?? 0);
  if (now - since < thresholdMs) return null;
  const minutes = Math.max(1, Math.round((now - since) / 60_000));
  const unserved = `for ${minutes} min`;
  if (route === "any") return `waiting for a worker: no live worker ${unserved}; start one (swamp worker)`;
  const why =
    experiment.backend !== null
      ? `its recorded results were computed on ${route} and the rest must be too (results of different backends never mix)`
      : `its config requires it (execution.backend)`;
  return `waiting for a ${route} worker: no live worker runs the ${route} backend ${unserved}, and ${why}; start one (swamp worker --backend ${route})`;
}
