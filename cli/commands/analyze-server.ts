/**
 * `swamp analyze KIND --server URL --experiment ID …`: the same analyses as against a run
 * directory (cli/commands/analyze.ts), run by the server's fleet on stored experiments. It calls
 * createAnalysis with the flags as the kind's input (the server checks it and names the field),
 * follows the analysis until it succeeded or failed, and prints its result: --json gives the JSON
 * lines of the local command (interpolate: one line per pair), otherwise the same table.
 */
import { ANALYSIS_KINDS, type AnalysisKind, type AnalysisResult } from "../../schema/analyses.js";
import { formatAnalysis } from "../analysis-table.js";
import { parseCommandLine } from "../command-line.js";
import { ANALYSIS_FLAGS, ANALYSIS_FLAG_OPTIONS, AnalysisUsageError, analysisKindOf, analysisJsonLines, inputFromFlags, type AnalysisFlagName } from "../analysis-flags.js";

const USAGE = `usage: swamp analyze KIND --server URL --experiment ID [--experiment ID2...] [options] [--json]
  KIND           ${ANALYSIS_KINDS.join(" | ")}
  --server       the tracking server (e.g. http://127.0.0.1:4000)
  --experiment   a stored experiment to read (repeat for ensembles of runs, swamp-vs-imp, mask overlap across runs)
  --token        bearer token with write scope (default: SWAMP_TOKEN)
  --poll-ms      how often to ask for progress (default 500)
  the options of each kind are those of the run-directory form (swamp analyze --help):
  ${Object.keys(ANALYSIS_FLAGS).map((name) => `--${name}`).join(" ")}`;

interface AnalysisView {
  id: string;
  status: "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED";
  progress: number;
  result: unknown;
  error: string | null;
}

class ServerError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** True when the command line asks for the server form. */
export function wantsServer(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === "--server" || arg.startsWith("--server="));
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    "analyze",
    USAGE,
    argv,
    {
      ...ANALYSIS_FLAG_OPTIONS,
      server: { type: "string" },
      experiment: { type: "string", multiple: true },
      token: { type: "string" },
      "poll-ms": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    true,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const fail = (message: string) => {
    process.stderr.write(`swamp analyze: ${message}\n${USAGE}\n`);
    return 2;
  };
  const [named, ...extra] = positionals;
  const chosen = analysisKindOf(named);
  if ("problem" in chosen) return fail(chosen.problem);
  const { kind } = chosen;
  if (extra.length > 0) return fail(`with --server the models are named by --experiment ID, not run directories (${extra.join(" ")})`);
  const experiments = values.experiment ?? [];
  if (experiments.length === 0) return fail("--experiment ID is required with --server");
  const token = values.token ?? process.env.SWAMP_TOKEN ?? "";
  if (token.length === 0) return fail("a token with write scope is needed (--token or SWAMP_TOKEN)");
  const pollMs = values["poll-ms"] === undefined ? 500 : Number(values["poll-ms"]);
  if (!Number.isInteger(pollMs) || pollMs < 10 || pollMs > 60_000) return fail(`--poll-ms must be a whole number from 10 to 60000, got "${values["poll-ms"]}"`);

  let input: Record<string, unknown>;
  try {
    // The run-directory form's reading of the flags: the same input for the same command line.
    input = inputFromFlags(kind, values as Partial<Record<AnalysisFlagName, string>>, experiments.length);
  } catch (error) {
    if (error instanceof AnalysisUsageError) return fail(error.message.replace("two runs (RUN_A RUN_B)", "two experiments (--experiment A --experiment B)"));
    throw error;
  }

  const client = new GraphQLClient(values.server!.replace(/\/+$/, "").replace(/\/graphql$/, ""), token);
  try {
    const created = await client.request<{ createAnalysis: AnalysisView }>(
      `mutation($experimentId: ID!, $kind: String!, $input: JSONObject, $others: [ID!]) { createAnalysis(experimentId: $experimentId, kind: $kind, input: $input, otherExperimentIds: $others) { id status progress result error } }`,
      { experimentId: experiments[0], kind, input, others: experiments.slice(1) },
    );
    const analysis = await follow(client, created.createAnalysis, pollMs, kind);
    if (analysis.status === "FAILED") {
      process.stderr.write(`swamp analyze: analysis ${analysis.id} failed: ${analysis.error ?? "no reason given"}\n`);
      return 1;
    }
    process.stdout.write(values.json ? analysisJsonLines(kind, analysis.result as AnalysisResult<AnalysisKind>) : `${formatAnalysis(kind, analysis.result as AnalysisResult<AnalysisKind>)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ServerError) {
      process.stderr.write(`swamp analyze: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

async function follow(client: GraphQLClient, first: AnalysisView, pollMs: number, kind: string): Promise<AnalysisView> {
  const showProgress = process.stderr.isTTY;
  let analysis = first;
  while (analysis.status !== "SUCCEEDED" && analysis.status !== "FAILED") {
    if (showProgress) process.stderr.write(`\r${kind} (analysis ${analysis.id}): ${analysis.status.toLowerCase()} ${(analysis.progress * 100).toFixed(0)}%`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const next = await client.request<{ analysis: AnalysisView | null }>(`query($id: ID!) { analysis(id: $id) { id status progress result error } }`, { id: analysis.id });
    if (!next.analysis) throw new ServerError(`analysis ${analysis.id} is gone (its experiment was deleted?)`, 1);
    analysis = next.analysis;
  }
  if (showProgress) process.stderr.write("\n");
  return analysis;
}

class GraphQLClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ServerError(`cannot reach ${this.base}: ${(error as Error).message}`, 1);
    }
    const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string; problems?: Array<{ path: string; message: string }> } }> };
    const error = body.errors?.[0];
    if (error) {
      const code = error.extensions?.code;
      // Bad input (a field named by the server) is the caller's to fix, like a bad flag.
      const problems = error.extensions?.problems?.map((problem) => `${problem.path}: ${problem.message}`).join("; ");
      throw new ServerError(`the server refused (${code ?? response.status}): ${problems ?? error.message}`, code === "BAD_USER_INPUT" || code === "NOT_FOUND" || code === "CONFLICT" ? 2 : 1);
    }
    if (!body.data) throw new ServerError(`the server answered ${response.status} without data`, 1);
    return body.data;
  }
}
