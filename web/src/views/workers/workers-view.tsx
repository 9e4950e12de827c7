import { useEffect, useState } from "preact/hooks";
import { request } from "../../api/graphql-client.ts";
import { StatusBadge } from "../../components/status.tsx";
import { age, dateTime } from "../../format.ts";
import { href, navigate, route } from "../../router.ts";
import { token } from "../../store.ts";
import documents from "./workers.graphql";

interface Worker {
  id: string;
  host: string;
  backend: string;
  device: string;
  slots: number;
  runningTasks: number;
  state: string;
  startedAt: string;
  lastHeartbeatAt: string;
  particlesCompletedLastHour: number;
  currentTasks: Array<{ experimentId: string; experimentName: string; cycle: number; particle: number; startedAt: string | null }>;
}

const REFRESH_MS = 5_000;

/** The fleet as its heartbeats last showed it, re-read every few seconds. */
export function WorkersView() {
  const params = route.value.params;
  const includeStopped = params.get("stopped") === "1";
  const highlighted = params.get("worker");
  const [workers, setWorkers] = useState<Worker[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    let stopped = false;
    const load = () =>
      request<{ workers: Worker[] }>(documents, "Workers", { includeStopped })
        .then((data) => {
          if (stopped) return;
          setWorkers(data.workers);
          setError(null);
          setNow(Date.now());
        })
        .catch((e: Error) => !stopped && setError(e.message));
    void load();
    const timer = setInterval(load, REFRESH_MS);
    const clock = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
      clearInterval(clock);
    };
  }, [includeStopped, token.value]);

  const counts = (state: string) => workers?.filter((w) => w.state === state).length ?? 0;
  const slots = workers?.filter((w) => w.state !== "LOST" && w.state !== "STOPPED").reduce((sum, w) => sum + w.slots, 0) ?? 0;
  const running = workers?.reduce((sum, w) => sum + w.runningTasks, 0) ?? 0;
  const throughput = workers?.reduce((sum, w) => sum + w.particlesCompletedLastHour, 0) ?? 0;
  return (
    <section aria-labelledby="workers-title">
      <div class="view-header">
        <h1 id="workers-title">Workers</h1>
        <div class="spacer" />
        <label class="inline">
          <input type="checkbox" checked={includeStopped} onChange={() => navigate(`#/workers${includeStopped ? "" : "?stopped=1"}`)} /> show stopped
        </label>
      </div>
      <dl class="summary" data-testid="fleet-summary">
        <div>
          <dt>Busy</dt>
          <dd>{counts("BUSY")}</dd>
        </div>
        <div>
          <dt>Idle</dt>
          <dd>{counts("IDLE")}</dd>
        </div>
        <div>
          <dt>Lost</dt>
          <dd>{counts("LOST")}</dd>
        </div>
        <div>
          <dt>Tasks running</dt>
          <dd>
            {running} of {slots} slots
          </dd>
        </div>
        <div>
          <dt>Particles trained, last hour</dt>
          <dd>{throughput}</dd>
        </div>
      </dl>
      {error && <p class="error-text">Could not load workers: {error}</p>}
      <div class="panel">
        <div class="table-wrap">
          <table class="data-table" data-testid="workers-table">
            <thead>
              <tr>
                <th>Worker</th>
                <th>State</th>
                <th>Current task</th>
                <th class="num">Particles / h</th>
                <th>Host</th>
                <th>Backend</th>
                <th>Device</th>
                <th class="num">Running / slots</th>
                <th class="num">Last heartbeat</th>
                <th class="num">Started</th>
              </tr>
            </thead>
            <tbody>
              {workers?.map((w) => (
                <tr class={highlighted === w.id ? "selected" : ""} data-worker-id={w.id}>
                  <td>
                    <code>{w.id}</code>
                  </td>
                  <td>
                    <StatusBadge status={w.state} />
                  </td>
                  <td data-col="current-task">
                    {w.currentTasks.length === 0 && <span class="muted">{w.runningTasks > 0 ? "pretraining or averaging" : "–"}</span>}
                    {w.currentTasks.map((task) => (
                      <div>
                        <a href={href(`experiments/${encodeURIComponent(task.experimentId)}`)}>{task.experimentName}</a>{" "}
                        <span class="muted">
                          cycle {task.cycle} · particle {task.particle}
                          {task.startedAt ? ` · ${age(task.startedAt, now)}` : ""}
                        </span>
                      </div>
                    ))}
                  </td>
                  <td class="num" data-col="particles-per-hour">{w.particlesCompletedLastHour}</td>
                  <td>{w.host}</td>
                  <td>{w.backend}</td>
                  <td>{w.device}</td>
                  <td class="num">
                    {w.runningTasks} / {w.slots}
                  </td>
                  <td class="num">{age(w.lastHeartbeatAt, now)} ago</td>
                  <td class="num muted">{dateTime(w.startedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {workers && workers.length === 0 && <p class="empty">No workers have reported. Start one with `swamp worker` (or `swamp up`).</p>}
        </div>
      </div>
    </section>
  );
}
