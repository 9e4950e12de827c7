import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { request, saveBlob } from "../../api/graphql-client.ts";
import { Chart, colour, translucent } from "../../chart/chart.tsx";
import { percent, remaining } from "../../format.ts";
import { href, listParam, navigate, route } from "../../router.ts";
import { token } from "../../store.ts";
import documents from "./frontier.graphql";
import { experimentRows, rowsToCsv, type FrontierRow, type PlotColumns } from "./frontier-rows.ts";
import { FRONTIER_AXES, frontierAxis, type FrontierAxis } from "./frontier-axes.ts";

interface GroupPoint {
  cycle: number;
  sparsity: number;
  n: number;
  accuracyMean: number;
  accuracyStd: number | null;
  bestParticleMean: number | null;
  xMean: number | null;
}
interface Group {
  key: Record<string, unknown>;
  experimentIds: string[];
  points: GroupPoint[];
}

const GROUPINGS: Array<[string, string]> = [
  ["", "each experiment"],
  ["method.name,model.name,data.name", "method × model × data set (over seeds)"],
  ["method.name,method.particles", "method × particles"],
  ["method.name", "method"],
];

function groupLabel(key: Record<string, unknown>): string {
  const entries = Object.entries(key);
  return entries.length === 0 ? "all" : entries.map(([, v]) => (typeof v === "string" ? v : JSON.stringify(v))).join(" · ");
}

/**
 * Accuracy against remaining weights (log scale, falling to the right, as pruning papers plot it)
 * for the experiments chosen, or for groups of them with a ± std band.
 */
export function FrontierView() {
  const params = route.value.params;
  const ids = listParam(params, "ids");
  const group = params.get("group") ?? (ids.length ? "" : GROUPINGS[1]![0]);
  const showBest = params.get("best") === "1";
  const axis = frontierAxis(params.get("x"));
  const [rows, setRows] = useState<FrontierRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stale = false;
    setError(null);
    const load = async (): Promise<FrontierRow[]> => {
      if (!group) {
        const data = await request<{ frontier: Array<{ experimentId: string; name: string; plot: PlotColumns }> }>(documents, "FrontierOfExperiments", { ids, x: axis.graphql });
        return data.frontier.flatMap((s) => experimentRows(s.name, s.plot));
      }
      const filter = ids.length ? { ids } : params.get("sweep") ? { sweepId: params.get("sweep") } : undefined;
      const data = await request<{ groupedFrontier: Group[] }>(documents, "FrontierOfGroups", { groupBy: group.split(","), filter, x: axis.graphql });
      return data.groupedFrontier.flatMap((g) =>
        g.points.map((p) => ({ series: `${groupLabel(g.key)} (${g.experimentIds.length})`, cycle: p.cycle, sparsity: p.sparsity, accuracy: p.accuracyMean, accuracyStd: p.accuracyStd, n: p.n, bestParticle: p.bestParticleMean, x: p.xMean })),
      );
    };
    load()
      .then((r) => !stale && setRows(r))
      .catch((e: Error) => !stale && setError(e.message));
    return () => {
      stale = true;
    };
  }, [params.toString(), token.value]);

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null) next.delete(name);
    else next.set(name, value);
    navigate(`#/frontier?${next.toString()}`);
  };

  return (
    <section aria-labelledby="frontier-title">
      <div class="view-header">
        <h1 id="frontier-title">Frontier</h1>
        <span class="muted">{ids.length ? `${ids.length} experiment${ids.length === 1 ? "" : "s"} selected` : "all experiments"}</span>
        <div class="spacer" />
        <label class="inline">
          Group
          <select value={group} onChange={(e) => setParam("group", (e.target as HTMLSelectElement).value)}>
            {GROUPINGS.map(([value, label]) => (
              <option value={value} disabled={!value && ids.length === 0}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label class="inline">
          Against
          <select value={axis.name} onChange={(e) => setParam("x", (e.target as HTMLSelectElement).value)} data-testid="frontier-axis">
            {FRONTIER_AXES.map((choice) => (
              <option value={choice.name}>{choice.choice}</option>
            ))}
          </select>
        </label>
        <label class="inline">
          <input type="checkbox" checked={showBest} onChange={() => setParam("best", showBest ? null : "1")} /> best particle
        </label>
        <button disabled={!rows?.length} onClick={() => rows && saveBlob(new Blob([rowsToCsv(rows, axis.name)], { type: "text/csv" }), "frontier.csv")}>
          Download CSV
        </button>
      </div>
      {ids.length === 0 && !params.get("group") && (
        <p class="muted">
          Showing every experiment grouped by method, model and data set. Select experiments in the <a href={href("experiments")}>table</a> to compare them one by one.
        </p>
      )}
      {error && <p class="error-text">Could not load the frontier: {error}</p>}
      {rows && rows.length === 0 && <p class="empty">No completed cycles to plot yet.</p>}
      {rows && rows.length > 0 && axis.name !== "sparsity" && rows.every((r) => r.x === null) && (
        <p class="empty">No cycle of these experiments has an inference profile yet (workers measure one per cycle; `swamp run --no-profile` skips it).</p>
      )}
      {rows && rows.length > 0 && <FrontierPlot rows={rows} grouped={Boolean(group)} showBest={showBest} axis={axis} />}
      {rows && rows.length > 0 && <FrontierTable rows={rows} axis={axis} />}
    </section>
  );
}

/** Above this many series uPlot's legend (a row per series) gives way to a one-line hover readout. */
const LEGEND_LIMIT = 24;
/** Rows of the data table drawn at first; the rest on request. */
const TABLE_ROWS = 400;

function FrontierPlot({ rows, grouped, showBest, axis }: { rows: FrontierRow[]; grouped: boolean; showBest: boolean; axis: FrontierAxis }) {
  const names = [...new Set(rows.map((r) => r.series))];
  const readout = useRef<HTMLParagraphElement>(null);
  const { options, data } = useMemo(() => {
    const tables: uPlot.AlignedData[] = [];
    const xValue = (_u: uPlot, v: number | null) => (v === null ? "–" : axis.name === "sparsity" ? `${v.toPrecision(3)}%` : axis.format(v));
    const series: uPlot.Series[] = [{ label: axis.choice, value: xValue }];
    const bands: uPlot.Band[] = [];
    const accuracyValue = (_u: uPlot, v: number | null) => (v === null ? "–" : `${v.toFixed(2)}%`);
    names.forEach((name, index) => {
      // On a cost axis, cycles without a profile have no place.
      const points = rows.filter((r) => r.series === name && axis.plotted(r.x) !== null).sort((a, b) => a.sparsity - b.sparsity);
      const x = points.map((p) => axis.plotted(p.x)!);
      // uPlot's join wants ascending x.
      const order = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]!);
      const pick = <T,>(values: T[]) => order.map((i) => values[i]!);
      const columns: Array<Array<number | null>> = [pick(x), pick(points.map((p) => p.accuracy * 100))];
      const base = series.length;
      series.push({ label: name, stroke: colour(index), width: 2, value: accuracyValue, points: { show: true, size: 5 } });
      if (grouped) {
        columns.push(pick(points.map((p) => (p.accuracyStd === null ? p.accuracy * 100 : (p.accuracy + p.accuracyStd) * 100))));
        columns.push(pick(points.map((p) => (p.accuracyStd === null ? p.accuracy * 100 : (p.accuracy - p.accuracyStd) * 100))));
        series.push({ label: `${name} +std`, stroke: "transparent", class: "band-edge", value: accuracyValue, points: { show: false } });
        series.push({ label: `${name} −std`, stroke: "transparent", class: "band-edge", value: accuracyValue, points: { show: false } });
        bands.push({ series: [base + 1, base + 2], fill: translucent(colour(index)) });
      }
      if (showBest) {
        columns.push(pick(points.map((p) => (p.bestParticle === null ? null : p.bestParticle * 100))));
        series.push({ label: `${name} best particle`, stroke: colour(index), width: 1, dash: [5, 4], value: accuracyValue, points: { show: false } });
      }
      tables.push(columns as uPlot.AlignedData);
    });
    const joined = uPlot.join(tables);
    const manySeries = names.length > LEGEND_LIMIT;
    // With many series: name the one nearest the cursor, and its value, in one line.
    const hover = (u: uPlot) => {
      const index = u.cursor.idx;
      const element = readout.current;
      if (!element) return;
      if (index === null || index === undefined || u.cursor.top === undefined || u.cursor.top < 0) return void (element.textContent = "Hover to read values.");
      let best: { name: string; value: number; distance: number } | null = null;
      for (let s = 1; s < u.series.length; s++) {
        const value = u.data[s]?.[index];
        const label = u.series[s]!.label;
        if (value === null || value === undefined || typeof label !== "string" || u.series[s]!.class === "band-edge") continue;
        const distance = Math.abs(u.valToPos(value, "y") - u.cursor.top);
        if (!best || distance < best.distance) best = { name: label, value, distance };
      }
      const x = u.data[0][index]!;
      element.textContent = best ? `${best.name}: ${best.value.toFixed(2)}% at ${axis.name === "sparsity" ? `${x.toPrecision(3)}% remaining weights` : `${axis.format(x)} ${axis.column.toLowerCase()}`}` : "";
    };
    const options: Omit<uPlot.Options, "width" | "height"> = {
      scales: { x: { time: false, distr: 3, log: 10, dir: axis.direction } },
      axes: [
        {
          label: axis.label,
          size: 50,
          values: (_u, ticks) =>
            ticks.map((t) => (t === null || t === undefined ? "" : axis.name === "sparsity" ? (t >= 1 ? String(+t.toPrecision(3)) : String(+t.toPrecision(1))) : axis.format(t))),
        },
        { label: "test accuracy (%)", size: 60 },
      ],
      series: series.map((s, i) => (i === 0 ? s : { ...s, spanGaps: true })),
      bands,
      cursor: { points: { size: 8 } },
      legend: { show: !manySeries },
      hooks: manySeries ? { setCursor: [hover] } : {},
    };
    return { options, data: joined };
  }, [rows, grouped, showBest, axis]);
  return (
    <div class="panel">
      <Chart options={options} data={data} height={380} label={`Test accuracy against ${axis.label}`} testId="frontier-chart" />
      <p class="muted small" ref={readout} data-testid="frontier-hover">
        Hover to read values.
      </p>
      <p class="muted small">{grouped ? "Lines are group means; bands are ± one sample standard deviation over the group's experiments." : ""}</p>
    </div>
  );
}

function FrontierTable({ rows, axis }: { rows: FrontierRow[]; axis: FrontierAxis }) {
  const [all, setAll] = useState(false);
  const shown = all ? rows : rows.slice(0, TABLE_ROWS);
  return (
    <div class="panel">
      <h2>Plotted values</h2>
      <div class="table-wrap short">
        <table class="data-table compact" data-testid="frontier-data">
          <thead>
            <tr>
              <th>Series</th>
              <th class="num">Cycle</th>
              <th class="num">Remaining</th>
              {axis.name !== "sparsity" && <th class="num">{axis.column}</th>}
              <th class="num">Accuracy</th>
              <th class="num">± std</th>
              <th class="num">n</th>
              <th class="num">Best particle</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr data-series={r.series} data-cycle={r.cycle} data-sparsity={r.sparsity} data-accuracy={r.accuracy} data-x={r.x ?? ""}>
                <td>{r.series}</td>
                <td class="num">{r.cycle}</td>
                <td class="num">{remaining(r.sparsity)}</td>
                {axis.name !== "sparsity" && <td class="num">{axis.format(r.x)}</td>}
                <td class="num">{percent(r.accuracy, 2)}</td>
                <td class="num">{r.accuracyStd === null ? "–" : percent(r.accuracyStd, 2)}</td>
                <td class="num">{r.n}</td>
                <td class="num">{percent(r.bestParticle, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {shown.length < rows.length && (
          <p class="empty">
            {shown.length} of {rows.length} rows shown.{" "}
            <button class="link-button" onClick={() => setAll(true)}>
              Show all
            </button>{" "}
            (the CSV download holds every row)
          </p>
        )}
      </div>
    </div>
  );
}
