/**
 * `swamp import RUN_DIR`: uploads a finished or partial `swamp run` directory to a tracking server
 * as an experiment (server/http/run-import.ts). Each file is uploaded once, by its sha256 (what the
 * server holds already is skipped); the run's finished cycles, from cycle 0 on, are then imported
 * in one request. Importing the same directory again changes nothing, or adds the cycles the run
 * finished since.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { cycleCount, parseExperimentConfig } from "../../schema/config.js";
import type { BlobRef, ImportedCycle, RunImport, RunImportResult } from "../../schema/run-import.js";
import { exists } from "../../worker/run/files.js";
import { RunLayout } from "../../worker/run/run-layout.js";
import { runModelPath } from "../../worker/run/run-models.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp import RUN_DIR [--server URL] [--token T]
  RUN_DIR    a directory swamp run wrote (finished or not): its finished cycles are imported
  --server   the tracking server (default http://127.0.0.1:4000)
  --token    bearer token with write scope (default: SWAMP_TOKEN)`;

const DEFAULT_SERVER = "http://127.0.0.1:4000";

class ImportError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("import", USAGE, argv, { server: { type: "string" }, token: { type: "string" }, help: { type: "boolean", default: false } }, true);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`swamp import: name exactly one run directory\n${USAGE}\n`);
    return 2;
  }
  const token = values.token ?? process.env.SWAMP_TOKEN ?? "";
  if (token.length === 0) {
    process.stderr.write(`swamp import: a token with write scope is needed (--token or SWAMP_TOKEN)\n`);
    return 2;
  }
  try {
    // The server's root; a GraphQL URL (…/graphql), as other commands take, names the same server.
    const server = new ImportClient((values.server ?? DEFAULT_SERVER).replace(/\/+$/, "").replace(/\/graphql$/, ""), token);
    const result = await importDirectory(positionals[0]!, server);
    const verb = result.created ? "imported as" : result.cyclesAdded > 0 ? "added to" : "already imported as";
    process.stdout.write(
      `${positionals[0]}: ${verb} experiment ${result.experimentId} (${result.cyclesAdded} cycle(s) added; ${result.cyclesCompleted} of ${result.cyclesPlanned} cycles, ${result.status})\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ImportError) {
      process.stderr.write(`swamp import: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/** A file of the run, named by its content (read again when uploaded: a run's files may not all fit in memory). */
interface RunFile {
  path: string;
  ref: BlobRef;
}

async function importDirectory(dir: string, server: ImportClient): Promise<RunImportResult> {
  const layout = new RunLayout(dir);
  if (!exists(layout.config)) throw new ImportError(`${dir} holds no swamp run (no config.json)`, 2);
  const config = await readJson(layout.config);
  const parsed = parseExperimentConfig(config);
  if (!parsed.ok) throw new ImportError(`${layout.config} is not a valid config:\n${parsed.problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`, 2);
  if (!exists(layout.rewindWeights)) throw new ImportError(`${dir} has no rewind.swt: its pretraining never finished, so there is nothing to import yet`, 2);

  const files: RunFile[] = [];
  const add = async (path: string): Promise<BlobRef> => {
    const bytes = await readFile(path);
    const ref = { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
    files.push({ path, ref });
    return ref;
  };
  const optional = async (path: string): Promise<BlobRef | null> => (exists(path) ? add(path) : null);

  const rewind = await add(layout.rewindWeights);
  const averageOf = (cycle: number): string => {
    const path = runModelPath(layout, cycle, "average");
    if (!exists(path)) throw new ImportError(`${path} is missing: a run with storage.keep "final" keeps only its last averaged model, and an import needs every finished cycle's (keep "all" or "averages")`, 2);
    return path;
  };
  const cycles: ImportedCycle[] = [];
  // Finished cycles only (cycle.json is written last), in order: a gap ends the import.
  for (let cycle = 0; cycle < cycleCount(parsed.config) && exists(layout.cycleSummary(cycle)); cycle++) {
    const summary = (await readJson(layout.cycleSummary(cycle))) as ImportedCycle["summary"];
    const particles: ImportedCycle["particles"] = [];
    for (let particle = 0; particle < parsed.config.method.particles; particle++) {
      // A run with storage.keep "averages" or "final" deleted its particles' models; their summaries stay.
      particles.push({ summary: (await readJson(layout.particleSummary(cycle, particle))) as ImportedCycle["particles"][number]["summary"], weights: await optional(runModelPath(layout, cycle, particle)) });
    }
    cycles.push({
      summary,
      mask: await add(layout.mask(cycle)),
      weights: await add(averageOf(cycle)),
      // Only run directories of earlier versions hold a TF.js copy.
      tfjsModel: await optional(layout.legacyTfjsModelJson(cycle)),
      tfjsWeights: await optional(layout.legacyTfjsWeights(cycle)),
      particles,
    });
  }
  const metrics = await optional(layout.metrics);
  for (const file of files) await server.upload(file);
  const manifest: RunImport = { config, rewind, metrics, cycles };
  return server.importRun(manifest);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ImportError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : (error as Error).message}`, 2);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ImportError(`${path}: not valid JSON (${(error as Error).message})`, 2);
  }
}

interface ServerError {
  error?: { message?: string; field?: string | null };
}

/** The server's import routes. */
class ImportClient {
  private readonly uploaded = new Set<string>();

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Uploads a file unless the server (or this import) has its bytes already. */
  async upload(file: RunFile): Promise<void> {
    if (this.uploaded.has(file.ref.sha256)) return;
    const url = `${this.baseUrl}/import/blobs/${file.ref.sha256}`;
    const head = await this.request(url, { method: "HEAD" });
    if (head.status !== 200) {
      const bytes = await readFile(file.path);
      if (createHash("sha256").update(bytes).digest("hex") !== file.ref.sha256) throw new ImportError(`${file.path} changed while it was being imported; run swamp import again`);
      const response = await this.request(url, { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } });
      if (response.status !== 201) throw await this.failure(response, `uploading ${file.path}`);
    }
    this.uploaded.add(file.ref.sha256);
  }

  async importRun(manifest: RunImport): Promise<RunImportResult> {
    const response = await this.request(`${this.baseUrl}/import/runs`, { method: "POST", body: JSON.stringify(manifest), headers: { "content-type": "application/json" } });
    if (response.status !== 200 && response.status !== 201) throw await this.failure(response, "importing the run");
    return (await response.json()) as RunImportResult;
  }

  private async request(url: string, init: { method: string; body?: Buffer | string; headers?: Record<string, string> }): Promise<Response> {
    try {
      const response = await fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${this.token}` } });
      if (response.status === 401 || response.status === 403) throw await this.failure(response, `${init.method} ${url}`);
      return response;
    } catch (error) {
      if (error instanceof ImportError) throw error;
      throw new ImportError(`could not reach ${this.baseUrl}: ${(error as Error).message}`);
    }
  }

  private async failure(response: Response, what: string): Promise<ImportError> {
    const body = (await response.json().catch(() => ({}))) as ServerError;
    const message = body.error?.message ?? (response.status === 401 ? "the token was not accepted" : response.status === 403 ? "the token lacks write scope" : `HTTP ${response.status}`);
    const field = body.error?.field ? ` (field ${body.error.field})` : "";
    return new ImportError(`${what}: the server refused (${response.status}): ${message}${field}`, response.status === 400 ? 2 : 1);
  }
}
