import { createSourceEventStream, getOperationAST, Kind, subscribe, type ExecutionArgs, type ExecutionResult, type FieldNode, type SelectionSetNode } from "graphql";
import type { MetricColumnBatch, MetricColumnSeries } from "./metric-window.js";
import { rawPlaceholder, socketOf } from "./live-sockets.js";
import { isPackedColumnField, packedColumn, PACKED_COLUMNS } from "./packed-series.js";

/** The fields a `metricColumns` operation selects, by response key, when they are plain fields. */
interface ColumnSelection {
  signature: string;
  batch: Array<[responseKey: string, field: string]>;
  series: Array<[responseKey: string, field: string]>;
}

const BATCH_FIELDS = new Set(["experimentId", "history", "historyComplete", "series", "__typename"]);
const SERIES_FIELDS = new Set(["cycle", "particle", "key", "steps", "globalSteps", "epochs", "values", "times", ...Object.keys(PACKED_COLUMNS), "__typename"]);

/** Each batch's JSON, once per distinct selection (in practice one or two), whatever the subscribers. */
const serialised = new WeakMap<MetricColumnBatch, Map<string, Buffer>>();
let serialisations = 0;

/** Batches serialised by the fast path so far (each once per selection, not once per subscriber), for tests. */
export function columnSerialisations(): number {
  return serialisations;
}

/**
 * graphql-ws's `subscribe`: a `metricColumns` subscription whose selection is plain fields skips
 * GraphQL execution and per-subscriber serialisation; each batch is serialised once and its text
 * spliced into every subscriber's `next` message. Anything else (aliases inside, fragments,
 * directives, other fields) is executed normally, with the same batches.
 */
export async function subscribeWithColumnFastPath(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const socket = args.contextValue ? socketOf(args.contextValue as object) : null;
  const fast = socket ? columnOperation(args) : null;
  if (!socket || !fast) return subscribe(args);
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const batches = source as AsyncIterableIterator<MetricColumnBatch>;
  const { responseKey, selection } = fast;
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await batches.next();
      if (step.done) return { value: undefined, done: true };
      return { value: { data: { [responseKey]: rawPlaceholder(socket, batchJson(step.value, selection)) } }, done: false };
    },
    async return() {
      await batches.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await batches.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}

function columnOperation(args: ExecutionArgs): { responseKey: string; selection: ColumnSelection } | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation !== "subscription" || operation.directives?.length) return null;
  const roots = operation.selectionSet.selections;
  if (roots.length !== 1 || roots[0]!.kind !== Kind.FIELD) return null;
  const root = roots[0] as FieldNode;
  if (root.name.value !== "metricColumns" || root.directives?.length || !root.selectionSet) return null;
  const batch = plainFields(root.selectionSet, BATCH_FIELDS);
  if (!batch) return null;
  let series: ColumnSelection["series"] = [];
  for (const node of root.selectionSet.selections as FieldNode[]) {
    if (node.name.value !== "series") continue;
    if (!node.selectionSet) return null;
    const fields = plainFields(node.selectionSet, SERIES_FIELDS);
    if (!fields || series.length > 0) return null; // `series` twice (under aliases) is left to GraphQL
    series = fields;
  }
  const selection = { batch, series, signature: "" };
  selection.signature = JSON.stringify([batch, series]);
  return { responseKey: root.alias?.value ?? root.name.value, selection };
}

/** The selection's fields as [response key, field] when every one is a plain known field; null otherwise. */
function plainFields(set: SelectionSetNode, known: ReadonlySet<string>): Array<[string, string]> | null {
  const fields: Array<[string, string]> = [];
  const keys = new Set<string>();
  for (const node of set.selections) {
    if (node.kind !== Kind.FIELD || node.directives?.length || node.arguments?.length || !known.has(node.name.value)) return null;
    const key = node.alias?.value ?? node.name.value;
    if (keys.has(key)) return null; // merged fields are GraphQL's business
    keys.add(key);
    fields.push([key, node.name.value]);
  }
  return fields;
}

function batchJson(batch: MetricColumnBatch, selection: ColumnSelection): Buffer {
  let bySelection = serialised.get(batch);
  if (!bySelection) serialised.set(batch, (bySelection = new Map()));
  const cached = bySelection.get(selection.signature);
  if (cached !== undefined) return cached;
  serialisations++;
  const parts = selection.batch.map(([key, field]) => `${JSON.stringify(key)}:${batchFieldJson(batch, field, selection)}`);
  const json = Buffer.from(`{${parts.join(",")}}`);
  bySelection.set(selection.signature, json);
  return json;
}

function batchFieldJson(batch: MetricColumnBatch, field: string, selection: ColumnSelection): string {
  switch (field) {
    case "__typename":
      return '"MetricColumnBatch"';
    case "series":
      return `[${batch.series.map((series) => seriesJson(series, selection)).join(",")}]`;
    default:
      return JSON.stringify(batch[field as "experimentId" | "history" | "historyComplete"]);
  }
}

function seriesJson(series: MetricColumnSeries, selection: ColumnSelection): string {
  const parts = selection.series.map(([key, field]) => `${JSON.stringify(key)}:${seriesFieldJson(series, field)}`);
  return `{${parts.join(",")}}`;
}

function seriesFieldJson(series: MetricColumnSeries, field: string): string {
  if (field === "__typename") return '"MetricColumns"';
  // Base64 needs no escaping.
  if (isPackedColumnField(field)) return `"${packedColumn(series, field)}"`;
  return JSON.stringify(series[field as keyof MetricColumnSeries]);
}
