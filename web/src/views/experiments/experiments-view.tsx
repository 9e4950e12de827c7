import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { DATASET_NAMES, METHOD_NAMES, MODEL_NAMES } from "../../../../schema/config-names.ts";
import { request, subscribe } from "../../api/graphql-client.ts";
import { ACTIVE_STATUSES, StatusBadge } from "../../components/status.tsx";
import { percent, shortDateTime, signedPoints } from "../../format.ts";
import { href, listParam, navigate, route } from "../../router.ts";
import { say, token } from "../../store.ts";
import { runAction } from "../experiment/actions.ts";
import { CreateExperiment } from "./create-experiment.tsx";
import documents from "./experiments.graphql";

export interface ExperimentRow {
  id: string;
  name: string;
  method: string;
  model: string;
  dataset: string;
  status: string;
  cyclesCompleted: number;
  cyclesPlanned: number;
  finalSparsity: number;
  bestAccuracy: number | null;
  tags: string[];
  owner: string | null;
  createdAt: string;
  sweepId: string | null;
}

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: ExperimentRow[];
}

interface PlotColumns {
  accuracy: number[];
  particleAccuracies: Array<Array<number | null>>;
}

const STATUSES = ["RUNNING", "QUEUED", "COMPLETED", "FAILED", "CANCELLED"];
const SORTS: Record<string, { field: string; label: string }> = {
  created: { field: "CREATED_AT", label: "Created" },
  sparsity: { field: "FINAL_SPARSITY", label: "Sparsity" },
  accuracy: { field: "BEST_ACCURACY", label: "Accuracy" },
};
const PAGE_SIZE = 50;
/** Cursors of the pages before the current one, for "Previous". */
const previousCursors: string[] = [];

/** The experiment's latest cycle: averaged-model accuracy minus its best particle's. */
function latestGap(plot: PlotColumns): number | null {
  const last = plot.accuracy.length - 1;
  if (last < 0) return null;
  const particles = (plot.particleAccuracies[last] ?? []).filter((a): a is number => a !== null);
  // One particle (IMP) has nothing to compare its average with.
  return particles.length < 2 ? null : plot.accuracy[last]! - Math.max(...particles);
}

export function ExperimentsView() {
  const params = route.value.params;
  const filterKey = params.toString();
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [gaps, setGaps] = useState<Map<string, number | null>>(new Map());
  const [sweeps, setSweeps] = useState<Array<{ id: string; name: string; size: number }>>([]);
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  /** Cycles completed per row when its best-particle gap was last read. */
  const cyclesSeen = useRef(new Map<string, number>());
  const selected = listParam(params, "sel");
  const sort = params.get("sort") ?? "created.desc";
  const [sortKey, sortDirection] = sort.split(".") as [string, string];

  const update = (changes: Record<string, string | null>, replace = false) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!("after" in changes)) {
      next.delete("after");
      previousCursors.length = 0;
    }
    const search = next.toString();
    navigate(`#/experiments${search ? `?${search}` : ""}`, { replace });
  };

  const filter = useMemo(() => {
    const f: Record<string, unknown> = {};
    const list = (name: string) => listParam(params, name);
    if (list("status").length) f.statuses = list("status");
    if (list("method").length) f.methods = list("method");
    if (list("model").length) f.models = list("model");
    if (list("dataset").length) f.datasets = list("dataset");
    if (list("tags").length) f.tags = list("tags");
    if (params.get("q")) f.nameContains = params.get("q");
    if (params.get("sweep")) f.sweepId = params.get("sweep");
    return f;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey]);

  useEffect(() => {
    let stale = false;
    const orderBy = { field: SORTS[sortKey]?.field ?? "CREATED_AT", direction: sortDirection === "asc" ? "ASC" : "DESC" };
    request<{ experiments: Page }>(documents, "ExperimentsPage", { first: PAGE_SIZE, after: params.get("after"), filter, orderBy })
      .then((data) => {
        if (stale) return;
        setPage(data.experiments);
        setError(null);
        for (const row of data.experiments.nodes) cyclesSeen.current.set(row.id, row.cyclesCompleted);
        const ids = data.experiments.nodes.filter((n) => n.cyclesCompleted > 0).map((n) => n.id);
        if (ids.length > 0) void loadGaps(ids, () => stale);
      })
      .catch((e: Error) => !stale && setError(e.message));
    return () => {
      stale = true;
    };
  }, [filter, sort, params.get("after"), token.value, reload]);

  useEffect(() => {
    request<{ sweeps: { edges: Array<{ node: { id: string; name: string; size: number } }> } }>(documents, "SweepChoices")
      .then((data) => setSweeps(data.sweeps.edges.map((e) => e.node)))
      .catch(() => undefined);
  }, [token.value]);

  const loadGaps = async (ids: string[], isStale: () => boolean = () => false) => {
    try {
      const data = await request<{ frontier: Array<{ experimentId: string; plot: PlotColumns }> }>(documents, "ExperimentsGaps", { ids });
      if (isStale()) return;
      setGaps((old) => {
        const next = new Map(old);
        for (const series of data.frontier) next.set(series.experimentId, latestGap(series.plot));
        return next;
      });
    } catch {
      // the column stays empty
    }
  };

  // Live rows: each queued or running experiment on the page follows experimentUpdated.
  const activeIds = (page?.nodes ?? []).filter((n) => ACTIVE_STATUSES.has(n.status)).map((n) => n.id);
  const activeKey = activeIds.join(",");
  useEffect(() => {
    const stops = activeIds.map((id) =>
      subscribe<{ experimentUpdated: ExperimentRow }>(documents, "ExperimentRowUpdated", { id }, (data) => {
        const row = data.experimentUpdated;
        setPage((old) => (old ? { ...old, nodes: old.nodes.map((n) => (n.id === row.id ? row : n)) } : old));
        if (cyclesSeen.current.get(row.id) !== row.cyclesCompleted) {
          cyclesSeen.current.set(row.id, row.cyclesCompleted);
          if (row.cyclesCompleted > 0) void loadGaps([row.id]);
        }
      }),
    );
    return () => stops.forEach((stop) => stop());
  }, [activeKey, token.value]);

  const toggle = (id: string) => {
    const next = selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id];
    update({ sel: next.join(",") || null, after: params.get("after") }, true);
  };
  const allOnPage = (page?.nodes ?? []).map((n) => n.id);
  const allSelected = allOnPage.length > 0 && allOnPage.every((id) => selected.includes(id));

  const act = async (action: "cancel" | "retry" | "delete") => {
    if (action === "delete" && !confirm(`Delete ${selected.length} experiment(s) with their cycles, metrics and artifacts?`)) return;
    const done = await runAction(action, selected);
    if (done > 0) say(`${action === "delete" ? "deleted" : action === "cancel" ? "cancelled" : "queued again"}: ${done} experiment(s)`);
    if (action === "delete") update({ sel: null });
    setReload((r) => r + 1);
  };

  const sortHeader = (key: string) => {
    const active = sortKey === key;
    const direction = active && sortDirection === "desc" ? "asc" : "desc";
    return (
      <th aria-sort={active ? (sortDirection === "asc" ? "ascending" : "descending") : "none"} class="num">
        <button class="sort-button" onClick={() => update({ sort: `${key}.${direction}` })}>
          {SORTS[key]!.label} {active ? (sortDirection === "asc" ? "▲" : "▼") : ""}
        </button>
      </th>
    );
  };

  return (
    <section aria-labelledby="experiments-title">
      <div class="view-header">
        <h1 id="experiments-title">Experiments</h1>
        <span class="muted" data-testid="total-count">
          {page ? `${page.totalCount} experiment${page.totalCount === 1 ? "" : "s"}` : ""}
        </span>
        <div class="spacer" />
        <button class="primary" onClick={() => setCreating(true)}>
          New experiment
        </button>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name
          <input type="search" placeholder="contains…" value={params.get("q") ?? ""} onInput={(e) => update({ q: (e.target as HTMLInputElement).value }, true)} />
        </label>
        <Choice label="Status" value={params.get("status")} options={STATUSES.map((s) => [s, s.toLowerCase()])} onChange={(v) => update({ status: v })} />
        <Choice label="Method" value={params.get("method")} options={METHOD_NAMES.map((m) => [m, m])} onChange={(v) => update({ method: v })} />
        <Choice label="Model" value={params.get("model")} options={MODEL_NAMES.map((m) => [m, m])} onChange={(v) => update({ model: v })} />
        <Choice label="Data set" value={params.get("dataset")} options={DATASET_NAMES.map((d) => [d, d])} onChange={(v) => update({ dataset: v })} />
        <label>
          Tags
          <input type="text" placeholder="all of: a, b" value={params.get("tags") ?? ""} onChange={(e) => update({ tags: (e.target as HTMLInputElement).value })} />
        </label>
        <Choice label="Sweep" value={params.get("sweep")} options={sweeps.map((s) => [s.id, `${s.name} (${s.size})`])} onChange={(v) => update({ sweep: v })} />
      </form>
      <div class="toolbar" aria-live="polite">
        <span>{selected.length > 0 ? `${selected.length} selected` : "Select experiments to compare or act on them"}</span>
        <a class={`button${selected.length === 0 ? " disabled" : ""}`} aria-disabled={selected.length === 0} href={selected.length ? href("frontier", { ids: selected }) : undefined}>
          Compare frontiers
        </a>
        <button disabled={selected.length === 0} onClick={() => act("cancel")}>
          Cancel
        </button>
        <button disabled={selected.length === 0} onClick={() => act("retry")}>
          Retry
        </button>
        <button disabled={selected.length === 0} class="danger" onClick={() => act("delete")}>
          Delete
        </button>
        {selected.length > 0 && (
          <button class="link-button" onClick={() => update({ sel: null, after: params.get("after") }, true)}>
            clear selection
          </button>
        )}
      </div>
      {error && <p class="error-text">Could not load experiments: {error}</p>}
      <div class="table-wrap">
        <table class="data-table" data-testid="experiments-table">
          <thead>
            <tr>
              <th class="check">
                <input
                  type="checkbox"
                  aria-label="Select every experiment on this page"
                  checked={allSelected}
                  onChange={() => update({ sel: (allSelected ? selected.filter((s) => !allOnPage.includes(s)) : [...new Set([...selected, ...allOnPage])]).join(",") || null, after: params.get("after") }, true)}
                />
              </th>
              <th>Name</th>
              <th>Method</th>
              <th>Model</th>
              <th>Data set</th>
              <th>Status</th>
              <th class="num">Cycle</th>
              {sortHeader("sparsity")}
              {sortHeader("accuracy")}
              <th class="num" title="Latest cycle: averaged model's accuracy minus the best particle's">
                Avg − best
              </th>
              <th>Tags</th>
              <th>Owner</th>
              {sortHeader("created")}
            </tr>
          </thead>
          <tbody>
            {page?.nodes.map((row) => (
              <tr data-experiment-id={row.id} class={selected.includes(row.id) ? "selected" : ""}>
                <td class="check">
                  <input type="checkbox" aria-label={`Select ${row.name}`} checked={selected.includes(row.id)} onChange={() => toggle(row.id)} />
                </td>
                <td class="name">
                  <a href={href(`experiments/${encodeURIComponent(row.id)}`)}>{row.name}</a>
                </td>
                <td>{row.method}</td>
                <td>{row.model}</td>
                <td>{row.dataset}</td>
                <td>
                  <StatusBadge status={row.status} />
                </td>
                <td class="num" data-col="cycle">
                  <Progress done={row.cyclesCompleted} planned={row.cyclesPlanned} />
                </td>
                <td class="num">{percent(row.finalSparsity)}</td>
                <td class="num">{percent(row.bestAccuracy, 2)}</td>
                <td class="num">{signedPoints(gaps.get(row.id) ?? null)}</td>
                <td class="tags" title={row.tags.join(", ")}>
                  {row.tags.map((t) => (
                    <span class="tag">{t}</span>
                  ))}
                </td>
                <td class="muted owner" title={row.owner ?? "the admin token"}>{row.owner ?? "admin"}</td>
                <td class="num muted" title={row.createdAt}>{shortDateTime(row.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page && page.nodes.length === 0 && <p class="empty">No experiments match. Create one with “New experiment” or `swamp run --server`.</p>}
        {!page && !error && <p class="empty">Loading…</p>}
      </div>
      <div class="pager">
        <button
          disabled={!params.get("after")}
          onClick={() => update({ after: previousCursors.pop() ?? null })}
        >
          ← Previous
        </button>
        <button
          disabled={!page?.pageInfo.hasNextPage}
          onClick={() => {
            previousCursors.push(params.get("after") ?? "");
            update({ after: page!.pageInfo.endCursor });
          }}
        >
          Next →
        </button>
      </div>
      {creating && <CreateExperiment onClose={() => setCreating(false)} />}
    </section>
  );
}

function Progress({ done, planned }: { done: number; planned: number }) {
  return (
    <span class="progress" title={`${done} of ${planned} cycles completed`}>
      <span class="progress-text">
        {done}/{planned}
      </span>
      <span class="progress-bar" aria-hidden="true">
        <span style={{ width: `${planned ? (100 * done) / planned : 0}%` }} />
      </span>
    </span>
  );
}

function Choice({ label, value, options, onChange }: { label: string; value: string | null; options: Array<[string, string]>; onChange: (value: string | null) => void }) {
  return (
    <label>
      {label}
      <select value={value ?? ""} onChange={(e) => onChange((e.target as HTMLSelectElement).value || null)}>
        <option value="">any</option>
        {options.map(([v, text]) => (
          <option value={v}>{text}</option>
        ))}
      </select>
    </label>
  );
}
