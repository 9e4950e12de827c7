import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import { unpackFloats, unpackIntegers } from "../../../../schema/packed-columns.ts";
import { download, request, subscribe } from "../../api/graphql-client.ts";
import { Chart, colour } from "../../chart/chart.tsx";
import { ACTIVE_STATUSES, StatusBadge } from "../../components/status.tsx";
import { bytes, dateTime, duration, percent, remaining } from "../../format.ts";
import { href, navigate } from "../../router.ts";
import { say, token } from "../../store.ts";
import { CreateExperiment } from "../experiments/create-experiment.tsx";
import { runAction } from "./actions.ts";
import { AnalysesPanel } from "./analyses-panel.tsx";
import documents from "./experiment.graphql";
import { LiveSeries } from "./live-series.ts";

interface Particle {
  index: number;
  status: string;
  accuracy: number | null;
  loss: number | null;
  workerId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  error: string | null;
}
interface Cycle {
  index: number;
  status: string;
  sparsity: number;
  aliveWeights: number;
  totalWeights: number;
  accuracy: number | null;
  loss: number | null;
  startedAt: string;
  completedAt: string | null;
  timings: Record<string, number>;
  layers: Array<{ name: string; alive: number; total: number }>;
  particles: Particle[];
}
interface Artifact {
  id: string;
  kind: string;
  format: string;
  sizeBytes: number;
  cycleIndex: number | null;
  particleIndex: number | null;
  downloadUrl: string;
}
interface Detail {
  id: string;
  name: string;
  method: string;
  model: string;
  dataset: string;
  status: string;
  error: string | null;
  /** Why its tasks wait on a route no live worker serves, else null. */
  waitingFor: string | null;
  cyclesCompleted: number;
  cyclesPlanned: number;
  particlesPerCycle: number;
  finalSparsity: number;
  bestAccuracy: number | null;
  tags: string[];
  notes: string;
  owner: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  sweepId: string | null;
  config: Record<string, unknown>;
  configHash: string;
  cycles: Cycle[];
  artifacts: Artifact[];
}
/** One metricColumns batch as ExperimentMetricsLive selects it: each column packed (schema/packed-columns.ts), entry i of each one point. */
interface LiveColumnBatch {
  history: boolean;
  historyComplete: boolean;
  series: Array<{ key: string; particle: number | null; packedGlobalSteps: string; packedValues: string }>;
}

const LOSS_KEY = "train/loss";
const LR_KEY = "train/lr";

export function ExperimentView({ id }: { id: string }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [copying, setCopying] = useState(false);

  useEffect(() => {
    let stale = false;
    request<{ experiment: Detail | null }>(documents, "ExperimentDetail", { id })
      .then((data) => {
        if (stale) return;
        if (!data.experiment) setError("There is no experiment with this id (it may have been deleted).");
        else {
          setDetail(data.experiment);
          setError(null);
        }
      })
      .catch((e: Error) => !stale && setError(e.message));
    return () => {
      stale = true;
    };
  }, [id, reload, token.value]);

  // Status changes and completed cycles re-read the detail (cycles, artifacts, workers).
  const active = detail ? ACTIVE_STATUSES.has(detail.status) : false;
  useEffect(() => {
    if (!active) return;
    const refresh = () => setReload((r) => r + 1);
    let lastStatus = detail?.status;
    const stopStatus = subscribe<{ experimentUpdated: { status: string; cyclesCompleted: number } }>(documents, "ExperimentStatusLive", { id }, (data) => {
      setDetail((old) => (old ? { ...old, ...data.experimentUpdated } : old));
      if (data.experimentUpdated.status !== lastStatus) {
        lastStatus = data.experimentUpdated.status;
        refresh();
      }
    });
    const stopCycles = subscribe(documents, "ExperimentCycleLive", { id }, refresh);
    return () => {
      stopStatus();
      stopCycles();
    };
  }, [id, active, token.value]);

  if (error) return <p class="error-text">{error}</p>;
  if (!detail) return <p class="empty">Loading…</p>;
  return (
    <section aria-labelledby="experiment-title" data-testid="experiment-view">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href("experiments")}>Experiments</a> / <span>{detail.name}</span>
      </nav>
      <div class="view-header">
        <h1 id="experiment-title">{detail.name}</h1>
        <StatusBadge status={detail.status} />
        <span class="muted" data-testid="experiment-progress">
          cycle {detail.cyclesCompleted}/{detail.cyclesPlanned}
        </span>
        <div class="spacer" />
        <a class="button" href={href("frontier", { ids: [detail.id] })}>
          Frontier
        </a>
        <button onClick={() => setCopying(true)}>New from this config</button>
        <button disabled={!ACTIVE_STATUSES.has(detail.status)} onClick={() => void runAction("cancel", [id]).then(() => setReload((r) => r + 1))}>
          Cancel
        </button>
        <button disabled={!["FAILED", "CANCELLED"].includes(detail.status)} onClick={() => void runAction("retry", [id]).then(() => setReload((r) => r + 1))}>
          Retry
        </button>
        <button
          class="danger"
          onClick={async () => {
            if (!confirm(`Delete ${detail.name} with its cycles, metrics and artifacts?`)) return;
            if ((await runAction("delete", [id])) === 1) {
              say(`deleted ${detail.name}`);
              navigate(href("experiments"));
            }
          }}
        >
          Delete
        </button>
      </div>
      {detail.error && <p class="error-text">Failed: {detail.error}</p>}
      {detail.waitingFor && (
        <p class="error-text" data-testid="waiting-for">
          Not running: {detail.waitingFor}
        </p>
      )}
      <Summary detail={detail} />
      <div class="grid-2">
        <LiveCharts id={id} particles={detail.particlesPerCycle} />
      </div>
      <CycleResults detail={detail} />
      <AnalysesPanel experimentId={detail.id} cycles={detail.cycles.filter((c) => c.status === "COMPLETED").map((c) => c.index)} />
      <LayerTable cycles={detail.cycles} />
      <TaskTable cycles={detail.cycles} />
      <Downloads detail={detail} />
      <div class="grid-2">
        <TagsAndNotes detail={detail} onSaved={(changes) => setDetail({ ...detail, ...changes })} />
        <div class="panel">
          <h2>Config</h2>
          <p class="muted small">
            hash <code>{detail.configHash.slice(0, 16)}</code>
          </p>
          <pre class="config" data-testid="experiment-config">
            {JSON.stringify(detail.config, null, 2)}
          </pre>
        </div>
      </div>
      {copying && <CreateExperiment initial={{ name: `${detail.name}-copy`, ...withoutName(detail.config) }} onClose={() => setCopying(false)} />}
    </section>
  );
}

function withoutName(config: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, ...rest } = config;
  return rest;
}

function Summary({ detail }: { detail: Detail }) {
  const items: Array<[string, string]> = [
    ["Method", `${detail.method} · ${detail.particlesPerCycle} particle${detail.particlesPerCycle === 1 ? "" : "s"}`],
    ["Model", detail.model],
    ["Data set", detail.dataset],
    ["Sparsity", percent(detail.finalSparsity)],
    ["Best accuracy", percent(detail.bestAccuracy, 2)],
    ["Owner", detail.owner ?? "admin"],
    ["Created", dateTime(detail.createdAt)],
    ["Finished", dateTime(detail.finishedAt)],
  ];
  return (
    <dl class="summary">
      {items.map(([label, value]) => (
        <div>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Training loss and learning rate per particle, replayed from history then followed live. */
function LiveCharts({ id, particles }: { id: string; particles: number }) {
  const loss = useRef(new LiveSeries(particles));
  const lr = useRef(new LiveSeries(particles));
  const [revision, setRevision] = useState(0);
  const [live, setLive] = useState(false);

  useEffect(() => {
    loss.current = new LiveSeries(particles);
    lr.current = new LiveSeries(particles);
    setRevision((r) => r + 1);
    return subscribe<{ metricColumns: LiveColumnBatch }>(documents, "ExperimentMetricsLive", { id, keys: [LOSS_KEY, LR_KEY] }, (data) => {
      const batch = data.metricColumns;
      for (const series of batch.series) {
        if (series.particle === null) continue;
        const chart = series.key === LOSS_KEY ? loss.current : lr.current;
        const steps = unpackIntegers(series.packedGlobalSteps);
        const values = unpackFloats(series.packedValues);
        for (let i = 0; i < steps.length; i++) chart.add(steps[i]!, series.particle, values[i]!);
      }
      if (batch.historyComplete || !batch.history) setLive(true);
      setRevision((r) => r + 1);
    });
  }, [id, particles, token.value]);

  const options = useMemo(() => lineOptions(particles, "loss"), [particles]);
  const lrOptions = useMemo(() => lineOptions(particles, "learning rate"), [particles]);
  return (
    <>
      <div class="panel">
        <h2>
          Training loss <span class="muted small">per particle{live ? " · live" : ""}</span>
        </h2>
        <Chart options={options} data={loss.current.data} revision={revision} label="Training loss per particle over the global step" testId="loss-chart" />
        <p class="muted small" data-testid="loss-points">
          {loss.current.pointCount > 0 ? `${loss.current.pointCount} points` : "No training-loss points stored yet; they appear here live as particles train."}
        </p>
      </div>
      <div class="panel">
        <h2>
          Learning rate <span class="muted small">per particle</span>
        </h2>
        <Chart options={lrOptions} data={lr.current.data} revision={revision} label="Learning rate per particle over the global step" testId="lr-chart" />
      </div>
    </>
  );
}

function lineOptions(particles: number, yLabel: string): Omit<uPlot.Options, "width" | "height"> {
  return {
    scales: { x: { time: false } },
    axes: [{ label: "step" }, { label: yLabel, size: 60 }],
    series: [{ label: "step" }, ...Array.from({ length: particles }, (_, p) => ({ label: `particle ${p}`, stroke: colour(p), width: 1.5, spanGaps: true, points: { show: false } }))],
    legend: { live: true },
  };
}

/** Per cycle: the averaged model vs each particle vs the best particle (Fig. 3 of the paper). */
function CycleResults({ detail }: { detail: Detail }) {
  const completed = detail.cycles.filter((c) => c.accuracy !== null);
  const particles = detail.particlesPerCycle;
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(
    () => ({
      scales: { x: { time: false } },
      axes: [{ label: "cycle", values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : "")) }, { label: "test accuracy (%)", size: 60 }],
      series: [
        { label: "cycle" },
        { label: "averaged model", stroke: "#111827", width: 2.5 },
        ...Array.from({ length: particles }, (_, p) => ({ label: `particle ${p}`, stroke: colour(p), width: 1, dash: [4, 3] })),
        ...(particles > 1 ? [{ label: "best particle", stroke: "#D55E00", width: 1.5 }] : []),
      ],
    }),
    [particles],
  );
  const data = useMemo(() => {
    const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : v * 100);
    const columns: Array<Array<number | null>> = [completed.map((c) => c.index), completed.map((c) => pct(c.accuracy))];
    for (let p = 0; p < particles; p++) columns.push(completed.map((c) => pct(c.particles.find((x) => x.index === p)?.accuracy)));
    if (particles > 1) columns.push(completed.map((c) => pct(bestParticle(c))));
    return columns as uPlot.AlignedData;
  }, [detail]);
  return (
    <div class="panel">
      <h2>Cycles</h2>
      {completed.length > 0 && <Chart options={options} data={data} label="Test accuracy per cycle: averaged model, each particle, best particle" testId="cycle-chart" height={240} />}
      <div class="table-wrap">
        <table class="data-table compact" data-testid="cycle-table">
          <thead>
            <tr>
              <th class="num">Cycle</th>
              <th class="num">Remaining</th>
              <th class="num">Averaged</th>
              {Array.from({ length: particles }, (_, p) => (
                <th class="num">Particle {p}</th>
              ))}
              {particles > 1 && <th class="num">Best particle</th>}
              <th class="num">Loss</th>
              <th class="num">Duration</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {detail.cycles.map((c) => (
              <tr>
                <td class="num">{c.index}</td>
                <td class="num">{remaining(c.sparsity)}</td>
                <td class="num strong">{percent(c.accuracy, 2)}</td>
                {Array.from({ length: particles }, (_, p) => (
                  <td class="num">{percent(c.particles.find((x) => x.index === p)?.accuracy ?? null, 2)}</td>
                ))}
                {particles > 1 && <td class="num">{percent(bestParticle(c), 2)}</td>}
                <td class="num">{c.loss === null ? "–" : c.loss.toFixed(4)}</td>
                <td class="num">{c.completedAt ? duration(Date.parse(c.completedAt) - Date.parse(c.startedAt)) : "–"}</td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {detail.cycles.length === 0 && <p class="empty">No cycle has started yet (pretraining runs first).</p>}
      </div>
    </div>
  );
}

function bestParticle(cycle: Cycle): number | null {
  const accuracies = cycle.particles.map((p) => p.accuracy).filter((a): a is number => a !== null);
  return accuracies.length ? Math.max(...accuracies) : null;
}

/** Remaining weights per layer per cycle, and each cycle's phase timings. */
function LayerTable({ cycles }: { cycles: Cycle[] }) {
  if (cycles.length === 0) return null;
  const layers = cycles[0]!.layers.map((l) => l.name);
  const phases = [...new Set(cycles.flatMap((c) => Object.keys(c.timings)))];
  return (
    <div class="grid-2">
      <div class="panel">
        <h2>
          Mask <span class="muted small">remaining weights per layer</span>
        </h2>
        <div class="table-wrap">
          <table class="data-table compact" data-testid="layer-table">
            <thead>
              <tr>
                <th>Layer</th>
                {cycles.map((c) => (
                  <th class="num">c{c.index}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {layers.map((name) => (
                <tr>
                  <td>
                    <code>{name}</code>
                  </td>
                  {cycles.map((c) => {
                    const layer = c.layers.find((l) => l.name === name);
                    return <td class="num">{layer ? remaining(1 - layer.alive / layer.total) : "–"}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <div class="panel">
        <h2>Timings</h2>
        <div class="table-wrap">
          <table class="data-table compact" data-testid="timings-table">
            <thead>
              <tr>
                <th class="num">Cycle</th>
                {phases.map((p) => (
                  <th class="num">{p}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {cycles.map((c) => (
                <tr>
                  <td class="num">{c.index}</td>
                  {phases.map((p) => (
                    <td class="num">{duration(c.timings[p])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

/** Each particle's training task: where it ran and how long it took. */
function TaskTable({ cycles }: { cycles: Cycle[] }) {
  const tasks = cycles.flatMap((c) => c.particles.map((p) => ({ cycle: c.index, ...p })));
  if (tasks.length === 0) return null;
  return (
    <div class="panel">
      <h2>Tasks</h2>
      <div class="table-wrap short">
        <table class="data-table compact" data-testid="task-table">
          <thead>
            <tr>
              <th class="num">Cycle</th>
              <th class="num">Particle</th>
              <th>Status</th>
              <th>Worker</th>
              <th class="num">Accuracy</th>
              <th class="num">Duration</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr>
                <td class="num">{t.cycle}</td>
                <td class="num">{t.index}</td>
                <td>
                  <StatusBadge status={t.status} />
                </td>
                <td>{t.workerId ? <a href={href("workers", { worker: t.workerId })}>{t.workerId}</a> : <span class="muted">in process</span>}</td>
                <td class="num">{percent(t.accuracy, 2)}</td>
                <td class="num">{t.startedAt && t.completedAt ? duration(Date.parse(t.completedAt) - Date.parse(t.startedAt)) : "–"}</td>
                <td class="error-text">{t.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function DownloadLink({ url, fileName, children }: { url: string; fileName: string; children: preact.ComponentChildren }) {
  return (
    <a
      href={url}
      download={fileName}
      onClick={(event) => {
        event.preventDefault();
        download(url, fileName).catch((error: Error) => say(error.message, "error"));
      }}
    >
      {children}
    </a>
  );
}

/** Stored artifacts, and each completed cycle's averaged weights and masks as npz / safetensors. */
function Downloads({ detail }: { detail: Detail }) {
  const completed = detail.cycles.filter((c) => c.status === "COMPLETED");
  const exportUrl = (file: string, cycle: number) => `/export/${file}?experiment=${encodeURIComponent(detail.id)}&cycle=${cycle}`;
  // Made on request from the stored sparse weights; model.json finds weights.bin beside it.
  const tfjsUrl = (file: string, cycle: number) => `/export/tfjs/${encodeURIComponent(detail.id)}/${cycle}/${file}`;
  return (
    <div class="grid-2">
      <div class="panel">
        <h2>Artifacts</h2>
        <div class="table-wrap short">
          <table class="data-table compact" data-testid="artifact-table">
            <thead>
              <tr>
                <th>Kind</th>
                <th class="num">Cycle</th>
                <th class="num">Particle</th>
                <th>Format</th>
                <th class="num">Size</th>
                <th>Download</th>
              </tr>
            </thead>
            <tbody>
              {detail.artifacts.map((a) => (
                <tr>
                  <td>{a.kind.toLowerCase()}</td>
                  <td class="num">{a.cycleIndex ?? "–"}</td>
                  <td class="num">{a.particleIndex ?? "–"}</td>
                  <td>{a.format}</td>
                  <td class="num">{bytes(a.sizeBytes)}</td>
                  <td>
                    <DownloadLink url={a.downloadUrl} fileName={`${detail.name}-${a.kind.toLowerCase()}-${a.cycleIndex ?? "x"}-${a.particleIndex ?? "avg"}-${a.id}`}>
                      download
                    </DownloadLink>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {detail.artifacts.length === 0 && <p class="empty">No artifacts yet.</p>}
        </div>
      </div>
      <div class="panel">
        <h2>
          Exports <span class="muted small">averaged sparse weights and masks per cycle</span>
        </h2>
        <div class="table-wrap short">
          <table class="data-table compact" data-testid="export-table">
            <thead>
              <tr>
                <th class="num">Cycle</th>
                <th class="num">Remaining</th>
                <th>Weights</th>
                <th>Masks</th>
              </tr>
            </thead>
            <tbody>
              {completed.map((c) => (
                <tr>
                  <td class="num">{c.index}</td>
                  <td class="num">{remaining(c.sparsity)}</td>
                  <td>
                    <DownloadLink url={exportUrl("weights.npz", c.index)} fileName={`${detail.name}-cycle${c.index}-weights.npz`}>
                      npz
                    </DownloadLink>{" "}
                    ·{" "}
                    <DownloadLink url={exportUrl("weights.safetensors", c.index)} fileName={`${detail.name}-cycle${c.index}-weights.safetensors`}>
                      safetensors
                    </DownloadLink>{" "}
                    · TF.js{" "}
                    <DownloadLink url={tfjsUrl("model.json", c.index)} fileName={`${detail.name}-cycle${c.index}-model.json`}>
                      model.json
                    </DownloadLink>{" "}
                    <DownloadLink url={tfjsUrl("weights.bin", c.index)} fileName={`${detail.name}-cycle${c.index}-weights.bin`}>
                      weights.bin
                    </DownloadLink>
                  </td>
                  <td>
                    <DownloadLink url={exportUrl("masks.npz", c.index)} fileName={`${detail.name}-cycle${c.index}-masks.npz`}>
                      npz
                    </DownloadLink>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {completed.length === 0 && <p class="empty">Exports appear as cycles complete.</p>}
          <p class="muted small">
            Metrics as CSV:{" "}
            <DownloadLink url={`/export/metrics.csv?experiment=${encodeURIComponent(detail.id)}`} fileName={`${detail.name}-metrics.csv`}>
              metrics.csv
            </DownloadLink>
          </p>
        </div>
      </div>
    </div>
  );
}

function TagsAndNotes({ detail, onSaved }: { detail: Detail; onSaved: (changes: Partial<Detail>) => void }) {
  const [tags, setTags] = useState(detail.tags.join(", "));
  const [notes, setNotes] = useState(detail.notes);
  useEffect(() => {
    setTags(detail.tags.join(", "));
    setNotes(detail.notes);
  }, [detail.id]);
  const save = async (event: Event) => {
    event.preventDefault();
    try {
      const list = tags.split(",").map((t) => t.trim()).filter(Boolean);
      const tagged = await request<{ setTags: { tags: string[] } }>(documents, "SetTags", { id: detail.id, tags: list });
      const noted = await request<{ setNotes: { notes: string } }>(documents, "SetNotes", { id: detail.id, notes });
      onSaved({ tags: tagged.setTags.tags, notes: noted.setNotes.notes });
      say("saved tags and notes");
    } catch (error) {
      say((error as Error).message, "error");
    }
  };
  return (
    <form class="panel stack" onSubmit={save}>
      <h2>Tags and notes</h2>
      <label>
        Tags <span class="muted small">comma-separated</span>
        <input type="text" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Notes
        <textarea rows={6} value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div>
        <button type="submit">Save</button>
      </div>
    </form>
  );
}
