/**
 * Sweeps: a base config and a grid of config paths to value lists, expanded to the cross product
 * of experiments. Shared by `swamp sweep` (which runs them locally) and the server's createSweep,
 * so both expand a grid to exactly the same configs, in the same order, with the same names.
 */
import { z } from "zod";
import { experimentConfigSchema, parseExperimentConfig, type ConfigProblem, type ExperimentConfig } from "./config.js";

export const MAX_SWEEP_SIZE = 1_000;
export const MAX_CONFIG_PATH_DEPTH = 8;
const CONFIG_PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
const SWEEP_NAME = /^[A-Za-z0-9._-]+$/;
/** Leaves room for `-<index>` within the 200 characters an experiment name may have. */
export const MAX_SWEEP_NAME_LENGTH = 190;

/** Grid keys the sweep sets itself. */
const RESERVED_GRID_PATHS = new Set(["name", "version"]);

export interface SweepPoint {
  /** Position in the cross product, from 0; the first grid key varies slowest. */
  index: number;
  /** The grid's value for each of its paths at this point. */
  assignment: Record<string, unknown>;
  config: ExperimentConfig;
}

export type SweepExpansion = { ok: true; points: SweepPoint[] } | { ok: false; problems: ConfigProblem[] };

/**
 * Checks a config path's shape (dotted identifiers, bounded depth), so that it can be used as a
 * text[] parameter of jsonb `#>` and in messages. Returns the reason it is not valid, or null.
 */
export function configPathProblem(path: string): string | null {
  if (!CONFIG_PATH.test(path)) return "must be dotted names of letters, digits and '_' (e.g. method.name)";
  if (path.split(".").length > MAX_CONFIG_PATH_DEPTH) return `must have at most ${MAX_CONFIG_PATH_DEPTH} parts`;
  return null;
}

/** Every path a config may hold (objects and their fields), e.g. `method`, `method.name`, `training.lr`. */
export function knownConfigPaths(): ReadonlySet<string> {
  knownPaths ??= collectPaths(experimentConfigSchema, "");
  return knownPaths;
}
let knownPaths: Set<string> | undefined;

function collectPaths(schema: z.ZodTypeAny, prefix: string, into = new Set<string>()): Set<string> {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    for (const [key, field] of Object.entries(inner.shape as Record<string, z.ZodTypeAny>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      into.add(path);
      collectPaths(field, path, into);
    }
  }
  return into;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  if (schema instanceof z.ZodEffects) return unwrap(schema.innerType());
  if (schema instanceof z.ZodDefault) return unwrap(schema._def.innerType);
  if (schema instanceof z.ZodOptional) return unwrap(schema.unwrap());
  return schema;
}

/** The experiment name of point `index` of sweep `sweepName`. */
export function sweepExperimentName(sweepName: string, index: number): string {
  return `${sweepName}-${index}`;
}

/**
 * Expands base × grid into validated configs, or returns every problem: the grid's own (paths
 * `grid.<key>`) first; else each invalid point's (paths `points.<index>.<field path>`, with the
 * point's grid values in the message). Nothing is partially returned.
 */
export function expandSweep(sweepName: string, base: unknown, grid: unknown, extraTags: readonly string[] = []): SweepExpansion {
  const problems = sweepShapeProblems(sweepName, base, grid);
  if (problems.length > 0) return { ok: false, problems };
  const entries = Object.entries(grid as Record<string, unknown[]>);
  const size = entries.reduce((product, [, values]) => product * values.length, 1);
  // Shorter paths first, so a whole sub-object (`method`) is set before a field inside it (`method.particles`).
  const applyOrder = entries.map(([path]) => path).sort((a, b) => a.split(".").length - b.split(".").length);
  const points: SweepPoint[] = [];
  for (let index = 0; index < size; index++) {
    const assignment: Record<string, unknown> = {};
    let rest = index;
    for (let k = entries.length - 1; k >= 0; k--) {
      const [path, values] = entries[k]!;
      assignment[path] = values[rest % values.length];
      rest = Math.floor(rest / values.length);
    }
    const ordered = Object.fromEntries(entries.map(([path]) => [path, assignment[path]]));
    const config = structuredClone(base) as Record<string, unknown>;
    for (const path of applyOrder) setPath(config, path, structuredClone(ordered[path]));
    config.name = sweepExperimentName(sweepName, index);
    const baseTags = Array.isArray(config.tags) ? (config.tags as unknown[]) : [];
    config.tags = [...baseTags, ...extraTags.filter((tag) => !baseTags.includes(tag))];
    const parsed = parseExperimentConfig(config);
    if (parsed.ok) points.push({ index, assignment: ordered, config: parsed.config });
    else {
      const where = `grid point ${index} ${JSON.stringify(ordered)}`;
      for (const p of parsed.problems) problems.push({ path: `points.${index}.${p.path}`, message: `${p.message} (at ${where})` });
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, points };
}

function sweepShapeProblems(sweepName: string, base: unknown, grid: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sweepName.length === 0 || sweepName.length > MAX_SWEEP_NAME_LENGTH || !SWEEP_NAME.test(sweepName)) {
    problems.push({ path: "name", message: `must be 1 to ${MAX_SWEEP_NAME_LENGTH} letters, digits, '.', '_' or '-'` });
  }
  if (base === null || typeof base !== "object" || Array.isArray(base)) problems.push({ path: "base", message: "must be a config object" });
  if (grid === null || typeof grid !== "object" || Array.isArray(grid)) {
    problems.push({ path: "grid", message: 'must be an object of config paths to value lists, e.g. {"seed": [0, 1, 2]}' });
    return problems;
  }
  const entries = Object.entries(grid as Record<string, unknown>);
  if (entries.length === 0) problems.push({ path: "grid", message: "must vary at least one config path" });
  const known = knownConfigPaths();
  let size = 1;
  for (const [path, values] of entries) {
    const shape = configPathProblem(path);
    if (shape) problems.push({ path: `grid.${path}`, message: shape });
    else if (RESERVED_GRID_PATHS.has(path)) problems.push({ path: `grid.${path}`, message: "is set by the sweep and cannot be varied" });
    else if (!known.has(path)) problems.push({ path: `grid.${path}`, message: "is not a config path" });
    if (!Array.isArray(values)) problems.push({ path: `grid.${path}`, message: "must be a list of values" });
    else if (values.length === 0) problems.push({ path: `grid.${path}`, message: "must list at least one value" });
    else size *= values.length;
  }
  if (size > MAX_SWEEP_SIZE) problems.push({ path: "grid", message: `expands to ${size} experiments; at most ${MAX_SWEEP_SIZE}` });
  return problems;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}
