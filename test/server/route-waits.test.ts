/**
 * Which experiments are reported as waiting on a route no live worker serves, and why: the
 * judgement behind Experiment.waitingFor and the coordinator's log lines, on fixed clocks.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { routeWait, type FleetRoutes, type RouteWaitSubject } from "../../server/services/route-waits.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const MINUTE = 60_000;

function experiment(overrides: Partial<RouteWaitSubject> = {}): RouteWaitSubject {
  return { status: "queued", config: {}, backend: null, importKey: null, createdAt: new Date(NOW - 10 * MINUTE), ...overrides };
}

function routes(live: string[], lastServed: Record<string, number> = {}): FleetRoutes {
  const lastServedAt = new Map(Object.entries(lastServed));
  for (const backend of live) lastServedAt.set(backend, NOW);
  const times = [...lastServedAt.values()];
  return { live: new Set(live), lastServedAt, anyLastServedAt: times.length > 0 ? Math.max(...times) : undefined };
}

test("a required backend without a live worker is reported after the threshold, naming the backend and the flag", () => {
  const needsGpu = experiment({ config: { execution: { backend: "tensorflow-gpu" } } });
  assert.equal(
    routeWait(needsGpu, routes(["wasm", "cpu"]), MINUTE, NOW),
    "waiting for a tensorflow-gpu worker: no live worker runs the tensorflow-gpu backend for 10 min, and its config requires it (execution.backend); start one (swamp worker --backend tensorflow-gpu)",
  );
  assert.equal(routeWait(needsGpu, routes(["wasm", "tensorflow-gpu"]), MINUTE, NOW), null, "served");
  assert.equal(routeWait({ ...needsGpu, createdAt: new Date(NOW - 30_000) }, routes(["wasm"]), MINUTE, NOW), null, "not before the threshold");
});

test("a pinned experiment whose worker left says its results tie it to that backend", () => {
  const pinned = experiment({ status: "running", backend: "wasm" });
  // Its last wasm worker went silent 2 minutes ago; a cpu worker is live but must not take it.
  assert.match(routeWait(pinned, routes(["cpu"], { wasm: NOW - 2 * MINUTE }), MINUTE, NOW)!, /no live worker runs the wasm backend for 2 min, and its recorded results were computed on wasm/);
  assert.equal(routeWait(pinned, routes(["cpu"], { wasm: NOW - 20_000 }), MINUTE, NOW), null, "a worker restarting is not reported");
});

test("an `any` experiment waits only while no worker at all is live", () => {
  assert.equal(routeWait(experiment(), routes(["cpu"]), MINUTE, NOW), null);
  assert.match(routeWait(experiment(), routes([], { cpu: NOW - 5 * MINUTE }), MINUTE, NOW)!, /^waiting for a worker: no live worker for 5 min/);
  assert.match(routeWait(experiment(), routes([]), MINUTE, NOW)!, /no live worker for 10 min/, "none ever: counted from its creation");
});

test("finished, cancelled and imported experiments never wait", () => {
  const empty = routes([]);
  for (const status of ["completed", "failed", "cancelled"] as const) assert.equal(routeWait(experiment({ status }), empty, MINUTE, NOW), null, status);
  assert.equal(routeWait(experiment({ importKey: "a".repeat(64) }), empty, MINUTE, NOW), null);
});
