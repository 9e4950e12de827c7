import { useEffect, useMemo, useState } from "preact/hooks";
import uPlot from "uplot";
import { GraphQLFailure, request, subscribe } from "../../api/graphql-client.ts";
import { Chart, colour } from "../../chart/chart.tsx";
import { Heatmap } from "../../chart/heatmap.tsx";
import { StatusBadge } from "../../components/status.tsx";
import { dateTime, duration, percent } from "../../format.ts";
import { say, token } from "../../store.ts";
import documents from "./analyses.graphql";

type ChartOptions = Omit<uPlot.Options, "width" | "height">;

interface AnalysisView {
  id: string;
  kind: string;
  input: Record<string, unknown>;
  seed: number;
  status: string;
  progress: number;
  result: any;
  error: string | null;
  createdAt: string;
  seconds: number | null;
  experimentIds: string[];
}

const KINDS = ["interpolate", "plane", "flatness", "ensemble", "mask-overlap"] as const;
const FINISHED = new Set(["SUCCEEDED", "FAILED"]);

/** The paper's analyses of this experiment's stored models: a form to start one, and a chart per result. */
export function AnalysesPanel({ experimentId, cycles }: { experimentId: string; cycles: number[] }) {
  const [analyses, setAnalyses] = useState<AnalysisView[] | null>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let stale = false;
    request<{ experiment: { analyses: AnalysisView[] } | null }>(documents, "ExperimentAnalyses", { id: experimentId })
      .then((data) => !stale && setAnalyses(data.experiment?.analyses ?? []))
      .catch((error: Error) => say(error.message, "error"));
    return () => {
      stale = true;
    };
  }, [experimentId, reload, token.value]);

  // Unfinished analyses are followed live; the list is read again when one finishes.
  const unfinished = (analyses ?? []).filter((a) => !FINISHED.has(a.status)).map((a) => a.id);
  useEffect(() => {
    const stops = unfinished.map((id) =>
      subscribe<{ analysisUpdated: { id: string; status: string; progress: number; error: string | null } }>(documents, "AnalysisLive", { id }, (data) => {
        const update = data.analysisUpdated;
        setAnalyses((old) => old?.map((a) => (a.id === update.id ? { ...a, ...update } : a)) ?? old);
        if (FINISHED.has(update.status)) setReload((r) => r + 1);
      }),
    );
    return () => stops.forEach((stop) => stop());
  }, [unfinished.join(","), token.value]);

  return (
    <section class="panel" data-testid="analyses-panel" aria-labelledby="analyses-title">
      <h2 id="analyses-title">
        Analyses <span class="muted small">loss barriers, loss-landscape planes, flatness, ensembles, mask overlap</span>
      </h2>
      <StartAnalysis experimentId={experimentId} cycles={cycles} onStarted={() => setReload((r) => r + 1)} />
      {analyses === null && <p class="empty">Loading…</p>}
      {analyses?.length === 0 && <p class="empty">No analyses yet: start one above once a cycle has completed.</p>}
      <div class="analysis-list">
        {analyses?.map((analysis) => (
          <AnalysisCard analysis={analysis} />
        ))}
      </div>
    </section>
  );
}

function StartAnalysis({ experimentId, cycles, onStarted }: { experimentId: string; cycles: number[]; onStarted: () => void }) {
  const [kind, setKind] = useState<(typeof KINDS)[number]>("interpolate");
  const last = cycles.at(-1) ?? 0;
  const [cycle, setCycle] = useState(String(last));
  const [options, setOptions] = useState("");
  const [others, setOthers] = useState("");
  const [problems, setProblems] = useState<string | null>(null);
  useEffect(() => setCycle(String(last)), [last]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblems(null);
    let extra: Record<string, unknown> = {};
    if (options.trim()) {
      try {
        extra = JSON.parse(options) as Record<string, unknown>;
      } catch (error) {
        setProblems(`options: not JSON (${(error as Error).message})`);
        return;
      }
    }
    const n = Number(cycle);
    const input = kind === "mask-overlap" ? { cycles: [Math.max(0, n - 1), n], ...extra } : { cycle: n, ...extra };
    const otherIds = others.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const started = await request<{ createAnalysis: { id: string } }>(documents, "StartAnalysis", { experimentId, kind, input, others: otherIds });
      say(`started ${kind} analysis ${started.createAnalysis.id}`);
      onStarted();
    } catch (error) {
      const failure = error as GraphQLFailure;
      setProblems(failure.problems?.length ? failure.problems.map((p) => `${p.path}: ${p.message}`).join("; ") : failure.message);
    }
  };
  return (
    <form class="analysis-form" onSubmit={submit} data-testid="start-analysis">
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as (typeof KINDS)[number])} name="kind">
          {KINDS.map((k) => (
            <option value={k}>{k}</option>
          ))}
        </select>
      </label>
      <label>
        {kind === "mask-overlap" ? "Cycle (vs the one before)" : "Cycle"}
        <select value={cycle} onChange={(e) => setCycle((e.target as HTMLSelectElement).value)} name="cycle">
          {cycles.map((c) => (
            <option value={String(c)}>{c}</option>
          ))}
        </select>
      </label>
      <label class="grow">
        Options <span class="muted small">JSON, e.g. {'{"points": 11}'}</span>
        <input type="text" name="options" value={options} onInput={(e) => setOptions((e.target as HTMLInputElement).value)} placeholder="{}" />
      </label>
      <label class="grow">
        Other experiments <span class="muted small">ids, comma-separated</span>
        <input type="text" name="others" value={others} onInput={(e) => setOthers((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" disabled={cycles.length === 0}>
        Start analysis
      </button>
      {problems && (
        <p class="error-text" data-testid="analysis-problems">
          {problems}
        </p>
      )}
    </form>
  );
}

function AnalysisCard({ analysis }: { analysis: AnalysisView }) {
  const where = "cycle" in analysis.input ? `cycle ${analysis.input.cycle}` : `cycles ${(analysis.input.cycles as number[]).join(" → ")}`;
  return (
    <article class="analysis-card" data-testid={`analysis-${analysis.kind}`} data-status={analysis.status}>
      <header class="analysis-header">
        <strong>{analysis.kind}</strong>
        <span class="muted small">
          #{analysis.id} · {where} · seed {analysis.seed} · {dateTime(analysis.createdAt)}
          {analysis.seconds !== null ? ` · ${duration(analysis.seconds * 1000)}` : ""}
        </span>
        <StatusBadge status={analysis.status} />
        {!FINISHED.has(analysis.status) && <progress max={1} value={analysis.progress} aria-label="progress" />}
        <span class="spacer" />
        {analysis.status === "SUCCEEDED" && (
          <span class="small">
            <a href={`/export/analysis/${analysis.id}.csv`}>csv</a> · <a href={`/export/analysis/${analysis.id}.json`}>json</a>
          </span>
        )}
      </header>
      {analysis.error && <p class="error-text">{analysis.error}</p>}
      {analysis.status === "SUCCEEDED" && analysis.result && <AnalysisChart kind={analysis.kind} result={analysis.result} id={analysis.id} />}
    </article>
  );
}

function AnalysisChart({ kind, result, id }: { kind: string; result: any; id: string }) {
  switch (kind) {
    case "interpolate":
      return <InterpolationChart result={result} id={id} />;
    case "plane":
      return <PlaneChart result={result} id={id} />;
    case "flatness":
      return <FlatnessChart result={result} id={id} />;
    case "ensemble":
      return <EnsembleChart result={result} id={id} />;
    case "mask-overlap":
      return <MaskOverlapChart result={result} id={id} />;
    default:
      return null;
  }
}

/** Train loss along (1−α)·A + α·B, one line per pair, with each pair's barrier in the legend. */
function InterpolationChart({ result, id }: { result: { pairs: Array<{ a: string; b: string; alphas: number[]; trainLoss: number[]; testLoss: number[]; barrier: number }> }; id: string }) {
  const options = useMemo<ChartOptions>(
    () => ({
      scales: { x: { time: false } },
      axes: [{ label: "α" }, { label: "train loss", size: 60 }],
      series: [
        { label: "α" },
        ...result.pairs.map((pair, i) => ({ label: `${shortLabel(pair.a)} → ${shortLabel(pair.b)} (barrier ${pair.barrier.toFixed(3)})`, stroke: colour(i), width: 1.5 })),
      ],
    }),
    [result],
  );
  const data = useMemo(() => [result.pairs[0]?.alphas ?? [], ...result.pairs.map((pair) => pair.trainLoss)] as uPlot.AlignedData, [result]);
  return <Chart options={options} data={data} label="Train loss along the linear path between each pair of models" testId={`interpolation-chart-${id}`} height={240} />;
}

function PlaneChart({ result, id }: { result: { xs: number[]; ys: number[]; trainLoss: number[][]; points: Array<[number, number]>; basis: { models: string[] } }; id: string }) {
  const markers = useMemo(() => result.points.map(([x, y], i) => ({ x, y, label: shortLabel(result.basis.models[i] ?? `model ${i}`) })), [result]);
  return (
    <>
      <Heatmap xs={result.xs} ys={result.ys} values={result.trainLoss} markers={markers} label="Train loss over the plane through three models" testId={`plane-heatmap-${id}`} />
      <p class="muted small">Train loss (log colour scale) on the plane through the three models; white points mark them.</p>
    </>
  );
}

/** Bars over categories: uPlot's bar paths on an index axis labelled with the categories. */
function barOptions(categories: string[], yLabel: string, series: Array<{ label: string }>): ChartOptions {
  const bars = uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 60], gap: 2 });
  return {
    // Bars grow from zero, so their heights compare.
    scales: { x: { time: false, range: [-0.6, categories.length - 0.4] }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 0] } },
    axes: [{ values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (categories[t] ?? "") : "")), size: 40 }, { label: yLabel, size: 60 }],
    series: [{ label: "" }, ...series.map((s, i) => ({ label: s.label, fill: colour(i), stroke: colour(i), paths: bars, points: { show: false } }))],
  };
}

function FlatnessChart({ result, id }: { result: { model: string; trace: number; traceStdErr: number; topEigenvalue: number; sharpness: number; loss: number; probes: number }; id: string }) {
  const categories = ["Hessian trace", "top eigenvalue", "sharpness ×100"];
  const options = useMemo(() => barOptions(categories, "value", [{ label: shortLabel(result.model) }]), [result]);
  const data = useMemo(() => [[0, 1, 2], [result.trace, result.topEigenvalue, result.sharpness * 100]] as uPlot.AlignedData, [result]);
  return (
    <>
      <Chart options={options} data={data} label="Flatness: Hessian trace, top eigenvalue and perturbation sharpness" testId={`flatness-chart-${id}`} height={200} />
      <p class="muted small">
        trace {result.trace.toFixed(3)} ± {result.traceStdErr.toFixed(3)} ({result.probes} probes) · loss {result.loss.toFixed(4)}
      </p>
    </>
  );
}

function EnsembleChart({ result, id }: { result: { members: string[]; memberAccuracies: number[]; accuracy: number; averagedWeightsAccuracy: number | null }; id: string }) {
  const categories = [...result.members.map(shortLabel), "ensemble", ...(result.averagedWeightsAccuracy !== null ? ["averaged weights"] : [])];
  const values = [...result.memberAccuracies, result.accuracy, ...(result.averagedWeightsAccuracy !== null ? [result.averagedWeightsAccuracy] : [])].map((v) => v * 100);
  const options = useMemo(() => barOptions(categories, "test accuracy (%)", [{ label: "test accuracy" }]), [result]);
  const data = useMemo(() => [values.map((_, i) => i), values] as uPlot.AlignedData, [result]);
  return (
    <>
      <Chart options={options} data={data} label="Test accuracy of each member, the ensemble and the averaged-weights model" testId={`ensemble-chart-${id}`} height={220} />
      <p class="muted small">
        ensemble {percent(result.accuracy, 2)}
        {result.averagedWeightsAccuracy !== null ? ` · averaged weights ${percent(result.averagedWeightsAccuracy, 2)}` : ""}
      </p>
    </>
  );
}

function MaskOverlapChart({ result, id }: { result: { a: string; b: string; jaccard: number; hamming: number; layers: Array<{ layer: string; jaccard: number }> }; id: string }) {
  const categories = [...result.layers.map((l) => l.layer), "all"];
  const options = useMemo(() => barOptions(categories, "Jaccard index", [{ label: `${shortLabel(result.a)} vs ${shortLabel(result.b)}` }]), [result]);
  const data = useMemo(() => [categories.map((_, i) => i), [...result.layers.map((l) => l.jaccard), result.jaccard]] as uPlot.AlignedData, [result]);
  return (
    <>
      <Chart options={options} data={data} label="Jaccard index of the two masks per layer and over the model" testId={`mask-overlap-chart-${id}`} height={200} />
      <p class="muted small">
        Jaccard {result.jaccard.toFixed(4)} · Hamming {result.hamming}
      </p>
    </>
  );
}

/** `experiment fmnist cycle 3 particle:0` → `c3 particle:0`: the experiment is the page's. */
function shortLabel(label: string): string {
  return label.replace(/^experiment \S+ /, "").replace(/cycle (\d+)/, "c$1");
}
