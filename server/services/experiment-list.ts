import type { EntityManager, SelectQueryBuilder } from "typeorm";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { ExperimentRow } from "../entities/experiment.js";
import { InvalidInputError } from "./errors.js";
import { configPathProblem, knownConfigPaths } from "../../schema/sweep-grid.js";
import { requireIntInRange, requireUuid, truncate } from "./validation.js";

export interface ExperimentFilter {
  ids?: readonly string[];
  statuses?: readonly ExperimentStatus[];
  /** Experiments carrying every one of these tags. */
  tags?: readonly string[];
  methods?: readonly string[];
  models?: readonly string[];
  datasets?: readonly string[];
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  configHash?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  sweepId?: string;
  /** Name of the token that created it. */
  owner?: string;
  /** Experiments carrying at least one of these tags. */
  tagsAny?: readonly string[];
  /** All must hold. */
  config?: readonly ConfigFieldCondition[];
  /** On the best averaged-model accuracy so far (experiments without one never match). */
  accuracyMin?: number;
  accuracyMax?: number;
  /** On the sparsity of the last completed cycle. */
  sparsityMin?: number;
  sparsityMax?: number;
}

/** A config field equal to a JSON value, or to one of several (compared as JSON: 4 ≠ "4"). */
export interface ConfigFieldCondition {
  path: string;
  equals?: unknown;
  in?: readonly unknown[];
}

export const MAX_CONFIG_CONDITIONS = 20;
export const MAX_CONFIG_VALUES = 1_000;

export const EXPERIMENT_ORDER_FIELDS = ["createdAt", "finalSparsity", "bestAccuracy"] as const;
export type ExperimentOrderField = (typeof EXPERIMENT_ORDER_FIELDS)[number];
export type SortDirection = "asc" | "desc";

export interface ExperimentOrder {
  field: ExperimentOrderField;
  direction: SortDirection;
}

/**
 * Each order's SQL expression and the type its cursor value is cast back to. Best accuracy sorts
 * missing values as -1 (below every real accuracy), matching the expression index.
 */
const ORDER_EXPRESSIONS: Record<ExperimentOrderField, { sql: string; type: string }> = {
  createdAt: { sql: "e.created_at", type: "timestamptz" },
  finalSparsity: { sql: "e.final_sparsity", type: "double precision" },
  bestAccuracy: { sql: "coalesce(e.best_accuracy, -1)", type: "double precision" },
};

export const DEFAULT_ORDER: ExperimentOrder = { field: "createdAt", direction: "desc" };
export const MAX_PAGE_SIZE = 500;

export interface ListExperimentsInput {
  filter?: ExperimentFilter;
  orderBy?: ExperimentOrder;
  first: number;
  after?: string | null;
}

export interface ExperimentPage {
  rows: ExperimentRow[];
  /** The cursor of each row, in order. */
  cursors: string[];
  hasNextPage: boolean;
}

export interface CursorContent {
  o: string;
  v: string;
  id: string;
}

/**
 * Keyset pagination: a cursor holds the exact sort value (as PostgreSQL prints it, so no precision
 * is lost) and the id of the last row seen; the next page starts strictly after that pair. Rows
 * inserted meanwhile never shift later pages, so paging leaves no gap and repeats nothing.
 */
export async function listExperiments(manager: EntityManager, input: ListExperimentsInput): Promise<ExperimentPage> {
  const first = requireIntInRange(input.first, "first", 1, MAX_PAGE_SIZE);
  const order = input.orderBy ?? DEFAULT_ORDER;
  const expression = ORDER_EXPRESSIONS[order.field];
  const orderKey = `${order.field}:${order.direction}`;
  const query = manager.getRepository(ExperimentRow).createQueryBuilder("e");
  applyExperimentFilter(query, input.filter ?? {});
  if (input.after) {
    const cursor = decodeCursor(input.after, orderKey);
    const comparison = order.direction === "desc" ? "<" : ">";
    query.andWhere(`(${expression.sql}, e.id) ${comparison} (CAST(:cursorValue AS ${expression.type}), CAST(:cursorId AS uuid))`, {
      cursorValue: cursor.v,
      cursorId: cursor.id,
    });
  }
  const direction = order.direction === "desc" ? "DESC" : "ASC";
  query
    .addSelect(`(${expression.sql})::text`, "sort_key")
    .orderBy(expression.sql, direction)
    .addOrderBy("e.id", direction)
    .limit(first + 1);
  const { entities, raw } = await query.getRawAndEntities<{ sort_key: string; e_id: string }>();
  const hasNextPage = entities.length > first;
  const rows = entities.slice(0, first);
  const sortKeys = new Map(raw.map((r) => [r.e_id, r.sort_key]));
  const cursors = rows.map((row) => encodeCursor({ o: orderKey, v: sortKeys.get(row.id)!, id: row.id }));
  return { rows, cursors, hasNextPage };
}

export async function countExperiments(manager: EntityManager, filter: ExperimentFilter): Promise<number> {
  const query = manager.getRepository(ExperimentRow).createQueryBuilder("e");
  applyExperimentFilter(query, filter);
  return query.getCount();
}

/** Ids of the experiments matching a filter, newest first, at most `limit`. */
export async function findExperimentIds(manager: EntityManager, filter: ExperimentFilter, limit: number): Promise<string[]> {
  const query = manager.getRepository(ExperimentRow).createQueryBuilder("e").select("e.id", "id");
  applyExperimentFilter(query, filter);
  const rows: Array<{ id: string }> = await query.orderBy("e.created_at", "DESC").addOrderBy("e.id", "DESC").limit(limit).getRawMany();
  return rows.map((r) => r.id);
}

export function applyExperimentFilter(query: SelectQueryBuilder<ExperimentRow>, filter: ExperimentFilter): void {
  if (filter.ids) query.andWhere("e.id IN (:...ids)", { ids: filter.ids.length > 0 ? filter.ids.map((id, i) => requireUuid(id, `filter.ids.${i}`)) : [null] });
  if (filter.statuses && filter.statuses.length > 0) query.andWhere("e.status IN (:...statuses)", { statuses: filter.statuses });
  if (filter.tags && filter.tags.length > 0) query.andWhere("e.tags @> CAST(:tags AS text[])", { tags: filter.tags });
  if (filter.methods && filter.methods.length > 0) query.andWhere("e.method IN (:...methods)", { methods: filter.methods });
  if (filter.models && filter.models.length > 0) query.andWhere("e.model IN (:...models)", { models: filter.models });
  if (filter.datasets && filter.datasets.length > 0) query.andWhere("e.dataset IN (:...datasets)", { datasets: filter.datasets });
  if (filter.nameContains !== undefined && filter.nameContains !== "") {
    query.andWhere("e.name ILIKE :namePattern", { namePattern: `%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
  }
  if (filter.configHash !== undefined) query.andWhere("e.config_hash = :configHash", { configHash: filter.configHash });
  if (filter.createdAfter) query.andWhere("e.created_at >= :createdAfter", { createdAfter: filter.createdAfter });
  if (filter.createdBefore) query.andWhere("e.created_at < :createdBefore", { createdBefore: filter.createdBefore });
  if (filter.sweepId !== undefined) query.andWhere("e.sweep_id = :sweepId", { sweepId: requireUuid(filter.sweepId, "filter.sweepId") });
  if (filter.owner !== undefined) query.andWhere("e.owner = :owner", { owner: filter.owner });
  if (filter.tagsAny && filter.tagsAny.length > 0) query.andWhere("e.tags && CAST(:tagsAny AS text[])", { tagsAny: filter.tagsAny });
  const ranges = [
    ["accuracyMin", "e.best_accuracy >=", filter.accuracyMin],
    ["accuracyMax", "e.best_accuracy <=", filter.accuracyMax],
    ["sparsityMin", "e.final_sparsity >=", filter.sparsityMin],
    ["sparsityMax", "e.final_sparsity <=", filter.sparsityMax],
  ] as const;
  for (const [name, comparison, value] of ranges) {
    if (value === undefined) continue;
    if (!Number.isFinite(value)) throw InvalidInputError.single(`filter.${name}`, "must be a finite number");
    query.andWhere(`${comparison} :${name}`, { [name]: value });
  }
  const conditions = filter.config ?? [];
  if (conditions.length > MAX_CONFIG_CONDITIONS) throw InvalidInputError.single("filter.config", `at most ${MAX_CONFIG_CONDITIONS} conditions`);
  conditions.forEach((condition, i) => {
    const where = `filter.config.${i}`;
    const path = requireConfigPath(condition.path, `${where}.path`);
    const hasEquals = condition.equals !== undefined && condition.equals !== null;
    const hasIn = condition.in !== undefined && condition.in !== null;
    if (hasEquals === hasIn) throw InvalidInputError.single(where, "give exactly one of equals or in");
    // The path and values are bound parameters: jsonb `#>` takes the path as text[].
    if (hasEquals) {
      query.andWhere(`e.config #> CAST(:configPath${i} AS text[]) = CAST(:configValue${i} AS jsonb)`, { [`configPath${i}`]: path, [`configValue${i}`]: JSON.stringify(condition.equals) });
    } else {
      const values = condition.in!;
      if (values.length > MAX_CONFIG_VALUES) throw InvalidInputError.single(`${where}.in`, `at most ${MAX_CONFIG_VALUES} values`);
      query.andWhere(`e.config #> CAST(:configPath${i} AS text[]) = ANY(CAST(:configValues${i} AS jsonb[]))`, {
        [`configPath${i}`]: path,
        [`configValues${i}`]: values.map((value) => JSON.stringify(value)),
      });
    }
  });
}

/** Checks a dotted config path (shape and that configs have it) and returns it as jsonb path parts. */
export function requireConfigPath(path: string, field: string): string[] {
  const problem = configPathProblem(path);
  if (problem) throw InvalidInputError.single(field, `"${truncate(path)}" ${problem}`);
  if (!knownConfigPaths().has(path)) throw InvalidInputError.single(field, `"${path}" is not a config path`);
  return path.split(".");
}

const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)?$/;
const NUMBER_TEXT = /^-?(\d+(\.\d+)?([eE][+-]?\d+)?|Infinity)$/;

export function encodeCursor(content: CursorContent): string {
  return Buffer.from(JSON.stringify(content)).toString("base64url");
}

export function decodeCursor(cursor: string, orderKey: string): CursorContent {
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw InvalidInputError.single("after", "is not a cursor returned by this list");
  }
  const c = content as Partial<CursorContent> | null;
  if (!c || typeof c.o !== "string" || typeof c.v !== "string" || typeof c.id !== "string") {
    throw InvalidInputError.single("after", "is not a cursor returned by this list");
  }
  if (c.o !== orderKey) throw InvalidInputError.single("after", `belongs to a list ordered by ${c.o}, not ${orderKey}`);
  requireUuid(c.id, "after");
  const valueShape = orderKey.startsWith("createdAt") ? TIMESTAMP_TEXT : NUMBER_TEXT;
  if (!valueShape.test(c.v)) {
    throw InvalidInputError.single("after", "is not a cursor returned by this list");
  }
  return c as CursorContent;
}
